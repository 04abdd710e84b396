package compat_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/auth/oob"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// pythonWithOAuthlib finds an interpreter with requests-oauthlib: KFP_AUTHCHECK_PYTHON, python3, then Debian's
// /usr/bin/python3 (python3-requests-oauthlib). Absent: skip, or fail where KFP_AUTHCHECK_REQUIRE_PYTHON is set.
func pythonWithOAuthlib() string {
	var tried []string
	for _, py := range []string{os.Getenv("KFP_AUTHCHECK_PYTHON"), "python3", "/usr/bin/python3"} {
		if py == "" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := exec.CommandContext(ctx, py, "-c", "import requests_oauthlib").Run()
		cancel()
		if err == nil {
			return py
		}
		tried = append(tried, py)
	}
	msg := "no python3 with requests_oauthlib (tried " + strings.Join(tried, ", ") + ")"
	if os.Getenv("KFP_AUTHCHECK_REQUIRE_PYTHON") != "" {
		Fail(msg + ", and KFP_AUTHCHECK_REQUIRE_PYTHON is set")
	}
	Skip(msg)
	return ""
}

// runOOBScript runs dkf_oob.py with HOME=home. When it prints an authorization URL, the scripted browser logs in
// there and the code from Dex's page is typed into the script's stdin, as a person pastes it.
func runOOBScript(ctx context.Context, py, home string, s *embedded.Stack) string {
	u := s.Users[0]
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/dkf_oob.py", "--issuer", s.IssuerURL, "--pipeline-url", s.PipelineURL,
		"--namespace", u.Namespace, "--ca-file", s.CAFile)
	cmd.Env = append(os.Environ(), "HOME="+home)
	stdin, err := cmd.StdinPipe()
	Expect(err).NotTo(HaveOccurred())
	stdout, err := cmd.StdoutPipe()
	Expect(err).NotTo(HaveOccurred())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	Expect(cmd.Start()).To(Succeed())
	var last string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "http") && strings.Contains(line, "/auth?") {
			tgt := s.Target()
			b, err := browser.New(browser.Options{TLSConfig: tgt.TLS, Timeout: 10 * time.Second})
			Expect(err).NotTo(HaveOccurred())
			code, err := (&oob.Browser{Browser: b, Username: u.Email, Password: u.Password}).Authorize(ctx, line)
			Expect(err).NotTo(HaveOccurred())
			_, err = io.WriteString(stdin, code+"\n")
			Expect(err).NotTo(HaveOccurred())
			continue
		}
		last = strings.TrimPrefix(line, "Enter the authorization code: ")
	}
	stdin.Close()
	Expect(cmd.Wait()).To(Succeed(), "stdout %q, stderr %q", last, stderr.String())
	GinkgoWriter.Printf("dkf_oob.py: %s; stderr: %s\n", last, stderr.String())
	return last
}

var _ = Describe("deployKF's Python OOB client (requests-oauthlib)", Label("compat", "OOB"), Ordered, func() {
	var (
		stack *embedded.Stack
		py    string
		home  string
	)
	BeforeAll(func(ctx SpecContext) {
		py = pythonWithOAuthlib()
		p, err := profile.Get("deploykf")
		Expect(err).NotTo(HaveOccurred())
		stack, err = embedded.Start(ctx, p, embedded.Options{})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(stack.Close)
		home = GinkgoT().TempDir()
	})
	It("logs in with the code pasted from Dex's OOB page, and its ID token lists experiments", func(ctx SpecContext) {
		Expect(runOOBScript(ctx, py, home, stack)).To(HavePrefix("OK login "))
	})
	It("reuses the cached token without a login", func(ctx SpecContext) {
		Expect(runOOBScript(ctx, py, home, stack)).To(HavePrefix("OK cached "))
	})
	It("refreshes a token with under 300 s left (requests-oauthlib's refresh grant against the Dex mock)", func(ctx SpecContext) {
		path := filepath.Join(home, ".config", "kfp", "dkf_credentials.json")
		b, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		var all map[string]map[string]any
		Expect(json.Unmarshal(b, &all)).To(Succeed())
		Expect(all).To(HaveKey(stack.IssuerURL))
		all[stack.IssuerURL]["expires_at"] = time.Now().Add(100 * time.Second).Unix()
		b, _ = json.Marshal(all)
		Expect(os.WriteFile(path, b, 0o600)).To(Succeed())
		Expect(runOOBScript(ctx, py, home, stack)).To(HavePrefix("OK refresh "))
	})
})
