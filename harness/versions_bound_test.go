package harness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// TestVersionsBoundedByCheckTimeout: a Dex and KFP that never answer delay the archive's version report by the
// check timeout at most (it took the versions client's own timeouts, about 25 s, beyond it).
func TestVersionsBoundedByCheckTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	tg, err := target.FromFile(&target.File{GatewayURL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{Targets: []*target.Target{tg}, checkTimeout: 300 * time.Millisecond}
	begin := time.Now()
	seen := s.Versions(context.Background())
	if d := time.Since(begin); d > 3*time.Second {
		t.Fatalf("collecting versions took %s with a check timeout of 300ms", d)
	}
	if len(seen) != 1 || seen[0].KFP.Error == "" {
		t.Fatalf("a KFP that never answered has no error recorded: %+v", seen)
	}
}
