package browser

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"syscall"

	"github.com/kfp-authcheck/kfp-authcheck/internal/limits"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

var (
	// ErrRedirectLoop means one redirect chain asked for the same method and URL twice.
	ErrRedirectLoop = errors.New("redirect loop")
	// ErrTooManyRedirects means a redirect chain was longer than Options.MaxRedirects.
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrBodyTooLarge means a response body was longer than Options.MaxBody.
	ErrBodyTooLarge = errors.New("response body too large")
	// ErrNotHTML means HTML was needed (forms, links) but the page is something else.
	ErrNotHTML = errors.New("response is not HTML")
)

// Classify maps an error from Get, Do or Submit to the reason code a check reports:
//   - REDIRECT_LOOP for a loop or too many redirects (browsers say "too many redirects" for both);
//   - RESPONSE_TOO_LARGE, NOT_HTML for the package's own limits;
//   - TIMEOUT for an expired deadline or a network timeout, INTERRUPTED when the caller cancelled;
//   - TLS_SELF_SIGNED when the server's certificate signed itself and is not trusted, TLS_ERROR for any
//     other certificate or handshake failure;
//   - UNREACHABLE when no connection could be made (refused, DNS, no route);
//   - UNEXPECTED_RESPONSE otherwise. A nil error gives ReasonNone.
func Classify(err error) result.Reason {
	switch {
	case err == nil:
		return result.ReasonNone
	case errors.Is(err, ErrRedirectLoop), errors.Is(err, ErrTooManyRedirects):
		return result.RedirectLoop
	case errors.Is(err, ErrBodyTooLarge), errors.Is(err, limits.ErrBodyTooLarge),
		// go-oidc and x/oauth2 flatten the read error into their own text (%v).
		strings.Contains(err.Error(), limits.ErrBodyTooLarge.Error()):
		return result.ResponseTooLarge
	case errors.Is(err, ErrNotHTML):
		return result.NotHTML
	case errors.Is(err, context.DeadlineExceeded), isNetTimeout(err):
		return result.Timeout
	case errors.Is(err, context.Canceled):
		return result.Interrupted
	case isSelfSigned(err):
		return result.TLSSelfSigned
	case isTLSFailure(err):
		return result.TLSError
	case isUnreachable(err):
		return result.Unreachable
	}
	return result.UnexpectedResponse
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isSelfSigned reports an untrusted certificate that is its own issuer, the usual state of a fresh cluster.
func isSelfSigned(err error) bool {
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) || unknown.Cert == nil {
		return false
	}
	cert := unknown.Cert
	return cert.CheckSignatureFrom(cert) == nil
}

func isTLSFailure(err error) bool {
	var (
		unknown    x509.UnknownAuthorityError
		invalid    x509.CertificateInvalidError
		hostname   x509.HostnameError
		verify     *tls.CertificateVerificationError
		recordHdr  tls.RecordHeaderError
		alert      tls.AlertError
		constraint x509.ConstraintViolationError
	)
	// net/http reports a plain-HTTP answer to a TLS hello as an unwrapped string error.
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return true
	}
	return errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &hostname) ||
		errors.As(err, &verify) || errors.As(err, &recordHdr) || errors.As(err, &alert) || errors.As(err, &constraint)
}

func isUnreachable(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	// A reset or aborted connection is a server (or something in front of it) that answered nothing: the same
	// class as a refused one.
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}
