package target

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kfp-authcheck/kfp-authcheck/internal/limits"
	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/internal/timing"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// Capability is one thing a setup can offer, from the closed vocabulary of package profile. A check lists those it
// needs; where the target lacks one the result is n/a.
type Capability = profile.Capability

// CapabilitySet is a set of capabilities.
type CapabilitySet = profile.CapabilitySet

// The vocabulary, as checks name it (profile/capability.go says what each means).
const (
	CapGateway       = profile.CapGateway
	CapDex           = profile.CapDex
	CapDexLocal      = profile.CapDexLocal
	CapDexLDAP       = profile.CapDexLDAP
	CapCookieSession = profile.CapCookieSession
	CapHTTPS         = profile.CapHTTPS
	CapOOBClient     = profile.CapOOBClient
	CapMultiUser     = profile.CapMultiUser
	CapM2M           = profile.CapM2M
	CapClock         = profile.CapClock
	CapKube          = profile.CapKube
	CapKubeAPI       = profile.CapKubeAPI
	CapInCluster     = profile.CapInCluster
	CapPods          = profile.CapPods
	CapAdmission     = profile.CapAdmission
	CapRuns          = profile.CapRuns
)

// Tiers.
const (
	TierEmbedded = "embedded"
	TierLocal    = "local"
	TierKind     = "kind"
	TierLive     = "live"
)

// Target is what every check sees.
type Target struct {
	Name            string
	Tier            string
	Profile         *profile.Profile // the expectations to compare with; nil for a live target of unknown kind
	GatewayURL      string
	PipelineURL     string
	IssuerURL       string
	InClusterAPIURL string
	InClusterUIURL  string
	DexGRPCAddr     string
	TLS             *tls.Config
	SkipVerify      bool
	Users           []User
	OOBClientID     string
	Capabilities    profile.CapabilitySet
	// Redactor knows every secret of this target; evidence and messages pass through it.
	Redactor *redact.Redactor
	// RequestTimeout bounds each HTTP request a check makes.
	RequestTimeout time.Duration
	// Clock moves the stack's time forward, where the tier can (embedded); nil elsewhere.
	Clock Clock
	// AutoProfile is true when the file asked for profile auto: the profile is chosen from the gateway's answers
	// before the checks run (checks.DetectProfile), and Profile is nil until then.
	AutoProfile bool
	// Kube is a client for the cluster (fixtures, TokenRequest), built from Kubeconfig and Context; nil
	// where the target has no kubeconfig.
	Kube       kubernetes.Interface
	Kubeconfig string
	Context    string
	// KubeErr says why Kube could not be built from the kubeconfig; nil when it was, or none was given.
	KubeErr error
	// ProbeImage and ProbeAPIURL run the pod-side checks in a Job (see File.ProbeImage); empty: not in pods.
	ProbeImage, ProbeAPIURL string
	// InClusterErr says why the port-forward to the file's in_cluster_api failed; the checks that need the
	// in-cluster API are errors with its reason instead of running.
	InClusterErr error
	// Warnings are what building the target noticed and the user should hear before the run (a password_file
	// other users can read); the harness prints them.
	Warnings []string

	// declared are the description's declared capabilities, offers the handles a planned target will have: both
	// feed Derive again when the profile changes.
	declared profile.CapabilitySet
	offers   Offers
}

// Clock is a stack clock that checks may move forward to expire tokens and sessions without waiting.
type Clock interface {
	Advance(d time.Duration)
}

// User is a login with its password resolved.
type User struct {
	Email     string
	Username  string
	Password  string
	Connector string
	Namespace string
}

// LoginName is what the user types into Dex's form: the username where it differs (LDAP), else the email.
func (u User) LoginName() string {
	if u.Username != "" && u.Connector == "ldap" {
		return u.Username
	}
	return u.Email
}

// NoGatewayReason is the n/a of the checks that need a gateway on a description without one: a run of the
// Kubernetes-side checks alone (run --kubeconfig, or a target file with kubeconfig and no gateway_url).
const NoGatewayReason = "no gateway: run with --target to check logins"

// NoGateway reports whether the description names no gateway: nothing is sent through one, so the login, cookie,
// OOB and gateway families are n/a.
func (t *Target) NoGateway() bool { return t.GatewayURL == "" }

// ProfileNamespaces are the namespaces the target's users work in (users[].namespace), sorted, each once.
func (t *Target) ProfileNamespaces() []string {
	var out []string
	for _, u := range t.Users {
		if u.Namespace != "" && !slices.Contains(out, u.Namespace) {
			out = append(out, u.Namespace)
		}
	}
	slices.Sort(out)
	return out
}

// Has reports whether the target offers capability c.
func (t *Target) Has(c Capability) bool { return t.Capabilities[c] }

// UsersFor returns the users that log in through connector c.
func (t *Target) UsersFor(c string) []User {
	var out []User
	for _, u := range t.Users {
		if u.Connector == c {
			out = append(out, u)
		}
	}
	return out
}

// CapabilityList lists the capabilities in a stable order, for printing.
func (t *Target) CapabilityList() []string {
	var out []string
	for _, c := range t.Capabilities.List() {
		out = append(out, string(c))
	}
	return out
}

// ProfileName is the profile's name, or "" for a target compared against no profile.
func (t *Target) ProfileName() string {
	if t.Profile == nil {
		return ""
	}
	return t.Profile.Name
}

// KubeClient builds a client-go clientset from a kubeconfig file and context ("" for its current context);
// every request is bounded by timeout.
func KubeClient(kubeconfig, context string, timeout time.Duration) (kubernetes.Interface, error) {
	// A rate limit (client-go's 5 a second, kubectl's 50 with a burst of 300) left a whole live run idle once the
	// burst was spent: 627 requests, two thirds of the wall time waiting on the client's own token bucket. The
	// client bounds what it has in flight instead, as kube-apiserver's priority and fairness counts load.
	return kubeClient(kubeconfig, context, timeout, -1, 0, false)
}

// KubeClientUnthrottled is KubeClient without client-side rate limiting, for an in-process stand-in that
// nobody else shares.
func KubeClientUnthrottled(kubeconfig, context string, timeout time.Duration) (kubernetes.Interface, error) {
	return kubeClient(kubeconfig, context, timeout, -1, 0, true)
}

// kubeInFlight bounds the requests KubeClient has on the wire at once.
const kubeInFlight = 32

func kubeClient(kubeconfig, context string, timeout time.Duration, qps float32, burst int, unbounded bool) (kubernetes.Interface, error) {
	rc, err := KubeRESTConfig(kubeconfig, context, timeout)
	if err != nil {
		return nil, err
	}
	rc.QPS, rc.Burst = qps, burst
	rc.Wrap(timing.Wrap) // each check's round trips to the cluster count in its timing
	if qps < 0 && burst == 0 && !unbounded {
		rc.Wrap(timing.Bound(kubeInFlight))
	}
	k, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	return k, nil
}

// KubeRESTConfig loads a kubeconfig file and context ("" for its current context) as client-go's REST
// configuration (what a port-forward dials with); every request is bounded by timeout.
func KubeRESTConfig(kubeconfig, context string, timeout time.Duration) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	rc.Timeout = timeout
	rc.UserAgent = "kfp-authcheck"
	return rc, nil
}

// namedErr prefixes err with the key it concerns, unless it names it already (a limit's error does).
func namedErr(key string, err error) error {
	var tl *limits.TooLargeError
	if errors.As(err, &tl) {
		return err
	}
	return fmt.Errorf("%s: %w", key, err)
}

// worldReadable says whether others than the owner's group can read the file at path (its mode has o+r).
func worldReadable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().Perm()&0o004 != 0
}

func resolvePassword(u UserSpec, getenv Getenv) (string, error) {
	switch {
	case u.Password != "":
		return u.Password, nil
	case u.PasswordEnv != "":
		v, ok := getenv(u.PasswordEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("password_env %s is not set", u.PasswordEnv)
		}
		return v, nil
	case u.PasswordFile != "":
		b, err := limits.ReadFile(u.PasswordFile, "password_file", limits.PasswordFile)
		if err != nil {
			return "", namedErr("password_file", err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("password_file %s is empty", u.PasswordFile)
		}
		return v, nil
	}
	return "", fmt.Errorf("no password given")
}

func buildTLS(c *TLSConfig) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if c == nil {
		return conf, nil
	}
	if c.SkipVerify {
		conf.InsecureSkipVerify = true // the user asked for it; SETUP-003 reports it as a warn
	}
	if c.CAFile != "" {
		pem, err := limits.ReadFile(c.CAFile, "tls.ca_file", limits.CAFile)
		if err != nil {
			return nil, namedErr("tls.ca_file", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s holds no PEM certificate", c.CAFile)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return strings.TrimRight(v, "/")
}

// Origin returns scheme://host of a URL, for building gateway paths.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

// Redact scrubs every secret this target knows (and every token-shaped string) from a result.
func (t *Target) Redact(r *result.Result) {
	if t.Redactor == nil {
		return
	}
	r.Message = t.Redactor.String(r.Message)
	r.Expected = t.Redactor.String(r.Expected)
	r.Actual = t.Redactor.String(r.Actual)
	for i := range r.Evidence {
		e := &r.Evidence[i]
		e.URL = t.Redactor.URL(e.URL)
		e.Location = t.Redactor.URL(e.Location)
		e.Note = t.Redactor.String(e.Note)
		for k, v := range e.Headers {
			e.Headers[k] = t.Redactor.Header(k, v)
		}
	}
}
