package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() {
	register(&Check{
		ID: "SETUP-003", Family: "SETUP", Severity: Should, Needs: []target.Capability{target.CapHTTPS},
		Title:      "TLS: the gateway's chain verifies; a self-signed or private one works only with skip-verify (warn)",
		References: []string{"CHECKS.md additions", "pipelines PR#7174", "KFPClientManager verify_ssl"},
		Run:        checkGatewayTLS,
	})
}

// expirySoon is how close to its end a certificate gets a warn.
const expirySoon = 14 * 24 * time.Hour

// checkGatewayTLS is SETUP-003: a TLS handshake with the gateway that verifies the chain and the host name against
// the roots the target gives (tls.ca_file, else the system's), whatever tls.skip_verify says. A chain that verifies
// passes (a warn when it ends within 14 days). One that does not verify because its authority is unknown (a
// self-signed certificate, or a private CA the clients are not given) is a warn when the target file sets
// skip_verify, which is how the run got this far and what every client would have to do (the SDK's verify_ssl,
// kfp<2's patched client), and a fail otherwise; any other verification failure (host name, expiry) is a fail.
func checkGatewayTLS(ctx context.Context, env *Env) result.Result {
	t := env.Target
	u, err := url.Parse(t.GatewayURL)
	if err != nil || u.Scheme != "https" {
		return errorf(result.ConfigError, "the gateway URL %q is not https", t.GatewayURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	skip, roots := false, "the system's roots"
	if t.TLS != nil {
		conf = t.TLS.Clone()
		skip = conf.InsecureSkipVerify
		if conf.RootCAs != nil {
			roots = "the target's CA file"
		}
	}
	conf.InsecureSkipVerify, conf.ServerName = false, u.Hostname()
	timeout := t.RequestTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: conf}).DialContext(dctx, "tcp", addr)
	if err == nil {
		state := conn.(*tls.Conn).ConnectionState()
		conn.Close()
		leaf := state.PeerCertificates[0]
		actual := fmt.Sprintf("%s, %s, issued by %q, valid until %s", tls.VersionName(state.Version), describeCert(leaf),
			leaf.Issuer.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339))
		if left := time.Until(leaf.NotAfter); left < expirySoon {
			return expecting(warn(result.TLSError, "the chain verifies against %s, but the certificate ends in %s", roots, left.Round(time.Hour)),
				"a chain that verifies", actual)
		}
		return expecting(pass("the chain verifies against %s: %s", roots, actual), "a chain that verifies", actual)
	}
	reason := browser.Classify(err)
	var unknown x509.UnknownAuthorityError
	untrusted := errors.As(err, &unknown)
	var wrongName x509.HostnameError
	switch {
	case errors.As(err, &wrongName) && wrongName.Certificate != nil:
		return expecting(fail(result.TLSError, "the gateway is reached as %s, and its certificate (%s) is not for that name: %v",
			wrongName.Host, describeCert(wrongName.Certificate), err), "a certificate for "+wrongName.Host, describeCert(wrongName.Certificate))
	case reason == result.Unreachable || reason == result.Timeout || reason == result.Interrupted:
		return errorf(reason, "TLS handshake with %s: %v", addr, err)
	case untrusted && skip:
		return expecting(warn(result.TLSSelfSigned, "the certificate does not verify against %s (%v); the run works only because the target sets tls.skip_verify, which every client would have to do too (the SDK's verify_ssl=False; kfp<2 needs a patched client)", roots, err),
			"a chain that verifies", "unknown authority, skip_verify set")
	case untrusted:
		return expecting(fail(result.TLSSelfSigned, "the certificate does not verify against %s (%v): give the clients the CA (tls.ca_file here, ssl_ca_cert in the SDK)", roots, err),
			"a chain that verifies", "unknown authority")
	}
	return expecting(fail(result.TLSError, "TLS verification with %s fails: %v", addr, err), "a chain that verifies", err.Error())
}

// describeCert names a certificate by its subject and DNS/IP names.
func describeCert(c *x509.Certificate) string {
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return fmt.Sprintf("subject %q, names %v", c.Subject.CommonName, names)
}
