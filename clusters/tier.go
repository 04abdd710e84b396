// Package clusters is where tiers plug in. A tier starts the stack of a server profile somewhere (embedded:
// in-process stand-ins; local: the real programs on loopback; kind: a kind cluster) and hands back what every
// other tier does: a description in the target file's schema and the live handles it cannot hold. Each tier is a
// package that registers itself here (Register, from its init); harness names each tier package once,
// and nothing else in the harness knows them.
package clusters

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Tier starts stacks of server profiles.
type Tier interface {
	// Name is what --tier and KFP_AUTHCHECK_TIER take.
	Name() string
	// Summary is one line for --help: what runs and what it needs.
	Summary() string
	// Settings are the tier's own options; the command offers each as a flag of run and serve.
	Settings() []Setting
	// Validate checks the options before anything starts; its errors are the user's to fix (exit 2).
	Validate(o Options) error
	// Plan says what Start would bring up for p without starting anything: the stack's description with
	// placeholder addresses, the handles it will have, and what it will set up. --dry-run plans with it, and a
	// test holds every tier's plan to its run.
	Plan(p *profile.Profile, o Options) (*Plan, error)
	// Start brings the stack up. A prerequisite this machine lacks is a *MissingError.
	Start(ctx context.Context, p *profile.Profile, o Options) (Stack, error)
}

// Options are what a run gives every tier.
type Options struct {
	// Listen is the gateway's listen address where the tier lets it be chosen (embedded); "" picks a free one.
	Listen string
	// Progress gets a line per program as a tier starts it; nil is quiet.
	Progress io.Writer
	// Needs are the capabilities the run's checks need, together: a tier starts only what they use (the local
	// tier's kube-apiserver). nil: every check of the catalogue may run.
	Needs []target.Capability
	// Settings are the tier's own settings by name, as given (a flag, or its environment variable).
	Settings map[string]string
}

// Setting is one option of a tier.
type Setting struct {
	Name  string
	Usage string
	// Bool settings are flags without a value ("true" when given).
	Bool bool
	// Default is the value when it is not given ("" unless said).
	Default string
}

// Get returns setting name from o, or its default.
func (o Options) Get(t Tier, name string) string {
	if v, ok := o.Settings[name]; ok {
		return v
	}
	for _, s := range t.Settings() {
		if s.Name == name {
			return s.Default
		}
	}
	return ""
}

// Plan is what a tier would start.
type Plan struct {
	// Description is the stack's description, addresses not known until start written as <...> placeholders.
	Description *target.File
	// Name names the target as the started stack's handles will ("embedded:kubeflow").
	Name string
	// Offers are the live handles the stack will have (a Kubernetes client, a movable clock).
	Offers target.Offers
	// Fixtures says, a line each, what starting the stack sets up.
	Fixtures []string
}

// Stack is a running stack on some tier.
type Stack interface {
	// Description is the stack as a target file (`serve` prints it).
	Description() *target.File
	// Handles are the live parts a description cannot hold.
	Handles() target.Handles
	Close() error
}

// Logged is a stack whose programs keep logs (the local tier): their tails go into failed results.
type Logged interface {
	LogTails(n int) string
}

// Versioned is a stack that runs programs beyond the harness: VersionList names them and their pins.
type Versioned interface {
	VersionList() string
}

// TargetOf builds the Target of a running stack: its description and handles through the one builder.
func TargetOf(s Stack) (*target.Target, error) {
	return target.New(s.Description(), s.Handles())
}

// Programs describes what runs in a stack beyond the harness.
func Programs(s Stack) string {
	if v, ok := s.(Versioned); ok {
		return v.VersionList()
	}
	return "in-process stand-ins"
}

// MissingError says a tier cannot run on this machine as it is: a program is not built, a package not installed,
// no Docker engine answers. The command maps it to exit 2 (configuration), and Fix says what to do.
type MissingError struct {
	Tier string
	What string
	Fix  string
	Err  error
}

func (e *MissingError) Error() string {
	msg := fmt.Sprintf("the %s tier needs %s", e.Tier, e.What)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Fix != "" {
		msg += " (" + e.Fix + ")"
	}
	return msg
}

func (e *MissingError) Unwrap() error { return e.Err }

// IsMissing reports whether err says a prerequisite of a tier is missing.
func IsMissing(err error) bool {
	var m *MissingError
	return errors.As(err, &m)
}

var (
	mu    sync.RWMutex
	tiers = map[string]Tier{}
)

// Register adds a tier; a tier package calls it from init. A second tier of the same name is a programming error.
func Register(t Tier) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := tiers[t.Name()]; dup {
		panic("clusters: tier " + t.Name() + " registered twice")
	}
	tiers[t.Name()] = t
}

// Names lists the registered tiers, embedded first, then by name.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(tiers))
	for n := range tiers {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i] == target.TierEmbedded) != (out[j] == target.TierEmbedded) {
			return out[i] == target.TierEmbedded
		}
		return out[i] < out[j]
	})
	return out
}

// Get returns the tier named name, or an error that lists the tiers.
func Get(name string) (Tier, error) {
	mu.RLock()
	t, ok := tiers[name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("tier %q: want one of %s (a live deployment is reached with --target)", name, strings.Join(Names(), ", "))
	}
	return t, nil
}

// All returns every registered tier in Names order.
func All() []Tier {
	var out []Tier
	for _, n := range Names() {
		t, _ := Get(n)
		out = append(out, t)
	}
	return out
}

// Placeholder is how a plan writes an address that is known only once the stack runs.
func Placeholder(what string) string { return "<" + what + ">" }
