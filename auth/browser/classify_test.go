package browser

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	refusedport "github.com/kfp-authcheck/kfp-authcheck/internal/refused"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

func TestClassifyLive(t *testing.T) {
	// A port held without a listener refuses connections.
	addr, release, err := refusedport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	refused := "http://" + addr + "/"

	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshakes are expected
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plainSrv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer plainSrv.Close()
	trusted := x509.NewCertPool()
	trusted.AddCert(tlsSrv.Certificate())

	tests := []struct {
		name string
		opts Options
		url  string
		want result.Reason
	}{
		{"connection refused", Options{}, refused, result.Unreachable},
		{"self-signed certificate", Options{}, tlsSrv.URL, result.TLSSelfSigned},
		{"hostname mismatch", Options{TLSConfig: &tls.Config{RootCAs: trusted, ServerName: "wrong.test"}}, tlsSrv.URL, result.TLSError},
		{"TLS to a plain HTTP port", Options{}, "https://" + plainSrv.Listener.Addr().String(), result.TLSError},
		{"trusted certificate", Options{TLSConfig: &tls.Config{RootCAs: trusted}}, tlsSrv.URL, result.ReasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, tt.opts)
			_, err := b.Get(context.Background(), tt.url)
			if got := Classify(err); got != tt.want {
				t.Errorf("Classify(%v) = %q, want %q", err, got, tt.want)
			}
			if len(b.History()) != 1 {
				t.Errorf("history = %+v, want the failed exchange recorded", b.History())
			}
		})
	}
}

func TestClassifyErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		err  error
		want result.Reason
	}{
		{nil, result.ReasonNone},
		{fmt.Errorf("x: %w", ErrRedirectLoop), result.RedirectLoop},
		{fmt.Errorf("x: %w", ErrBodyTooLarge), result.ResponseTooLarge},
		{fmt.Errorf("x: %w", ErrNotHTML), result.NotHTML},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), result.Timeout},
		{ctx.Err(), result.Interrupted},
		{&net.DNSError{Err: "no such host", Name: "kubeflow.invalid", IsNotFound: true}, result.Unreachable},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no route to host")}, result.Unreachable},
		{errors.New("unexpected EOF"), result.UnexpectedResponse},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
