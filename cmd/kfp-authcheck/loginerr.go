package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/auth/oob"
	"github.com/kfp-authcheck/kfp-authcheck/auth/tokencache"
)

// loginError says why a login failed and what to try, and picks the exit code: 3 when the issuer cannot be
// reached at all (as run does for a target), 1 for every other failure.
func loginError(issuer string, err error) error {
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr x509.CertificateInvalidError
	var verifyErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var oobErr *oob.Error
	switch {
	case errors.As(err, &unknownCA) || errors.As(err, &verifyErr) && errors.As(verifyErr.Err, &unknownCA):
		return &exitError{code: exitUnexpected, err: fmt.Errorf("the issuer %s presents a certificate from an authority this machine does not trust: %w\n"+
			"  hint: give the authority's certificate with --ca-file FILE (or tls.ca_file in the target file); --insecure-skip-verify skips the check (testing only)", issuer, err)}
	case errors.As(err, &hostErr):
		return &exitError{code: exitUnexpected, err: fmt.Errorf("the issuer's certificate is not for the host in %s: %w\n"+
			"  hint: use the host name the certificate names in --issuer, or --insecure-skip-verify (testing only)", issuer, err)}
	case errors.As(err, &certErr) || errors.As(err, &verifyErr):
		return &exitError{code: exitUnexpected, err: fmt.Errorf("the issuer's TLS certificate is not valid: %w\n"+
			"  hint: --ca-file FILE for a private authority; --insecure-skip-verify skips the check (testing only)", err)}
	case errors.As(err, &recordErr):
		return &exitError{code: exitUnexpected, err: fmt.Errorf("the issuer %s does not speak TLS: %w\n  hint: try http:// instead of https://", issuer, err)}
	case errors.As(err, &dnsErr):
		return &exitError{code: exitUnreachable, err: fmt.Errorf("the issuer's host cannot be resolved (UNREACHABLE): %w\n  hint: check the host name in --issuer", err)}
	case errors.As(err, &opErr) && opErr.Op == "dial", errors.Is(err, context.DeadlineExceeded) && isDiscovery(err):
		return &exitError{code: exitUnreachable, err: fmt.Errorf("the issuer %s cannot be reached (UNREACHABLE): %w\n"+
			"  hint: check the URL, the port-forward or ingress, and that Dex is up", issuer, err)}
	case errors.As(err, &oobErr) && oobErr.Step == "discovery":
		return &exitError{code: exitUnexpected, err: fmt.Errorf("no OpenID provider at %s: %w\n"+
			"  hint: --issuer must be exactly the issuer Dex announces (its config's issuer, e.g. https://host/dex)", issuer, err)}
	case errors.As(err, &oobErr) && oobErr.TokenError != nil:
		return &exitError{code: exitUnexpected, err: fmt.Errorf("Dex refused the code: %w\n"+
			"  hint: paste the code Dex shows right after logging in (it is single-use and expires), and check --client-id", err)}
	}
	return &exitError{code: exitUnexpected, err: fmt.Errorf("login failed: %w", err)}
}

func isDiscovery(err error) bool {
	var oobErr *oob.Error
	return errors.As(err, &oobErr) && oobErr.Step == "discovery"
}

// tokenEmail is the email claim of an ID token the login just obtained (and verified); "" when it has none.
func tokenEmail(idToken string) string {
	tok, err := jwt.ParseSigned(idToken, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.EdDSA})
	if err != nil {
		return ""
	}
	var c struct {
		Email string `json:"email"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return ""
	}
	return c.Email
}

// cacheFlag resolves --cache.
func cachePathOr(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	p, err := tokencache.DefaultPath()
	if err != nil {
		return "", usageErr("%v; pass --cache", err)
	}
	return p, nil
}

func newLogoutCmd(stdout io.Writer) *cobra.Command {
	var issuer, cachePath string
	var all bool
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Remove an issuer's cached token (or every one with --all)",
		Example: `  kfp-authcheck logout --issuer https://deploykf.example.com:8443/dex
  kfp-authcheck logout --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (issuer == "") == !all {
				return usageErr("give --issuer or --all")
			}
			path, err := cachePathOr(cachePath)
			if err != nil {
				return err
			}
			c := &tokencache.Cache{Path: path}
			issuers := []string{issuer}
			if all {
				entries, err := c.Entries()
				if err != nil && len(entries) == 0 {
					return &exitError{code: exitUnexpected, err: err}
				}
				issuers = sortedKeys(entries)
			}
			for _, iss := range issuers {
				ok, err := c.Delete(cmd.Context(), iss)
				if err != nil {
					return &exitError{code: exitUnexpected, err: err}
				}
				if ok {
					fmt.Fprintf(stdout, "logged out of %s (removed from %s)\n", iss, path)
				} else {
					fmt.Fprintf(stdout, "no token for %s in %s\n", iss, path)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&issuer, "issuer", "", "the issuer whose token to remove")
	cmd.Flags().BoolVar(&all, "all", false, "remove every issuer's token")
	cmd.Flags().StringVar(&cachePath, "cache", "", "token cache file (default ~/.config/kfp/dkf_credentials.json)")
	return cmd
}

func newStatusCmd(stdout io.Writer) *cobra.Command {
	var cachePath string
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "Show the cached tokens: issuer, user, validity, whether a refresh token is kept",
		Example: `  kfp-authcheck status`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path, err := cachePathOr(cachePath)
			if err != nil {
				return err
			}
			entries, err := (&tokencache.Cache{Path: path}).Entries()
			if err != nil {
				fmt.Fprintln(stdout, "kfp-authcheck: warning:", err)
			}
			if len(entries) == 0 {
				fmt.Fprintf(stdout, "no cached tokens in %s (kfp-authcheck login --issuer URL)\n", path)
				return nil
			}
			now := time.Now()
			fmt.Fprintf(stdout, "tokens in %s:\n", path)
			for _, iss := range sortedKeys(entries) {
				e := entries[iss]
				who := tokenEmail(e.IDToken)
				if who == "" {
					who = "unknown user"
				}
				state := "valid until " + e.Expiry().Format(time.RFC3339)
				if left := e.ValidFor(now); left <= 0 {
					state = "expired " + e.Expiry().Format(time.RFC3339)
				}
				refresh := "no refresh token"
				if e.RefreshToken != "" {
					refresh = "refresh token kept"
				}
				fmt.Fprintf(stdout, "  %s: %s; %s; %s\n", iss, who, state, refresh)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cachePath, "cache", "", "token cache file (default ~/.config/kfp/dkf_credentials.json)")
	return cmd
}

func sortedKeys(m map[string]*tokencache.Entry) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
