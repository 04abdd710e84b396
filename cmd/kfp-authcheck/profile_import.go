package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/kfp-authcheck/kfp-authcheck/profile/importer"
)

func newProfileCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Server profiles: import one from a distribution's rendered manifests",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newProfileImportCmd(stdout, stderr))
	return cmd
}

func newProfileImportCmd(stdout, stderr io.Writer) *cobra.Command {
	var manifests, name, out, format string
	cmd := &cobra.Command{
		Use:   "import --manifests FILE|DIR|-",
		Short: "Derive a server profile from rendered manifests (kustomize build, helm template)",
		Long: `import reads rendered manifests (multi-document YAML: a file, every .yaml/.yml/.json of a directory, or - for
stdin) and derives a server profile: Dex's config (issuer, approval screen, connectors, clients, expiry, password
DB), the gateway (oauth2-proxy's config file, flags, environment and image tag; oidc-authservice's environment), the
mesh (RequestAuthentication rules, the ext-authz policy, ml-pipeline-ui's AuthorizationPolicy), KFP's API server
(version, error format, multi-user, user ID header and prefix), PodDefaults and Kubeflow Profiles.

Every derived field names its source (kind, namespace/name, key): --format provenance lists them, with the fields
the manifests do not decide and the rewrites a run applies (static users log in with the harness's test
password: the manifests hold only bcrypt hashes). With -o the profile is written there (mode 0600, secrets
included) for --profile FILE; on stdout its secrets are redacted.

Not YAML, or a kustomization.yaml instead of rendered output, exits 2. Manifests without Dex are imported with a
warning (the identity provider is not supported yet) and exit 0.`,
		Example: `  kustomize build example | kfp-authcheck profile import --manifests - -o my-release.yaml
  kfp-authcheck profile import --manifests rendered/ --format provenance
  kfp-authcheck run --profile my-release.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if manifests == "" {
				return usageErr("profile import: --manifests FILE|DIR|- is required")
			}
			b, src, err := importer.ReadInput(manifests, cmd.InOrStdin())
			if err != nil {
				return importErr(err)
			}
			res, err := importer.Import(b, importer.Options{Name: name, Description: "imported from " + src})
			if err != nil {
				return importErr(err)
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(stderr, "warning:", w)
			}
			fmt.Fprintf(stderr, "profile import: %d object(s) from %s in %s; %d field(s) derived, %d not derived, %d warning(s)\n",
				res.Objects, src, res.Elapsed.Round(10000), len(res.Fields), len(res.Underived), len(res.Warnings))
			if out != "" {
				y, err := yaml.Marshal(res.Profile)
				if err != nil {
					return err
				}
				if err := os.WriteFile(out, append([]byte(header(res)), y...), 0o600); err != nil {
					return usageErr("profile import: -o: %v", err)
				}
				fmt.Fprintf(stderr, "profile import: wrote %s (use it with --profile %s)\n", out, out)
			}
			redacted := importer.Redacted(res.Profile)
			switch format {
			case "yaml":
				if out != "" {
					return nil
				}
				y, err := yaml.Marshal(redacted)
				if err != nil {
					return err
				}
				fmt.Fprint(stdout, header(res))
				_, err = stdout.Write(y)
				return err
			case "json":
				r := *res
				r.Profile = redacted
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(&r)
			case "provenance":
				fmt.Fprintf(stdout, "# %s\n\nDerived:\n", res.Profile.Description)
				for _, f := range res.Fields {
					fmt.Fprintf(stdout, "  %-44s %-28s <- %s\n", f.Path, clip(f.Value, 28), f.Source)
				}
				fmt.Fprintln(stdout, "Not derived:")
				for _, u := range res.Underived {
					fmt.Fprintf(stdout, "  %-44s %s\n", u.Path, u.Reason)
				}
				fmt.Fprintln(stdout, "Rewrites when it runs:")
				for _, r := range res.Rewrites {
					fmt.Fprintln(stdout, "  "+r)
				}
				fmt.Fprintln(stdout, "ClusterRoles as shipped:", strings.Join(res.ClusterRoles, ", "))
				fmt.Fprintln(stdout, "NetworkPolicies in front of Dex, the gateway and ml-pipeline:")
				for _, n := range res.NetworkPolicies {
					fmt.Fprintln(stdout, "  "+n)
				}
				return nil
			default:
				return usageErr("profile import: --format must be yaml, json or provenance, not %q", format)
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&manifests, "manifests", "", "rendered manifests: a file, a directory of .yaml files, or - for stdin")
	f.StringVar(&name, "name", "imported", "the imported profile's name")
	f.StringVarP(&out, "output", "o", "", "write the profile (secrets included, mode 0600) to this file")
	f.StringVar(&format, "format", "yaml", "what stdout shows: yaml (the profile, secrets redacted), json (the import with provenance) or provenance (a table)")
	return cmd
}

func importErr(err error) error {
	var ie *importer.Error
	if errors.As(err, &ie) {
		return usageErr("profile import: %v", err)
	}
	return err
}

func header(res *importer.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s by kfp-authcheck profile import (%d fields derived; `profile import --format provenance` names each source).\n", res.Profile.Description, len(res.Fields))
	for _, u := range res.Underived {
		fmt.Fprintf(&b, "# not derived: %s: %s\n", u.Path, u.Reason)
	}
	for _, r := range res.Rewrites {
		fmt.Fprintf(&b, "# rewrite: %s\n", r)
	}
	return b.String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// profileFileAlias makes --profile-file FILE another spelling of --profile (run, serve, fidelity): a profile file,
// such as one profile import wrote, is accepted by both.
func profileFileAlias(cmd *cobra.Command) {
	cmd.Flags().SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "profile-file" {
			return "profile"
		}
		return pflag.NormalizedName(name)
	})
}
