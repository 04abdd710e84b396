// Package dexldap_test runs the DEX-LDAP checks (Dex's LDAP connector next to the local one, the
// connector-selection page, large group sets) as ginkgo specs against every profile, with the directory in the
// in-process LDAP server by default, or in slapd with KFP_AUTHCHECK_LDAP_SERVER=slapd (make test-slapd), or at
// any KFP_AUTHCHECK_LDAP_URL loaded with fixtures/ldap/directory.ldif.
package dexldap_test

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kfp-authcheck/kfp-authcheck/auth/dexlogin"
	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/refused"
	"github.com/kfp-authcheck/kfp-authcheck/internal/slapd"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)

func TestDexLDAP(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Dex LDAP login")
}

// With KFP_AUTHCHECK_LDAP_SERVER=slapd the suite starts slapd with the fixture LDIF and points every stack's
// Dex at it.
var _ = BeforeSuite(func(ctx SpecContext) {
	if os.Getenv("KFP_AUTHCHECK_LDAP_SERVER") != "slapd" {
		return
	}
	Expect(slapd.Installed()).To(BeTrue(), slapd.ErrNotInstalled.Error())
	s, err := slapd.Start(ctx, fixtures.DirectoryLDIF)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(s.Stop()).To(Succeed()) })
	GinkgoWriter.Printf("slapd at %s\n", s.URL)
	Expect(os.Setenv(embedded.LDAPURLEnv, s.URL)).To(Succeed())
	DeferCleanup(os.Unsetenv, embedded.LDAPURLEnv)
}, NodeTimeout(time.Minute))

var _ = framework.DescribeChecks("DEX-LDAP")

// A directory that is down must give a reason that says so, within the connector's timeout, never a hang or
// INVALID_CREDENTIALS.
var _ = Describe("an LDAP directory that is down", Label("DEX-LDAP", "profile:deploykf"), func() {
	loginLDAP := func(ctx context.Context, ldapURL string, timeout time.Duration) (time.Duration, error) {
		p, err := profile.Get("deploykf")
		Expect(err).NotTo(HaveOccurred())
		p.Dex.LDAP.Timeout.Duration = timeout
		stack, err := embedded.Start(ctx, p, embedded.Options{LDAPURL: ldapURL})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(stack.Close)
		env := checks.NewEnv(stack.Target())
		u, err := env.FirstUser("ldap")
		Expect(err).NotTo(HaveOccurred())
		start := time.Now()
		_, _, err = env.Login(ctx, u)
		return time.Since(start), err
	}
	expectUnreachable := func(err error) {
		var le *dexlogin.Error
		Expect(err).To(BeAssignableToTypeOf(le), "%v", err)
		le = err.(*dexlogin.Error)
		Expect(le.Reason).To(Equal(result.DirectoryUnreachable), le.Error())
		Expect(le.Status).To(Equal(500))
	}

	It("refusing connections gives DIRECTORY_UNREACHABLE at once", func(ctx SpecContext) {
		addr, release, err := refused.Addr()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(release)
		url := "ldap://" + addr
		took, err := loginLDAP(ctx, url, time.Second)
		expectUnreachable(err)
		Expect(took).To(BeNumerically("<", 5*time.Second))
	}, NodeTimeout(time.Minute))

	It("accepting but never answering gives DIRECTORY_UNREACHABLE within the timeout", func(ctx SpecContext) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		held := make(chan net.Conn, 64)
		DeferCleanup(func() {
			l.Close()
			for {
				select {
				case c := <-held:
					c.Close()
				default:
					return
				}
			}
		})
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				select {
				case held <- c: // held open and silent until the spec ends
				default:
					c.Close()
				}
			}
		}()
		took, err := loginLDAP(ctx, "ldap://"+l.Addr().String(), 500*time.Millisecond)
		expectUnreachable(err)
		Expect(took).To(BeNumerically("<", 5*time.Second))
	}, NodeTimeout(time.Minute))
})
