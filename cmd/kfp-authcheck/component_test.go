package main

import (
	"bytes"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/kind"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
)

// componentNames are the names `kfp-authcheck component` runs, read from the commands themselves.
func componentNames() []string {
	var names []string
	for _, c := range componentCmds(io.Discard, io.Discard) {
		names = append(names, c.Name())
	}
	sort.Strings(names)
	return names
}

// helpCommands are the command names the "Available Commands:" section of a help text lists.
func helpCommands(t *testing.T, help string) []string {
	t.Helper()
	_, section, ok := strings.Cut(help, "Available Commands:\n")
	if !ok {
		t.Fatalf("no command list in the help:\n%s", help)
	}
	var names []string
	for _, line := range strings.Split(section, "\n") {
		if strings.TrimSpace(line) == "" {
			break
		}
		names = append(names, strings.Fields(line)[0])
	}
	return names
}

// TestRootHelpListsOnlyOperatorCommands: the root help lists the operator's commands, and neither the servers and
// probe that run in a cluster's pods nor the group that holds them.
func TestRootHelpListsOnlyOperatorCommands(t *testing.T) {
	if len(componentNames()) != 5 {
		t.Fatalf("components %v, want kfp-standin, gateway, poddefault-webhook, ldap-directory and probe", componentNames())
	}
	code, out, errOut := runCLI(t, "--help")
	if code != exitOK {
		t.Fatalf("--help: exit %d, %s", code, errOut)
	}
	listed := helpCommands(t, out)
	for _, name := range append(componentNames(), "component") {
		if slices.Contains(listed, name) {
			t.Errorf("the root help lists %q, which runs in a cluster's pods, not for the operator: %v", name, listed)
		}
	}
	for _, name := range []string{"run", "serve", "list", "report", "login", "cleanup", "fidelity", "version"} {
		if !slices.Contains(listed, name) {
			t.Errorf("the root help does not list the operator's %q: %v", name, listed)
		}
	}
	if !strings.Contains(out, "kfp-authcheck component --help") {
		t.Errorf("the root help does not say where the components are documented:\n%s", out)
	}
}

// TestComponentHelpListsTheComponents: `kfp-authcheck component --help` documents every component, and an
// unknown one is a usage error.
func TestComponentHelpListsTheComponents(t *testing.T) {
	code, out, errOut := runCLI(t, "component", "--help")
	if code != exitOK {
		t.Fatalf("component --help: exit %d, %s", code, errOut)
	}
	listed := helpCommands(t, out)
	for _, name := range componentNames() {
		if !slices.Contains(listed, name) {
			t.Errorf("component --help does not list %q: %v", name, listed)
		}
	}
	if code, _, errOut := runCLI(t, "component", "nope"); code != exitUsage || !strings.Contains(errOut, `"nope"`) {
		t.Errorf("component nope: exit %d, stderr %q; want 2 naming it", code, errOut)
	}
}

// TestComponentsRunByTheirNewAndOldSpelling: each component runs as `component <name>`, and still as `<name>` (the
// spelling of images and manifests written before the group, hidden): a bad flag is a usage error either way, and
// its help names the new spelling.
func TestComponentsRunByTheirNewAndOldSpelling(t *testing.T) {
	for _, name := range componentNames() {
		for _, args := range [][]string{{"component", name, "--bogus"}, {name, "--bogus"}} {
			code, stdout, stderr := runCLI(t, args...)
			if code != exitUsage || !strings.Contains(stderr, "unknown flag: --bogus") || stdout != "" {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 naming the flag", args, code, stdout, stderr)
			}
		}
		code, out, errOut := runCLI(t, "component", name, "--help")
		if code != exitOK || !strings.Contains(out, "kfp-authcheck component "+name+" [flags]") {
			t.Errorf("component %s --help: exit %d, %s%s", name, code, out, errOut)
		}
	}
}

// TestManifestsCallComponentsByTheirSpelling: every container of the kind and probe manifests that runs the
// project's image calls a component as `component <name>` with flags it has, and every component is called by one.
func TestManifestsCallComponentsByTheirSpelling(t *testing.T) {
	const harness = "kfp-authcheck.test/harness"
	placeholder := regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)
	root := newRootCmd(io.Discard, io.Discard)
	called := map[string]bool{}
	type manifest struct {
		fsys fs.FS
		name string
	}
	var all []manifest
	for _, fsys := range []fs.FS{fixtures.Manifests, kind.Manifests} {
		entries, err := fs.ReadDir(fsys, "manifests")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() { // fixtures' roles/: ClusterRoles, no pods
				continue
			}
			all = append(all, manifest{fsys, e.Name()})
		}
	}
	for _, e := range all {
		raw, err := fs.ReadFile(e.fsys, path.Join("manifests", e.name))
		if err != nil {
			t.Fatal(err)
		}
		raw = placeholder.ReplaceAllFunc(raw, func(m []byte) []byte {
			if string(m) == "${IMAGE}" {
				return []byte(harness)
			}
			return []byte("x")
		})
		for i, doc := range bytes.Split(raw, []byte("\n---")) {
			var obj struct {
				Spec struct {
					Template struct {
						Spec struct {
							Containers, InitContainers []struct {
								Name, Image string
								Args        []string
							}
						}
					}
				}
			}
			if err := yaml.Unmarshal(doc, &obj); err != nil {
				t.Fatalf("%s document %d: %v", e.name, i, err)
			}
			for _, c := range append(obj.Spec.Template.Spec.Containers, obj.Spec.Template.Spec.InitContainers...) {
				if c.Image != harness {
					continue
				}
				where := e.name + " container " + c.Name
				cmd, rest, err := root.Find(c.Args)
				if err != nil || cmd.Parent() == nil || cmd.Parent().Name() != "component" || len(c.Args) < 2 || c.Args[0] != "component" {
					t.Errorf("%s: args %v do not call a component as `component <name>` (found %q, %v)", where, c.Args, cmd.CommandPath(), err)
					continue
				}
				if err := cmd.ParseFlags(rest); err != nil {
					t.Errorf("%s: args %v: %v", where, c.Args, err)
				}
				called[cmd.Name()] = true
			}
		}
	}
	for _, name := range componentNames() {
		if !called[name] {
			t.Errorf("no manifest runs component %q", name)
		}
	}
}

// TestOperatorCommandsHaveExamplesThatParse: the operator's main commands show examples, and every example line of
// every command names a command that exists with flags it has.
func TestOperatorCommandsHaveExamplesThatParse(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard)
	for _, path := range [][]string{{"run"}, {"serve"}, {"list"}, {"report", "merge"}, {"cleanup"}, {"login"}} {
		cmd, _, err := root.Find(path)
		if err != nil || cmd.Example == "" {
			t.Errorf("kfp-authcheck %s has no Example (%v)", strings.Join(path, " "), err)
		}
	}
	for _, cmd := range allCommands(root) {
		for _, line := range strings.Split(cmd.Example, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			i := strings.Index(line, "kfp-authcheck ")
			if i < 0 {
				t.Errorf("%s: example %q does not run kfp-authcheck", cmd.CommandPath(), line)
				continue
			}
			line, _, _ = strings.Cut(line[i:], " > ") // a shell redirection
			line = strings.TrimSuffix(line, ")")      // a shell command substitution
			args := strings.Fields(line)[1:]
			found, rest, err := root.Find(args)
			if err == nil {
				err = found.ParseFlags(rest)
			}
			if err != nil || found == root {
				t.Errorf("%s: example %q: %v", cmd.CommandPath(), line, err)
			}
		}
	}
}

// TestEveryFlagIsDocumented: every flag of every command, the components' included, has a description.
func TestEveryFlagIsDocumented(t *testing.T) {
	for _, cmd := range allCommands(newRootCmd(io.Discard, io.Discard)) {
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s --%s has no description", cmd.CommandPath(), f.Name)
			}
		})
	}
}

// allCommands are cmd and its descendants, hidden ones included.
func allCommands(cmd *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{cmd}
	for _, c := range cmd.Commands() {
		out = append(out, allCommands(c)...)
	}
	return out
}
