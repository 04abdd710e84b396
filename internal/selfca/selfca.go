// Package selfca makes a throwaway certificate authority and a loopback serving certificate, so the embedded
// stack can serve https the way deployKF does (its __Secure- cookie needs TLS) without any files from outside.
package selfca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Bundle is a CA and a serving certificate it signed.
type Bundle struct {
	CAPEM  []byte
	Pool   *x509.CertPool
	Server tls.Certificate
	// CertPEM and KeyPEM are the serving certificate and its key as PEM, for a server in another process.
	CertPEM, KeyPEM []byte
}

// Validity is how long the CA and its certificate are valid: past SETUP-003's 14-day expiry warning, since a
// kept kind cluster or a long serve outlives a day; the CA's key is never written anywhere.
const Validity = 90 * 24 * time.Hour

// New creates a CA valid for Validity and a certificate for 127.0.0.1, ::1 and localhost.
func New() (*Bundle, error) { return NewFor() }

// NewFor is New with more DNS names in the serving certificate (a Service's in-cluster names).
func NewFor(dnsNames ...string) (*Bundle, error) {
	return newBundle([]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}, append([]string{"localhost"}, dnsNames...))
}

// NewElsewhere is a CA and a serving certificate for dnsNames only, not the loopback addresses: served on
// 127.0.0.1 its chain verifies and its host name does not (a misconfiguration case of SETUP-003).
func NewElsewhere(dnsNames ...string) (*Bundle, error) { return newBundle(nil, dnsNames) }

func newBundle(ips []net.IP, dnsNames []string) (*Bundle, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "kfp-authcheck embedded CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("ca certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: commonName(ips, dnsNames)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(Validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  ips,
		DNSNames:     dnsNames,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &Bundle{
		CAPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Pool:    pool,
		Server:  tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: nil},
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// commonName is the certificate's first address or name (127.0.0.1 for New's).
func commonName(ips []net.IP, dnsNames []string) string {
	if len(ips) > 0 {
		return ips[0].String()
	}
	if len(dnsNames) > 0 {
		return dnsNames[0]
	}
	return ""
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
