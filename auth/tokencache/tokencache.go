// Package tokencache keeps OIDC tokens on disk in the file deployKF's SDK client uses,
// ~/.config/kfp/dkf_credentials.json: one JSON object keyed by issuer URL, each value the token as
// requests-oauthlib holds it (access_token, token_type, expires_in, refresh_token, id_token, expires_at in Unix
// seconds). Both programs can share the file. Unlike the published client (FIELD-REPORTS 31 a to c) it keeps the
// other issuers' entries on write, writes mode 0600 by atomic replace, and serialises read-modify-write cycles
// across processes with a lock file, so two refreshers never both spend one rotated refresh token.
package tokencache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/internal/atomicfile"
)

// maxFileBytes bounds what Load reads: a credentials file is a few kilobytes per issuer.
const maxFileBytes = 4 << 20

// Entry is one issuer's token, in requests-oauthlib's field names.
type Entry struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type,omitempty"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	// ExpiresAt is Unix seconds; oauthlib writes it as a float or an integer, both are read.
	ExpiresAt float64 `json:"expires_at"`
}

// Expiry is ExpiresAt as a time.
func (e *Entry) Expiry() time.Time {
	sec, frac := math.Modf(e.ExpiresAt)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9)))
}

// ValidFor reports how long the token has left at now.
func (e *Entry) ValidFor(now time.Time) time.Duration { return e.Expiry().Sub(now) }

// Cache is the credentials file at Path.
type Cache struct {
	Path string
	// LockTimeout bounds the wait for another process's lock when the context has no earlier deadline;
	// default 2 minutes (an interactive login in the other process may hold it that long).
	LockTimeout time.Duration
}

// DefaultPath is deployKF's ~/.config/kfp/dkf_credentials.json.
func DefaultPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("token cache: no home directory: %w", err)
	}
	return filepath.Join(home, ".config", "kfp", "dkf_credentials.json"), nil
}

// ErrCorrupt marks a file that is not a JSON object of issuer entries. Load reports it; Update replaces such a
// file only with the caller's entry (the seed's file may have been truncated by its non-atomic writer).
var ErrCorrupt = errors.New("token cache: the credentials file is not a JSON object keyed by issuer")

// Load returns issuer's entry, or nil when the file or the entry does not exist. It takes no lock: atomic
// replacement means a reader sees a whole old file or a whole new one.
func (c *Cache) Load(issuer string) (*Entry, error) {
	all, err := c.readAll()
	if err != nil {
		return nil, err
	}
	return decodeEntry(all, issuer)
}

// Update runs fn with issuer's current entry (nil when none) while holding the cache's lock, and stores what fn
// returns, keeping every other issuer's entry byte for byte. fn returning (nil, nil) stores nothing; an error
// from fn is returned and nothing is stored. The lock is an advisory file lock on Path+".lock", so concurrent
// Updates in any number of processes run one after the other.
func (c *Cache) Update(ctx context.Context, issuer string, fn func(cur *Entry) (*Entry, error)) (*Entry, error) {
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o700); err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	unlock, err := c.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	all, err := c.readAll()
	if errors.Is(err, ErrCorrupt) {
		all = map[string]json.RawMessage{}
	} else if err != nil {
		return nil, err
	}
	cur, err := decodeEntry(all, issuer)
	if err != nil {
		cur = nil // an unreadable entry of ours is replaced, not fatal
	}
	next, err := fn(cur)
	if err != nil || next == nil {
		return cur, err
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	all[issuer] = raw
	data, err := marshalSorted(all)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(c.Path, data, 0o600); err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	return next, nil
}

// Store replaces issuer's entry (under the lock).
func (c *Cache) Store(ctx context.Context, issuer string, e *Entry) error {
	_, err := c.Update(ctx, issuer, func(*Entry) (*Entry, error) { return e, nil })
	return err
}

func (c *Cache) readAll() (map[string]json.RawMessage, error) {
	f, err := os.Open(c.Path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]json.RawMessage{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("token cache: %s is larger than %d bytes", c.Path, maxFileBytes)
	}
	all := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(b)) == 0 {
		return all, nil
	}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, c.Path, err)
	}
	return all, nil
}

func decodeEntry(all map[string]json.RawMessage, issuer string) (*Entry, error) {
	raw, ok := all[issuer]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var e Entry
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("token cache: the entry for %s is not a token: %w", issuer, err)
	}
	return &e, nil
}

// marshalSorted writes the object indented with sorted keys (encoding/json sorts map keys); Python's json.load
// reads any layout.
func marshalSorted(all map[string]json.RawMessage) ([]byte, error) {
	data, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	return append(data, '\n'), nil
}

// Delete removes issuer's entry under the lock, keeping every other entry; it reports whether there was one.
func (c *Cache) Delete(ctx context.Context, issuer string) (bool, error) {
	if _, err := os.Stat(c.Path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	unlock, err := c.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	all, err := c.readAll()
	if err != nil {
		return false, err
	}
	if _, ok := all[issuer]; !ok {
		return false, nil
	}
	delete(all, issuer)
	data, err := marshalSorted(all)
	if err != nil {
		return false, err
	}
	if err := atomicfile.Write(c.Path, data, 0o600); err != nil {
		return false, fmt.Errorf("token cache: %w", err)
	}
	return true, nil
}

// Entries returns every issuer's entry; an entry that is not a token is left out and named in the error.
func (c *Cache) Entries() (map[string]*Entry, error) {
	all, err := c.readAll()
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Entry, len(all))
	var errs []error
	for issuer := range all {
		e, err := decodeEntry(all, issuer)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if e != nil {
			out[issuer] = e
		}
	}
	return out, errors.Join(errs...)
}
