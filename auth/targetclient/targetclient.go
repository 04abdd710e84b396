// Package targetclient builds the clients the harness talks to a target with: its HTTP client, a fresh scripted
// browser and a Dex login, all with the target's TLS settings, request timeout and redactor. The checks and the
// version report both use it, so neither depends on the other for a client.
package targetclient

import (
	"context"
	"net/http"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/auth/dexlogin"
	"github.com/kfp-authcheck/kfp-authcheck/internal/limits"
	"github.com/kfp-authcheck/kfp-authcheck/internal/timing"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// HTTPClient is a plain HTTP client for t: its TLS settings and request timeout, redirects not followed (a
// check reads each redirect itself), every body bounded by limits.Body.
func HTTPClient(t *target.Target) *http.Client {
	return &http.Client{
		Timeout: t.RequestTimeout,
		// timing.Transport counts each round trip against the check whose context the request carries; every body
		// is bounded by limits.Body.
		Transport: timing.Transport{Base: limits.Transport(&http.Transport{TLSClientConfig: t.TLS.Clone(), Proxy: http.ProxyFromEnvironment}, limits.Body)},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Browser returns a fresh scripted browser (empty cookie jar) that trusts t's TLS settings and redacts with its
// redactor.
func Browser(t *target.Target) (*browser.Browser, error) {
	return browser.New(browser.Options{
		Timeout:       t.RequestTimeout,
		TLSConfig:     t.TLS,
		Redactor:      t.Redactor,
		WrapTransport: timing.Wrap,
	})
}

// LoginOptions are the Dex login flow's options for u at t: start at the pipeline URL, approve the grant.
func LoginOptions(t *target.Target, u target.User) dexlogin.Options {
	return dexlogin.Options{
		StartURL:  t.PipelineURL + "/",
		Username:  u.LoginName(),
		Password:  u.Password,
		Connector: u.Connector,
		Approve:   true,
	}
}

// Login runs the Dex login flow for u in a fresh browser.
func Login(ctx context.Context, t *target.Target, u target.User) (*dexlogin.Session, *browser.Browser, error) {
	b, err := Browser(t)
	if err != nil {
		return nil, nil, err
	}
	s, err := dexlogin.Login(ctx, b, LoginOptions(t, u))
	return s, b, err
}
