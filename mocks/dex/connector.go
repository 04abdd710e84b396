package dex

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"golang.org/x/crypto/bcrypt"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// PasswordConnector is Dex's connector.PasswordConnector: a connector that checks a username and password itself.
// The local connector implements it over the password store; an LDAP connector can plug in through RegisterConnector.
type PasswordConnector interface {
	ID() string
	Prompt() string // "Email Address" for local, "Username" for ldap by default; "" means "Username"
	Login(ctx context.Context, scopes Scopes, username, password string) (identity Identity, valid bool, err error)
}

// Scopes is connector.Scopes: the scopes a connector may act on.
type Scopes struct{ OfflineAccess, Groups bool }

// Identity is connector.Identity without the connector data.
type Identity struct {
	UserID, Username, PreferredUsername, Email string
	EmailVerified                              bool
	Groups                                     []string
}

// connectorEntry is one configured connector; impl is nil until something implements it.
type connectorEntry struct {
	ID, Name, Type string
	impl           PasswordConnector
}

// RegisterConnector plugs a password connector in. An ID listed in Config.Connectors keeps its place and type and
// takes name (when non-empty); a new ID is added with type equal to its ID.
func (s *Server) RegisterConnector(id, name string, c PasswordConnector) error {
	if id == "" || c == nil {
		return errors.New("register connector: id and connector are required")
	}
	if c.ID() != id {
		return fmt.Errorf("register connector: connector reports ID %q, registered as %q", c.ID(), id)
	}
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for i := range s.connectors {
		if s.connectors[i].ID == id {
			s.connectors[i].impl = c
			if name != "" {
				s.connectors[i].Name = name
			}
			return nil
		}
	}
	s.connectors = append(s.connectors, connectorEntry{ID: id, Name: name, Type: id, impl: c})
	return nil
}

// listConnectors is a copy, safe to use without the lock.
func (s *Server) listConnectors() []connectorEntry {
	s.connMu.RLock()
	defer s.connMu.RUnlock()
	return append([]connectorEntry(nil), s.connectors...)
}

// getConnector finds an implemented connector, as Server.getConnector does for opened connectors.
func (s *Server) getConnector(id string) (connectorEntry, error) {
	for _, c := range s.listConnectors() {
		if c.ID == id && c.impl != nil {
			return c, nil
		}
	}
	return connectorEntry{}, errNotFound
}

// connectorsByName is the order of Dex's login.html: templates.login sorts by Name.
func connectorsByName(cs []connectorEntry) []connectorEntry {
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs
}

// usernamePrompt is handlers.go usernamePrompt.
func usernamePrompt(c PasswordConnector) string {
	if p := c.Prompt(); p != "" {
		return p
	}
	return "Username"
}

// localConnector is Dex's passwordDB: users log in by email (case-insensitive), checked with bcrypt.
type localConnector struct {
	id    string
	store *store
}

func (l localConnector) ID() string     { return l.id }
func (l localConnector) Prompt() string { return "Email Address" }

func (l localConnector) Login(_ context.Context, _ Scopes, email, password string) (Identity, bool, error) {
	p, err := l.store.getPassword(email)
	if err != nil {
		return Identity{}, false, nil
	}
	// Dex refuses hashes outside its cost bounds at login, not only in the API.
	if err := checkCost(p.Hash); err != nil {
		return Identity{}, false, err
	}
	if !passwordMatches(p.Hash, password) && !mutate.On(mutate.DexAnyPassword) {
		return Identity{}, false, nil
	}
	return Identity{UserID: p.UserID, Username: p.Username, Email: p.Email, EmailVerified: true}, true, nil
}

// Bounds of server/api.go: below bcrypt.DefaultCost (10) or above 16 is refused.
const (
	recommendedCost = 12
	upperBoundCost  = 16
)

// checkCost is api.go checkCost, with its error texts.
func checkCost(hash []byte) error {
	actual, err := bcrypt.Cost(hash)
	if err != nil {
		return fmt.Errorf("parsing bcrypt hash: %w", err)
	}
	if actual < bcrypt.DefaultCost {
		return fmt.Errorf("given hash cost = %d does not meet minimum cost requirement = %d", actual, bcrypt.DefaultCost)
	}
	if actual > upperBoundCost {
		return fmt.Errorf("given hash cost = %d is above upper bound cost = %d, recommended cost = %d", actual, upperBoundCost, recommendedCost)
	}
	return nil
}
