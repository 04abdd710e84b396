package timing

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestUntilBacksOffFromMilliseconds(t *testing.T) {
	rec := &Recorder{}
	ctx := With(context.Background(), rec)
	var calls []time.Time
	err := Until(ctx, 5*time.Second, func(context.Context) (bool, error) {
		calls = append(calls, time.Now())
		return len(calls) == 4, nil
	})
	if err != nil || len(calls) != 4 {
		t.Fatalf("err %v after %d calls", err, len(calls))
	}
	// 5, 10 and 20 ms (jittered by at most a fifth): well under 100 ms in all, where a fixed 100 ms poll takes 300.
	if d := calls[3].Sub(calls[0]); d > 100*time.Millisecond {
		t.Errorf("three looks again took %v", d)
	}
	if tm := rec.Timing(); tm.Waits != 1 || tm.WaitMS > 100 {
		t.Errorf("recorded %+v", tm)
	}
}

func TestUntilTimesOutAndStopsOnError(t *testing.T) {
	never := func(context.Context) (bool, error) { return false, nil }
	if err := Until(context.Background(), 30*time.Millisecond, never); !errors.Is(err, ErrTimeout) {
		t.Errorf("timeout: %v", err)
	}
	boom := errors.New("boom")
	if err := Until(context.Background(), time.Second, func(context.Context) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Until(ctx, time.Second, never); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestTransportCountsRoundTripsOfTheContextsRecorder(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	c := &http.Client{Transport: Wrap(http.DefaultTransport), Timeout: 5 * time.Second}
	rec := &Recorder{}
	for _, ctx := range []context.Context{With(context.Background(), rec), With(context.Background(), rec), context.Background()} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if tm := rec.Timing(); tm.Requests != 2 {
		t.Errorf("recorded %+v, want the 2 requests made with its context", tm)
	}
}

func TestBoundKeepsAtMostNInFlight(t *testing.T) {
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		inFlight.Add(-1)
	}))
	defer srv.Close()
	defer close(release)
	c := &http.Client{Transport: Bound(3)(http.DefaultTransport), Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := c.Get(srv.URL); err == nil {
				resp.Body.Close()
			}
		}()
	}
	// Until three are in: then no fourth may join while they are held.
	if err := Until(context.Background(), 5*time.Second, func(context.Context) (bool, error) { return inFlight.Load() == 3, nil }); err != nil {
		t.Fatal(err)
	}
	if err := Until(context.Background(), 100*time.Millisecond, func(context.Context) (bool, error) { return peak.Load() > 3, nil }); !errors.Is(err, ErrTimeout) {
		t.Fatalf("peak %d in flight, want 3", peak.Load())
	}
	for i := 0; i < 8; i++ {
		release <- struct{}{}
	}
	wg.Wait()
}

// TestBusyCountsOverlappingRoundTripsOnce: four round trips held on the wire together add up to about four times
// the time the check waited for them (request_ms); the busy time counts that stretch once, and one after another
// it is their sum.
func TestBusyCountsOverlappingRoundTripsOnce(t *testing.T) {
	const n = 4
	var arrived sync.WaitGroup
	arrived.Add(n)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("together") != "" {
			arrived.Done()
			arrived.Wait() // every request is on the wire before any answers
		}
	}))
	defer srv.Close()
	c := &http.Client{Transport: Wrap(http.DefaultTransport), Timeout: 5 * time.Second}
	get := func(ctx context.Context, query string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+query, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
	}

	together := &Recorder{}
	ctx := With(context.Background(), together)
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { get(ctx, "?together=1") })
	}
	wg.Wait()
	elapsed := time.Since(start)
	if together.busyNanos <= 0 || time.Duration(together.busyNanos) > elapsed {
		t.Errorf("busy %v for round trips that took %v together", time.Duration(together.busyNanos), elapsed)
	}
	if together.requestNanos.Load() <= together.busyNanos {
		t.Errorf("overlapping round trips summed %v, not more than the %v they kept the check busy",
			time.Duration(together.requestNanos.Load()), time.Duration(together.busyNanos))
	}

	apart := &Recorder{}
	ctx = With(context.Background(), apart)
	for range n {
		get(ctx, "")
	}
	if apart.busyNanos < apart.requestNanos.Load() {
		t.Errorf("round trips one after another: busy %v, less than their sum %v", time.Duration(apart.busyNanos),
			time.Duration(apart.requestNanos.Load()))
	}
	if tm := apart.Timing(); tm.Requests != n {
		t.Errorf("recorded %+v, want %d requests", tm, n)
	}
}
