package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/auth/oob"
	"github.com/kfp-authcheck/kfp-authcheck/auth/tokencache"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// stdin is where login reads the pasted code; tests replace it.
var stdin io.Reader = os.Stdin

type loginOptions struct {
	issuer, targetFile, clientID, cachePath, caFile string
	skipVerify, noCache, print, force               bool
	timeout                                         time.Duration
}

func newLoginCmd(stdout, stderr io.Writer) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to Dex with the browser out-of-band (OOB) flow and cache or print the ID token",
		Long: `Log in the way deployKF's SDK client does: the public OIDC client (default kubeflow-pipelines-sdk) with
redirect urn:ietf:wg:oauth:2.0:oob and PKCE S256. The authorization URL is printed on stderr; open it in a
browser, log in, and paste the code Dex shows.

The token is kept in deployKF's cache file (~/.config/kfp/dkf_credentials.json, keyed by issuer), which deployKF's
Python client reads too. Unlike that client, other issuers' entries are kept, the file is mode 0600 and replaced
atomically under a lock. A cached token with more than 300 s left is reused without a network call; otherwise the
refresh grant is tried; only when that fails is the interactive login run. Use the ID token as
"Authorization: Bearer <id_token>" on the pipeline URL (the KFP SDK: existing_token=<id_token>).

kfp-authcheck status lists the cached tokens; kfp-authcheck logout removes one.

Exit codes: 0 a token is cached (or printed); 1 the login failed (the message says why and what to try);
2 usage or configuration error; 3 the issuer cannot be reached at all.`,
		Example: `  # log in once; the token is cached in ~/.config/kfp/dkf_credentials.json and reused or refreshed
  kfp-authcheck login --issuer https://deploykf.example.com:8443/dex

  # issuer, TLS and client from a target file; the ID token on stdout for another program
  TOKEN=$(kfp-authcheck login --target my-deploykf.yaml --print)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := runLogin(cmd.Context(), o, stdout, stderr)
			var ee *exitError
			if errors.As(err, &ee) && ee.code == exitUnexpected {
				fmt.Fprintln(stderr, "kfp-authcheck:", ee.err) // main prints every other code's message
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.issuer, "issuer", "", "Dex issuer URL, exactly as Dex announces it (e.g. https://deploykf.example.com:8443/dex)")
	f.StringVar(&o.targetFile, "target", "", "target file to take issuer_url, tls and oob_client_id from (instead of --issuer)")
	f.StringVar(&o.clientID, "client-id", "", "public OIDC client (default: the target's oob_client_id, else kubeflow-pipelines-sdk)")
	f.StringVar(&o.cachePath, "cache", "", "token cache file (default ~/.config/kfp/dkf_credentials.json)")
	f.BoolVar(&o.noCache, "no-cache", false, "neither read nor write the cache: always log in interactively and print the ID token")
	f.BoolVar(&o.print, "print", false, "print the ID token on stdout (a secret: for piping into another program)")
	f.BoolVar(&o.force, "force", false, "ignore the cached token and its refresh token: log in interactively")
	f.StringVar(&o.caFile, "ca-file", "", "PEM bundle to trust for the issuer's TLS certificate")
	f.BoolVar(&o.skipVerify, "insecure-skip-verify", false, "do not verify the issuer's TLS certificate (testing only)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up when the whole login, pasting the code included, takes longer")
	return cmd
}

func runLogin(ctx context.Context, o loginOptions, stdout, stderr io.Writer) error {
	cfg, err := loginConfig(o)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	prompt := oob.Prompt{In: stdin, Out: stderr}
	if o.noCache {
		c, err := oob.Discover(ctx, cfg)
		if err != nil {
			return loginError(cfg.Issuer, err)
		}
		tok, err := c.Login(ctx, prompt)
		if err != nil {
			return loginError(cfg.Issuer, err)
		}
		fmt.Fprintf(stderr, "\nlogged in as %s; ID token valid until %s\n", tok.Claims.Email, tok.Expiry.Format(time.RFC3339))
		fmt.Fprintln(stdout, tok.IDToken)
		return nil
	}
	path, err := cachePathOr(o.cachePath)
	if err != nil {
		return err
	}
	cache := &tokencache.Cache{Path: path}
	if o.force {
		if _, err := cache.Update(ctx, cfg.Issuer, func(cur *tokencache.Entry) (*tokencache.Entry, error) {
			if cur == nil {
				return nil, nil
			}
			cur.ExpiresAt, cur.RefreshToken = 0, ""
			return cur, nil
		}); err != nil {
			return &exitError{code: exitUnexpected, err: err}
		}
	}
	src := &oob.Source{Config: cfg, Cache: cache, Authorizer: prompt}
	r, err := src.Token(ctx)
	if err != nil {
		return loginError(cfg.Issuer, err)
	}
	if r.RefreshErr != nil {
		fmt.Fprintf(stderr, "the refresh token was refused (%v), so you logged in again\n", r.RefreshErr)
	}
	who := tokenEmail(r.Entry.IDToken)
	if who == "" {
		who = "a user without an email claim"
	}
	fmt.Fprintf(stderr, "\nlogged in as %s at %s; token (%s) cached in %s; valid until %s\n", who, cfg.Issuer, r.Outcome, path,
		r.Entry.Expiry().Format(time.RFC3339))
	if o.print {
		fmt.Fprintln(stdout, r.Entry.IDToken)
	}
	return nil
}

// loginConfig turns the flags (or the target file) into the OOB client's configuration.
func loginConfig(o loginOptions) (oob.Config, error) {
	issuer, clientID, caFile, skip := o.issuer, o.clientID, o.caFile, o.skipVerify
	switch {
	case o.targetFile != "" && o.issuer != "":
		return oob.Config{}, usageErr("give --issuer or --target, not both")
	case o.targetFile != "":
		tf, err := target.LoadFile(o.targetFile)
		if err != nil {
			return oob.Config{}, usageErr("--target: %v", err)
		}
		issuer = tf.IssuerURL
		if issuer == "" {
			issuer = strings.TrimRight(tf.GatewayURL, "/") + "/dex"
		}
		if clientID == "" {
			clientID = tf.OOBClientID
		}
		if tf.TLS != nil {
			if caFile == "" {
				caFile = tf.TLS.CAFile
			}
			skip = skip || tf.TLS.SkipVerify
		}
	case o.issuer == "":
		return oob.Config{}, usageErr("--issuer or --target is required")
	}
	if !strings.HasPrefix(issuer, "http://") && !strings.HasPrefix(issuer, "https://") {
		return oob.Config{}, usageErr("the issuer %q is not an http or https URL", issuer)
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: skip}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return oob.Config{}, usageErr("--ca-file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return oob.Config{}, usageErr("--ca-file %s holds no PEM certificate", caFile)
		}
		tlsConf.RootCAs = pool
	}
	return oob.Config{Issuer: issuer, ClientID: clientID, HTTPClient: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tlsConf, Proxy: http.ProxyFromEnvironment}}}, nil
}
