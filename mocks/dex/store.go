package dex

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// The storage errors Dex's handlers branch on; their texts are what Dex's gRPC API leaks to clients.
var (
	errNotFound      = errors.New("not found")
	errAlreadyExists = errors.New("ID already exists")
)

type claims struct {
	UserID            string
	Username          string
	PreferredUsername string
	Email             string
	EmailVerified     bool
	Groups            []string
}

type pkce struct {
	CodeChallenge       string
	CodeChallengeMethod string
}

type authRequest struct {
	ID                  string
	ClientID            string
	ResponseTypes       []string
	Scopes              []string
	RedirectURI         string
	Nonce               string
	State               string
	ForceApprovalPrompt bool
	Expiry              time.Time
	LoggedIn            bool
	Claims              claims
	ConnectorID         string
	PKCE                pkce
	HMACKey             []byte
}

type authCode struct {
	ID          string
	ClientID    string
	RedirectURI string
	Nonce       string
	Scopes      []string
	ConnectorID string
	Claims      claims
	Expiry      time.Time
	PKCE        pkce
}

// store is the in-memory storage, one mutex for all of it. Like Dex's memory storage plus WithStaticClients and
// WithStaticPasswords: static entries shadow dynamic ones and refuse changes.
type store struct {
	mu              sync.Mutex
	clients         map[string]Client
	staticClients   map[string]Client
	passwords       map[string]Password // keyed by lower-cased email
	staticPasswords map[string]Password
	authRequests    map[string]authRequest
	authCodes       map[string]authCode
	lastGC          time.Time // see gc.go

	// refreshMu guards the refresh tokens and offline sessions apart from mu, because a refresh asks the
	// connector (which reads passwords under mu) while it holds the token, as Dex's storage transaction does.
	refreshMu sync.Mutex
	refresh   map[string]refreshToken
	offline   map[offlineKey]offlineSession
}

func newStore() *store {
	return &store{
		clients:         map[string]Client{},
		staticClients:   map[string]Client{},
		passwords:       map[string]Password{},
		staticPasswords: map[string]Password{},
		authRequests:    map[string]authRequest{},
		authCodes:       map[string]authCode{},
		refresh:         map[string]refreshToken{},
		offline:         map[offlineKey]offlineSession{},
	}
}

func cloneClient(c Client) Client {
	c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	c.TrustedPeers = append([]string(nil), c.TrustedPeers...)
	return c
}

func (s *store) getClient(id string) (Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.staticClients[id]; ok {
		return cloneClient(c), nil
	}
	if c, ok := s.clients[id]; ok {
		return cloneClient(c), nil
	}
	return Client{}, errNotFound
}

func (s *store) createClient(c Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.staticClients[c.ID]; ok {
		return errors.New("static clients: read-only cannot create client")
	}
	if _, ok := s.clients[c.ID]; ok {
		return errAlreadyExists
	}
	s.clients[c.ID] = cloneClient(c)
	return nil
}

func (s *store) updateClient(id string, update func(Client) Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.staticClients[id]; ok {
		return errors.New("static clients: read-only cannot update client")
	}
	c, ok := s.clients[id]
	if !ok {
		return errNotFound
	}
	s.clients[id] = cloneClient(update(c))
	return nil
}

func (s *store) deleteClient(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.staticClients[id]; ok {
		return errors.New("static clients: read-only cannot delete client")
	}
	if _, ok := s.clients[id]; !ok {
		return errNotFound
	}
	delete(s.clients, id)
	return nil
}

func (s *store) getPassword(email string) (Password, error) {
	email = strings.ToLower(email)
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.staticPasswords[email]; ok {
		return p, nil
	}
	if p, ok := s.passwords[email]; ok {
		return p, nil
	}
	return Password{}, errNotFound
}

func (s *store) createPassword(p Password) error {
	email := strings.ToLower(p.Email)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.staticPasswords[email]; ok {
		return errors.New("static passwords: read-only cannot create password")
	}
	if _, ok := s.passwords[email]; ok {
		return errAlreadyExists
	}
	p.Hash = append([]byte(nil), p.Hash...)
	s.passwords[email] = p
	return nil
}

func (s *store) updatePassword(email string, update func(Password) Password) error {
	email = strings.ToLower(email)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.staticPasswords[email]; ok {
		return errors.New("static passwords: read-only cannot update password")
	}
	p, ok := s.passwords[email]
	if !ok {
		return errNotFound
	}
	s.passwords[email] = update(p)
	return nil
}

func (s *store) deletePassword(email string) error {
	email = strings.ToLower(email)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.staticPasswords[email]; ok {
		return errors.New("static passwords: read-only cannot delete password")
	}
	if _, ok := s.passwords[email]; !ok {
		return errNotFound
	}
	delete(s.passwords, email)
	return nil
}

// listPasswords returns static and dynamic entries, static winning on the same email, sorted by email so that
// callers see a stable order (Dex's order is map order).
func (s *store) listPasswords() []Password {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Password
	for _, p := range s.staticPasswords {
		out = append(out, p)
	}
	for email, p := range s.passwords {
		if _, shadowed := s.staticPasswords[email]; !shadowed {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Email) < strings.ToLower(out[j].Email) })
	return out
}

func (s *store) createAuthRequest(a authRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mutate.On(mutate.DexOnePendingAuthRequest) {
		for id, pending := range s.authRequests {
			if !pending.LoggedIn {
				delete(s.authRequests, id)
			}
		}
	}
	s.authRequests[a.ID] = a
}

func (s *store) getAuthRequest(id string) (authRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok {
		return authRequest{}, errNotFound
	}
	return a, nil
}

func (s *store) updateAuthRequest(id string, update func(authRequest) authRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok {
		return errNotFound
	}
	s.authRequests[id] = update(a)
	return nil
}

func (s *store) deleteAuthRequest(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.authRequests[id]; !ok {
		return errNotFound
	}
	delete(s.authRequests, id)
	return nil
}

func (s *store) createAuthCode(c authCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authCodes[c.ID] = c
}

func (s *store) getAuthCode(id string) (authCode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.authCodes[id]
	if !ok {
		return authCode{}, errNotFound
	}
	return c, nil
}

func (s *store) deleteAuthCode(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.authCodes[id]; !ok {
		return errNotFound
	}
	delete(s.authCodes, id)
	return nil
}
