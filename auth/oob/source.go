package oob

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/tokencache"
)

// MinValidity is deployKF's threshold: a cached token with more time left than this is used as it is.
const MinValidity = 300 * time.Second

// Outcome says how Source.Token got its token.
type Outcome string

// Outcomes, in the order Source tries them.
const (
	Cached      Outcome = "cached"      // from the cache, no network call
	Refreshed   Outcome = "refreshed"   // the refresh_token grant
	Interactive Outcome = "interactive" // the Authorizer, after no or a failed refresh
)

// ErrNoAuthorizer is returned when only an interactive login would help and Source has no Authorizer.
var ErrNoAuthorizer = errors.New("an interactive login is needed and no authorizer is set")

// Source is deployKF's DeployKFCredentialsOutOfBand policy over a cache: a cached token with more than
// MinValidity left is returned without any network call; otherwise the refresh grant; when that fails, the
// interactive login. Everything after the first cache read happens under the cache's lock and re-reads the
// entry first, so of several processes that find the token stale only one refreshes (the others then find the
// fresh token), and a rotated refresh token is never spent twice.
type Source struct {
	Config     Config
	Cache      *tokencache.Cache
	Authorizer Authorizer
	// MinValidity defaults to the package's MinValidity.
	MinValidity time.Duration

	mu     sync.Mutex
	client *Client
}

// Result is a token and how it was obtained.
type Result struct {
	Entry   *tokencache.Entry
	Outcome Outcome
	// RefreshErr is why the refresh grant failed before an interactive login, if it was tried.
	RefreshErr error
}

// Token returns a usable token for the configured issuer.
func (s *Source) Token(ctx context.Context) (*Result, error) {
	s.Config.defaults()
	issuer := s.Config.Issuer
	if e, err := s.Cache.Load(issuer); err == nil && s.fresh(e) {
		return &Result{Entry: e, Outcome: Cached}, nil
	}
	res := &Result{}
	_, err := s.Cache.Update(ctx, issuer, func(cur *tokencache.Entry) (*tokencache.Entry, error) {
		if s.fresh(cur) { // another process refreshed while this one waited for the lock
			res.Entry, res.Outcome = cur, Cached
			return nil, nil
		}
		c, err := s.discover(ctx)
		if err != nil {
			return nil, err
		}
		if cur != nil && cur.RefreshToken != "" {
			tok, err := c.Refresh(ctx, cur.RefreshToken)
			if err == nil {
				e := tok.Entry()
				if e.RefreshToken == "" { // as requests-oauthlib: keep the old one when none comes back
					e.RefreshToken = cur.RefreshToken
				}
				res.Entry, res.Outcome = e, Refreshed
				return e, nil
			}
			res.RefreshErr = err
		}
		if s.Authorizer == nil {
			return nil, ErrNoAuthorizer
		}
		tok, err := c.Login(ctx, s.Authorizer)
		if err != nil {
			return nil, err
		}
		res.Entry, res.Outcome = tok.Entry(), Interactive
		return res.Entry, nil
	})
	if err != nil {
		return res, err
	}
	return res, nil
}

func (s *Source) fresh(e *tokencache.Entry) bool {
	min := s.MinValidity
	if min <= 0 {
		min = MinValidity
	}
	return e != nil && e.IDToken != "" && e.ValidFor(s.Config.Now()) > min
}

// discover runs discovery once per Source, only when a network step is due.
func (s *Source) discover(ctx context.Context) (*Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return s.client, nil
	}
	c, err := Discover(ctx, s.Config)
	if err != nil {
		return nil, err
	}
	s.client = c
	return c, nil
}
