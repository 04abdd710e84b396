package checks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/internal/refused"
	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// TestSETUP003Verdicts: the gateway's chain against the target's roots, whatever skip_verify says: trusted passes;
// an unknown authority is a warn with skip_verify and a fail without; a host name the certificate does not carry
// fails with TLS_ERROR whatever the roots; nothing listening is an error, not a verdict.
func TestSETUP003Verdicts(t *testing.T) {
	ca, err := selfca.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Server}}
	srv.StartTLS()
	defer srv.Close()
	// A server whose certificate, trusted, names another host only.
	other, otherPool := certFor(t, "other.test", 30*24*time.Hour)
	wrong := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	wrong.TLS = &tls.Config{Certificates: []tls.Certificate{other}}
	wrong.StartTLS()
	defer wrong.Close()
	// A trusted certificate for 127.0.0.1 that ends in two days.
	ending, endingPool := certFor(t, "127.0.0.1", 48*time.Hour)
	soon := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	soon.TLS = &tls.Config{Certificates: []tls.Certificate{ending}}
	soon.StartTLS()
	defer soon.Close()
	closedAddr, release, err := refused.Addr()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	closedURL := "https://" + closedAddr

	for _, c := range []struct {
		name, gateway string
		tls           *tls.Config
		status        result.Status
		reason        result.Reason
	}{
		{"trusted CA", srv.URL, &tls.Config{RootCAs: ca.Pool}, result.Pass, result.ReasonNone},
		{"unknown authority with skip_verify", srv.URL, &tls.Config{InsecureSkipVerify: true}, result.Warn, result.TLSSelfSigned},
		{"unknown authority without", srv.URL, &tls.Config{}, result.Fail, result.TLSSelfSigned},
		{"a name the certificate lacks", wrong.URL, &tls.Config{RootCAs: otherPool}, result.Fail, result.TLSError},
		{"a certificate that ends within 14 days", soon.URL, &tls.Config{RootCAs: endingPool}, result.Warn, result.TLSError},
		{"nothing listening", closedURL, &tls.Config{RootCAs: ca.Pool}, result.Error, result.Unreachable},
	} {
		t.Run(c.name, func(t *testing.T) {
			tg := &target.Target{Name: "tls", GatewayURL: c.gateway, TLS: c.tls, Redactor: redact.New(), RequestTimeout: 5 * time.Second,
				Capabilities: target.CapabilitySet{target.CapHTTPS: true}}
			r := runCheck(t, NewEnv(tg), "SETUP-003")
			if r.Status != c.status || r.Reason != c.reason {
				t.Errorf("%s %s (%s), want %s %s", r.Status, r.Reason, r.Message, c.status, c.reason)
			}
		})
	}
}

// certFor is a self-signed serving certificate for name only, valid for validity, and a pool that trusts it.
func certFor(t *testing.T, name string, validity time.Duration) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}, IPAddresses: ipsOf(name),
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(validity), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func ipsOf(name string) []net.IP {
	if ip := net.ParseIP(name); ip != nil {
		return []net.IP{ip}
	}
	return nil
}
