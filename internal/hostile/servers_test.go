package hostile

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/auth/oob"
	"github.com/kfp-authcheck/kfp-authcheck/auth/targetclient"
	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// endless writes n bytes of filler without holding them.
func endless(w io.Writer, n int64) {
	chunk := bytes.Repeat([]byte(" "), 64<<10)
	for n > 0 {
		k := min(n, int64(len(chunk)))
		if _, err := w.Write(chunk[:k]); err != nil {
			return
		}
		n -= k
	}
}

// gzipBomb is about 100 KB of gzip that decodes to 100 MB.
func gzipBomb(t *testing.T) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	endless(zw, 100<<20)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// resetListener accepts, reads the request, then resets the connection (SO_LINGER 0): what a crashing or
// hostile server, or a middlebox, does.
func resetServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Read(make([]byte, 4096))
			_ = c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String()
}

// allocated runs f and returns the bytes allocated meanwhile.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileServers: what a deployment under test may answer, and the reason code the harness must give for it,
// within bounded memory.
func TestHostileServers(t *testing.T) {
	bomb := gzipBomb(t)
	cases := []struct {
		name    string
		handler http.HandlerFunc // nil: a server that resets the connection
		do      func(ctx context.Context, url string) error
		reason  result.Reason
	}{
		{"discovery document of 100 MB", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			endless(w, 100<<20)
		}, discover, result.ResponseTooLarge},
		{"discovery document as a gzip bomb", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(bomb)
		}, discover, result.ResponseTooLarge},
		{"a check's body of 100 MB", func(w http.ResponseWriter, r *http.Request) { endless(w, 100<<20) },
			readWithTargetClient, result.ResponseTooLarge},
		{"a check's body as a gzip bomb", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(bomb)
		}, readWithTargetClient, result.ResponseTooLarge},
		{"connection reset", nil, readWithTargetClient, result.Unreachable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url := ""
			if c.handler == nil {
				url = resetServer(t)
			} else {
				srv := httptest.NewServer(c.handler)
				t.Cleanup(srv.Close)
				url = srv.URL
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var err error
			n := allocated(func() { err = c.do(ctx, url) })
			if err == nil {
				t.Fatalf("no error; want reason %s", c.reason)
			}
			if got := browser.Classify(err); got != c.reason {
				t.Fatalf("reason %s (%v), want %s", got, trim(err.Error()), c.reason)
			}
			if n > 32<<20 {
				t.Errorf("allocated %d MB to refuse it; the limit is 1 MiB", n>>20)
			}
		})
	}
}

func discover(ctx context.Context, url string) error {
	_, err := oob.Discover(ctx, oob.Config{Issuer: url, HTTPClient: &http.Client{Timeout: 20 * time.Second}})
	return err
}

func readWithTargetClient(ctx context.Context, url string) error {
	tg, err := target.FromFile(&target.File{GatewayURL: url}, nil)
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
	resp, err := targetclient.HTTPClient(tg).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// TestProfileAutoStalledBodyIsNotOpen: a gateway that sends 200 and then never the page is no answer to classify;
// profile auto must not call it "open (200)" and pick standalone.
func TestProfileAutoStalledBodyIsNotOpen(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	tg, err := target.FromFile(&target.File{GatewayURL: srv.URL, Profile: target.ProfileAuto}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tg.RequestTimeout = 300 * time.Millisecond
	d, err := checks.DetectProfile(context.Background(), tg)
	if err == nil {
		t.Fatalf("profile auto classified a stalled body: %s", d.Describe())
	}
	if !strings.Contains(err.Error(), "body did not arrive") {
		t.Fatalf("error %v does not say the body did not arrive", err)
	}
}
