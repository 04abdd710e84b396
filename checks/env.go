package checks

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/auth/dexlogin"
	"github.com/kfp-authcheck/kfp-authcheck/auth/targetclient"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Env is what a check runs with: the target, and helpers that build fresh browsers and API clients for it.
type Env struct {
	Target *target.Target

	mu       sync.Mutex
	sessions map[string]*sessionEntry
	fixtures *fixtures.Session
	// shared are the run's shared fixtures (sharedSAFixture), made on first use.
	shared *sharedFixtures
}

// sharedFixtures returns the run's shared-fixture state.
func (e *Env) sharedFixtures() *sharedFixtures {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shared == nil {
		e.shared = &sharedFixtures{}
	}
	return e.shared
}

type sessionEntry struct {
	once    sync.Once
	sess    *dexlogin.Session
	browser *browser.Browser
	err     error
}

// NewEnv wraps a target for a run.
func NewEnv(t *target.Target) *Env {
	return &Env{Target: t, sessions: map[string]*sessionEntry{}}
}

// Fixtures returns the run's fixture session on the target's cluster (made on first use): every check's
// fixture set comes from it, so the whole run shares one run label and Close finds everything.
func (e *Env) Fixtures() *fixtures.Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fixtures == nil {
		e.fixtures = fixtures.NewSession(e.Target.Kube)
	}
	return e.fixtures
}

// CloseFixtures ends the run's fixtures (nothing more is created) and removes every object the run labelled,
// with a fresh deadline of its own, so it also works after an interrupt. Nil when no check made fixtures.
func (e *Env) CloseFixtures() *result.FixtureCleanup {
	e.mu.Lock()
	s := e.fixtures
	e.mu.Unlock()
	if s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), fixtureCleanupTimeout)
	defer cancel()
	began := time.Now()
	rep, err := s.Close(ctx)
	fc := &result.FixtureCleanup{RunID: s.RunID, Label: fixtures.RunLabel + "=" + s.RunID,
		DurationMS: time.Since(began).Milliseconds()}
	for _, o := range rep.Deleted {
		fc.Swept = append(fc.Swept, o.String())
	}
	if err != nil {
		fc.Error = err.Error()
		if left, lerr := fixtures.List(ctx, s.Client, s.RunID); lerr == nil {
			for _, o := range left {
				if !o.Terminating {
					fc.Left = append(fc.Left, o.String())
				}
			}
		}
	}
	return fc
}

// fixtureCleanupTimeout bounds the removal of a run's fixtures at its end (also after Ctrl-C).
const fixtureCleanupTimeout = 60 * time.Second

// gate is what decides, before a check runs and in the plan, whether it runs: the capabilities it needs, then its
// own Applies. missing lists the capabilities the target lacks; where there are none, na is Applies' answer.
func (e *Env) gate(c *Check) (missing []target.Capability, na *Inapplicable) {
	if missing = e.missing(c.Needs); len(missing) > 0 {
		return missing, nil
	}
	if c.Applies != nil {
		return nil, c.Applies(e.Target)
	}
	return nil, nil
}

func (e *Env) missing(needs []target.Capability) []target.Capability {
	var out []target.Capability
	for _, n := range needs {
		if !e.Target.Has(n) {
			out = append(out, n)
		}
	}
	return out
}

// Browser returns a fresh scripted browser (empty cookie jar) that trusts the target's TLS settings and redacts
// with its redactor: every login attempt gets its own, as DEX-LOCAL-007 demands.
func (e *Env) Browser() (*browser.Browser, error) {
	return targetclient.Browser(e.Target)
}

// Login runs the Dex login flow for u in a fresh browser.
func (e *Env) Login(ctx context.Context, u target.User) (*dexlogin.Session, *browser.Browser, error) {
	return targetclient.Login(ctx, e.Target, u)
}

func (e *Env) loginOptions(u target.User) dexlogin.Options {
	return targetclient.LoginOptions(e.Target, u)
}

// SharedLogin logs u in once per run and hands the same recorded login (session and the browser that made it)
// to every check that observes a standard login: its chain, its cookies, its flags. Logins cost a bcrypt
// comparison at Dex each, so one observation serves them all; the checks about the login's repeatability
// (DEX-LOCAL-007) and expiry (DEX-LOCAL-009) use fresh logins through Login. The login runs on a context
// detached from the first caller's, so one check's deadline cannot poison the login every other check shares.
func (e *Env) SharedLogin(ctx context.Context, u target.User) (*dexlogin.Session, *browser.Browser, error) {
	e.mu.Lock()
	ent, ok := e.sessions[u.Email]
	if !ok {
		ent = &sessionEntry{}
		e.sessions[u.Email] = ent
	}
	e.mu.Unlock()
	ent.once.Do(func() {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*e.Target.RequestTimeout)
		defer cancel()
		ent.sess, ent.browser, ent.err = e.Login(lctx, u)
	})
	return ent.sess, ent.browser, ent.err
}

// firstLocalLogin is SharedLogin of the first local user, for the checks that observe the standard login; a
// login that fails is their result (with the browser's history), returned as failed.
func (e *Env) firstLocalLogin(ctx context.Context) (*dexlogin.Session, *browser.Browser, *result.Result) {
	u, _ := e.FirstUser("local")
	s, b, err := e.SharedLogin(ctx, u)
	if err != nil {
		r := withHistory(failFromError("login", err), b)
		return nil, b, &r
	}
	return s, b, nil
}

// SharedSession is SharedLogin for checks that only need to be logged in (SETUP-002).
func (e *Env) SharedSession(ctx context.Context, u target.User) (*dexlogin.Session, error) {
	s, _, err := e.SharedLogin(ctx, u)
	return s, err
}

// API returns a KFP REST client for the pipeline URL that sends the session's cookies (nil: no credentials).
func (e *Env) API(s *dexlogin.Session) *kfpapi.Client {
	c := &kfpapi.Client{BaseURL: e.Target.PipelineURL, HTTP: e.HTTPClient()}
	if s != nil {
		c.Header = http.Header{"Cookie": {s.CookieHeader()}}
	}
	return c
}

// HTTPClient is a plain client for the target that does not follow redirects, so a check sees each answer as
// the gateway gave it.
func (e *Env) HTTPClient() *http.Client {
	return targetclient.HTTPClient(e.Target)
}

// FirstUser returns the first user for a connector, or an error that says none is configured.
func (e *Env) FirstUser(connector string) (target.User, error) {
	us := e.Target.UsersFor(connector)
	if len(us) == 0 {
		return target.User{}, fmt.Errorf("the target has no %s user", connector)
	}
	return us[0], nil
}
