// Command kfp-authcheck runs the KFP auth conformance checks against an embedded stack or a live deployment and
// writes the compatibility matrix.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=..." (make build, make dist); without it, the module
// version go install records (buildVersion), else "dev". It must stay a constant initialiser for -X to apply.
var version = ""

func init() {
	if version == "" {
		version = buildVersion(debug.ReadBuildInfo)
	}
}

// buildVersion is the main module's version from the build info (go install ...@v1.2.3 gives "v1.2.3"), or
// "dev+<commit>" for a build from a checkout that records its VCS revision, or "dev".
func buildVersion(read func() (*debug.BuildInfo, bool)) string {
	info, ok := read()
	if !ok || info == nil {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += "-dirty"
	}
	return "dev+" + rev
}

// Exit codes (ARCHITECTURE.md contract).
const (
	exitOK          = 0
	exitUnexpected  = 1
	exitUsage       = 2
	exitUnreachable = 3
)

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first SIGINT or SIGTERM cancels ctx: a run stops its checks and removes its fixtures. Restoring
		// the default handling then lets a second one end the process at once.
		<-ctx.Done()
		stop()
	}()
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs the command line and returns the exit code; tests call it in-process.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.code != exitUnexpected {
			fmt.Fprintln(stderr, "kfp-authcheck:", ee.err)
		}
		return ee.code
	}
	// cobra's own errors (unknown flag, missing argument) are usage errors.
	fmt.Fprintln(stderr, "kfp-authcheck:", err)
	return exitUsage
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "kfp-authcheck",
		Short: "Conformance checks for Kubeflow Pipelines authentication setups",
		Long: `kfp-authcheck proves which ways of authenticating to the Kubeflow Pipelines API work on a setup, and
why the others fail, and writes the result as a compatibility matrix.

With no target it starts in-process stand-ins of Dex, oauth2-proxy and the KFP API for each server profile
(kubeflow-1.8 to kubeflow-1.11, deploykf, standalone; kubeflow is the newest release) and runs the checks
against them. With --target it runs them against a live deployment. profile import derives a profile from a
distribution's rendered manifests.

The programs the project's image runs in a cluster's pods (the KFP API stand-in, the gateway, the probe...) are
listed by kfp-authcheck component --help.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newRunCmd(stdout, stderr), newListCmd(stdout), newServeCmd(stdout, stderr), newReportCmd(stdout, stderr),
		newVersionCmd(stdout), newLoginCmd(stdout, stderr), newLogoutCmd(stdout), newStatusCmd(stdout), newFidelityCmd(stdout, stderr), newCleanupCmd(stdout, stderr), newAuditCmd(stdout, stderr))
	root.AddCommand(newProfileCmd(stdout, stderr))
	// What runs in a cluster's pods, hidden from this help: kfp-authcheck component --help.
	root.AddCommand(newComponentCmd(stdout, stderr))
	root.AddCommand(legacyComponentCmds(stdout, stderr)...)
	return root
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run:   func(*cobra.Command, []string) { fmt.Fprintln(stdout, "kfp-authcheck", version) },
	}
}
