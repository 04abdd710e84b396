package dex

import (
	"net/url"
	"sync"
	"testing"
)

// TestConcurrentRedemptionsOneWins races many redemptions of one code: exactly one gets tokens.
func TestConcurrentRedemptionsOneWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	code := e.loginCode(authQuery(nil))
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- e.token(codeForm(code, nil), confClient, confSecret).status
		}()
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		switch s {
		case 200:
			ok++
		case 400, 500: // 500 is Dex's answer when the delete loses the race
		default:
			t.Errorf("status %d", s)
		}
	}
	if ok != 1 {
		t.Errorf("%d redemptions succeeded, want 1", ok)
	}
}

// TestConcurrentLogins runs whole logins side by side with API changes, for the race detector.
func TestConcurrentLogins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := e.loginCode(authQuery(url.Values{"state": {string(rune('a' + i))}}))
			if r := e.token(codeForm(code, nil), confClient, confSecret); r.status != 200 {
				t.Errorf("token: %d", r.status)
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = e.srv.store.createClient(Client{ID: string(rune('a' + i)), Name: "x", Public: true})
			_ = e.srv.RegisterConnector("ldap", "LDAP", stubLDAP{})
		}()
	}
	wg.Wait()
}
