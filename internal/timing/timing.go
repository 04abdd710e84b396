// Package timing says where a check's time goes: a Recorder carried in the context counts the round trips an
// instrumented http.RoundTripper makes for it and the time Until spends waiting for the cluster to settle; and
// Until is that wait, with back-off from milliseconds, never a fixed interval.
package timing

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// Recorder adds up one check's round trips and waits; safe for concurrent use, and a nil Recorder records
// nothing.
type Recorder struct {
	requests, requestNanos atomic.Int64
	waits, waitNanos       atomic.Int64

	// busy: the time at least one round trip was in flight (concurrent round trips count once).
	mu        sync.Mutex
	inFlight  int
	busySince time.Time
	busyNanos int64
}

type key struct{}

// With returns ctx carrying r: the round trips and waits made with it are r's.
func With(ctx context.Context, r *Recorder) context.Context { return context.WithValue(ctx, key{}, r) }

// From is the Recorder ctx carries, or nil.
func From(ctx context.Context) *Recorder {
	r, _ := ctx.Value(key{}).(*Recorder)
	return r
}

// Request records one round trip of d.
func (r *Recorder) Request(d time.Duration) {
	if r != nil {
		r.requests.Add(1)
		r.requestNanos.Add(int64(d))
	}
}

// Start marks a round trip on the wire until the returned function is called, for the busy time; a nil Recorder
// returns a function that does nothing.
func (r *Recorder) Start() (done func()) {
	if r == nil {
		return func() {}
	}
	r.mu.Lock()
	if r.inFlight == 0 {
		r.busySince = time.Now()
	}
	r.inFlight++
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.inFlight--
		if r.inFlight == 0 {
			r.busyNanos += int64(time.Since(r.busySince))
		}
	}
}

// Wait records one wait of d.
func (r *Recorder) Wait(d time.Duration) {
	if r != nil {
		r.waits.Add(1)
		r.waitNanos.Add(int64(d))
	}
}

// Timing is what r recorded, for a check's result; nil for a nil Recorder.
func (r *Recorder) Timing() *result.Timing {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	busy := r.busyNanos
	if r.inFlight > 0 {
		busy += int64(time.Since(r.busySince))
	}
	r.mu.Unlock()
	return &result.Timing{Requests: int(r.requests.Load()), RequestMS: r.requestNanos.Load() / 1e6, BusyMS: busy / 1e6,
		Waits: int(r.waits.Load()), WaitMS: r.waitNanos.Load() / 1e6}
}

// Transport counts every round trip against the Recorder of the request's context.
type Transport struct{ Base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := From(req.Context())
	done := rec.Start()
	start := time.Now()
	resp, err := t.Base.RoundTrip(req)
	rec.Request(time.Since(start))
	done()
	return resp, err
}

// Wrap is a client-go rest.Config's WrapTransport that instruments a Kubernetes client.
func Wrap(rt http.RoundTripper) http.RoundTripper { return Transport{Base: rt} }

// Bound returns a WrapTransport that lets at most n requests of the wrapped client be on the wire at once; a
// request waits for a slot no longer than its context lets it.
func Bound(n int64) func(http.RoundTripper) http.RoundTripper {
	sem := semaphore.NewWeighted(n)
	return func(rt http.RoundTripper) http.RoundTripper { return bounded{rt: rt, sem: sem} }
}

type bounded struct {
	rt  http.RoundTripper
	sem *semaphore.Weighted
}

func (b bounded) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := b.sem.Acquire(req.Context(), 1); err != nil {
		return nil, err
	}
	defer b.sem.Release(1)
	return b.rt.RoundTrip(req)
}

// ErrTimeout is Until's error when cond never held within its timeout.
var ErrTimeout = errors.New("timed out waiting for the condition")

// FirstDelay and MaxDelay bound Until's back-off: the first look again comes after milliseconds, and the delay
// doubles up to MaxDelay.
const (
	FirstDelay = 5 * time.Millisecond
	MaxDelay   = 250 * time.Millisecond
)

// Until calls cond at once and then with exponential back-off (FirstDelay doubling up to MaxDelay, jittered)
// until it reports true, returns an error, or timeout passes (ErrTimeout); ctx's end returns ctx's error. The
// time spent counts as a wait of ctx's Recorder.
func Until(ctx context.Context, timeout time.Duration, cond func(context.Context) (bool, error)) error {
	return UntilMax(ctx, timeout, MaxDelay, cond)
}

// UntilMax is Until with the back-off capped at maxDelay instead of MaxDelay, for a wait that is known to be
// long (a pod's image pull) and should not look too often.
func UntilMax(ctx context.Context, timeout, maxDelay time.Duration, cond func(context.Context) (bool, error)) error {
	start := time.Now()
	defer func() { From(ctx).Wait(time.Since(start)) }()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b := wait.Backoff{Duration: min(FirstDelay, maxDelay), Factor: 2, Jitter: 0.2, Steps: math.MaxInt32, Cap: maxDelay}
	for {
		ok, err := cond(wctx)
		if ok {
			return nil
		}
		if err != nil && wctx.Err() == nil {
			return err
		}
		t := time.NewTimer(b.Step())
		select {
		case <-wctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return ErrTimeout
		case <-t.C:
		}
	}
}
