package checks

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

type stepClock struct{}

func (stepClock) Advance(time.Duration) {}

// TestRunnerOrder: long checks start before the others, results still come back in catalogue order, and an
// exclusive check runs alone after the rest only where the target has a clock to move.
func TestRunnerOrder(t *testing.T) {
	var mu sync.Mutex
	var started []string
	mk := func(id string, long, exclusive bool) *Check {
		return &Check{ID: id, Family: "SETUP", Severity: Must, Long: long, Exclusive: exclusive,
			Run: func(context.Context, *Env) result.Result {
				mu.Lock()
				started = append(started, id)
				mu.Unlock()
				return pass("ok")
			}}
	}
	list := []*Check{mk("A", false, false), mk("B", false, true), mk("C", true, false), mk("D", false, false), mk("E", true, false)}
	for _, tc := range []struct {
		name  string
		clock target.Clock
		want  []string
	}{
		{"no clock: the exclusive check runs in its place", nil, []string{"C", "E", "A", "B", "D"}},
		{"a clock: the exclusive check runs last", stepClock{}, []string{"C", "E", "A", "D", "B"}},
	} {
		started = nil
		tg, err := target.New(&target.File{Tier: "pod", InClusterAPIURL: "http://127.0.0.1:1"}, target.Handles{Name: "t"})
		if err != nil {
			t.Fatal(err)
		}
		tg.Clock = tc.clock
		run := Run(context.Background(), tg, list, Options{Parallel: 1})
		if !slices.Equal(started, tc.want) {
			t.Errorf("%s: started %v, want %v", tc.name, started, tc.want)
		}
		var ids []string
		for _, r := range run.Results {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, []string{"A", "B", "C", "D", "E"}) {
			t.Errorf("%s: results in order %v, want catalogue order", tc.name, ids)
		}
	}
}
