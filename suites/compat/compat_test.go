package compat_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// python finds an interpreter with requests: KFP_AUTHCHECK_PYTHON, else python3. Where none has it the specs
// skip, unless KFP_AUTHCHECK_REQUIRE_PYTHON is set (CI), where that is a failure.
func python() string {
	py := os.Getenv("KFP_AUTHCHECK_PYTHON")
	if py == "" {
		py = "python3"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, py, "-c", "import requests").Run(); err != nil {
		if os.Getenv("KFP_AUTHCHECK_REQUIRE_PYTHON") != "" {
			Fail("no python3 with requests (" + py + "), and KFP_AUTHCHECK_REQUIRE_PYTHON is set")
		}
		Skip("no python3 with requests: " + err.Error())
	}
	return py
}

// runScript logs in with a script against the description of a running stack, as a user of `serve` would.
func runScript(ctx context.Context, script string, s *embedded.Stack) (string, error) {
	return runScriptAs(ctx, script, s, s.Users[0])
}

// runScriptAs logs u in with the script; an LDAP user logs in by username with --dex-auth-type ldap.
func runScriptAs(ctx context.Context, script string, s *embedded.Stack, u profile.User) (string, error) {
	login, authType := u.Email, "local"
	if u.Connector == "ldap" {
		login, authType = u.Username, "ldap"
	}
	args := []string{script, "--pipeline-url", s.PipelineURL, "--username", login, "--password", u.Password,
		"--namespace", u.Namespace, "--dex-auth-type", authType}
	if s.CAFile != "" {
		args = append(args, "--ca-file", s.CAFile)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, python(), args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

var _ = Describe("a copied Kubeflow login script", Label("compat", "DEX-LOCAL"), func() {
	for _, tc := range []struct {
		profile   string
		oldWorks  bool
		rationale string
	}{
		{"kubeflow", false, "Kubeflow 1.9+ answers with oauth2-proxy's 403 sign-in page, which the old script does not know"},
		{"kubeflow-1.8", true, "oidc-authservice redirects straight to Dex"},
		{"deploykf", true, "deployKF's oauth2-proxy redirects straight to Dex"},
	} {
		tc := tc
		Context("on profile "+tc.profile, Ordered, func() {
			var stack *embedded.Stack
			BeforeAll(func(ctx SpecContext) {
				p, err := profile.Get(tc.profile)
				Expect(err).NotTo(HaveOccurred())
				stack, err = embedded.Start(ctx, p, embedded.Options{})
				Expect(err).NotTo(HaveOccurred())
				DeferCleanup(stack.Close)
			})
			It("logs in, and the cookies list the user's experiments", func(ctx SpecContext) {
				out, err := runScript(ctx, "testdata/dex_login.py", stack)
				Expect(err).NotTo(HaveOccurred(), out)
				Expect(out).To(HavePrefix("OK "))
			})
			It("the pre-1.9 copy of the script: "+tc.rationale, func(ctx SpecContext) {
				out, err := runScript(ctx, "testdata/dex_login_old.py", stack)
				if tc.oldWorks {
					Expect(err).NotTo(HaveOccurred(), out)
					Expect(out).To(HavePrefix("OK "))
				} else {
					Expect(err).To(HaveOccurred(), "the old script should fail here: %s", out)
					Expect(out).To(ContainSubstring("HTTP status code '403'"))
				}
			})
			It("a wrong password is reported by the script as invalid credentials", func(ctx SpecContext) {
				saved := stack.Users[0].Password
				stack.Users[0].Password = saved + "-wrong"
				defer func() { stack.Users[0].Password = saved }()
				out, err := runScript(ctx, "testdata/dex_login.py", stack)
				Expect(err).To(HaveOccurred())
				// Dex v2.41 answers a wrong password with 401 and no redirect; requests does not raise on 401, so the
				// script reaches its "no redirect" branch.
				Expect(out).To(ContainSubstring("Login credentials are probably invalid"))
			})
		})
	}
})

// On deployKF with local and ldap both on, KFPClientManager's dex_auth_type picks the connector: "ldap" logs an
// LDAP user in and "local" a static user, on the same stack, and both cookies list the user's experiments.
var _ = Describe("KFPClientManager's dex_auth_type on deployKF", Label("compat", "DEX-LDAP"), Ordered, func() {
	var stack *embedded.Stack
	BeforeAll(func(ctx SpecContext) {
		p, err := profile.Get("deploykf")
		Expect(err).NotTo(HaveOccurred())
		stack, err = embedded.Start(ctx, p, embedded.Options{})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(stack.Close)
	})
	for _, connector := range []string{"ldap", "local"} {
		connector := connector
		It("dex_auth_type "+connector+" logs a "+connector+" user in and lists experiments", func(ctx SpecContext) {
			var user *profile.User
			for i := range stack.Users {
				if stack.Users[i].Connector == connector {
					user = &stack.Users[i]
					break
				}
			}
			Expect(user).NotTo(BeNil(), "deploykf has no %s user", connector)
			out, err := runScriptAs(ctx, "testdata/dex_login.py", stack, *user)
			Expect(err).NotTo(HaveOccurred(), out)
			Expect(out).To(HavePrefix("OK "))
		})
	}
})

// The KFPClientManager from Kubeflow 1.8's docs knows no approval screen. Kubeflow 1.8.1's Dex skips it
// (skipApprovalScreen: true) and oidc-authservice never forces it, so on the kubeflow-1.8 stack, as on a real
// 1.8.1, that script logs in; on a Dex that shows the screen it cannot.
var _ = Describe("the 1.8 docs' KFPClientManager, which knows no approval screen", Label("compat", "DEX-LOCAL"), func() {
	for _, tc := range []struct {
		name     string
		approval bool
	}{
		{"logs in on kubeflow-1.8 as released (no approval screen)", false},
		{"cannot log in where Dex shows the approval screen (skipApprovalScreen: false)", true},
	} {
		It(tc.name, func(ctx SpecContext) {
			p, err := profile.Get("kubeflow-1.8")
			Expect(err).NotTo(HaveOccurred())
			Expect(p.Dex.SkipApprovalScreen).To(BeTrue(), "kubeflow-1.8.1's Dex skips the approval screen")
			p.Dex.SkipApprovalScreen = !tc.approval
			stack, err := embedded.Start(ctx, p, embedded.Options{})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(stack.Close)
			out, err := runScript(ctx, "testdata/dex_login_noapproval.py", stack)
			if tc.approval {
				Expect(err).To(HaveOccurred(), "the script should not get a session past the approval screen: %s", out)
			} else {
				Expect(err).NotTo(HaveOccurred(), out)
				Expect(out).To(HavePrefix("OK "))
			}
		})
	}
})
