package target

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// Capabilities a setup can offer. A check lists those it needs; where the target lacks one the result is n/a.
const (
	CapGateway       = "gateway"        // an auth gateway (oauth2-proxy, oidc-authservice) guards the pipeline URL
	CapDex           = "dex"            // Dex is the identity provider behind the gateway
	CapDexLocal      = "dex-local"      // Dex static passwords (the local connector) with at least one user
	CapDexLDAP       = "dex-ldap"       // Dex's LDAP connector with at least one LDAP user
	CapCookieSession = "cookie-session" // a browser login yields a gateway session cookie
	CapHTTPS         = "https"          // the gateway is served over TLS
	CapOOBClient     = "oob-client"     // a public OOB client (kubeflow-pipelines-sdk) is registered in Dex
	CapMultiUser     = "multi-user"     // KFP runs in multi-user mode
	CapClock         = "clock"          // the stack's clock can be moved forward (embedded tier only)
	CapKube          = "kube"           // a Kubernetes API (kubeconfig) to apply fixtures and mint ServiceAccount tokens
	CapInCluster     = "in-cluster"     // the KFP API is reachable without the gateway (in_cluster_api_url)
	CapM2M           = "m2m"            // the gateway accepts Kubernetes ServiceAccount tokens (Kubeflow 1.9+ kind/EKS overlays)
	CapPods          = "pods"           // pods run (a kubelet): PodDefaults, pipeline runs (kind and live only)
	CapAdmission     = "admission"      // a real kube-apiserver that runs the cluster's admission webhooks (PodDefaults) on a dry run
	CapRuns          = "runs"           // the KFP API can create runs (it has its workflow engine): not the real server on the local tier
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
	Capabilities    map[string]bool
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

// Has reports whether the target offers capability c.
func (t *Target) Has(c string) bool { return t.Capabilities[c] }

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
	for c, ok := range t.Capabilities {
		if ok {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// ProfileName is the profile's name, or "" for a target compared against no profile.
func (t *Target) ProfileName() string {
	if t.Profile == nil {
		return ""
	}
	return t.Profile.Name
}

// Getenv is how passwords named by password_env are looked up; tests replace it.
type Getenv func(string) (string, bool)

// FromFile turns a validated target file into a Target: passwords are resolved, TLS trust is built, the profile
// (if named) supplies expectations and capabilities.
func FromFile(f *File, getenv Getenv) (*Target, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	gw := strings.TrimRight(f.GatewayURL, "/")
	t := &Target{
		Name:            gw,
		Tier:            f.Tier,
		GatewayURL:      gw,
		PipelineURL:     orDefault(f.PipelineURL, gw+"/pipeline"),
		IssuerURL:       orDefault(f.IssuerURL, gw+"/dex"),
		InClusterAPIURL: f.InClusterAPIURL, InClusterUIURL: f.InClusterUIURL,
		DexGRPCAddr:    f.DexGRPCAddr,
		OOBClientID:    f.OOBClientID,
		ProbeImage:     f.ProbeImage,
		ProbeAPIURL:    f.ProbeAPIURL,
		Capabilities:   map[string]bool{},
		Redactor:       redact.New(),
		RequestTimeout: 15 * time.Second,
	}
	if t.Tier == "" {
		t.Tier = TierLive
	}
	t.AutoProfile = f.Profile == ProfileAuto
	if f.Profile != "" && f.Profile != ProfileAuto {
		p, err := profile.Get(f.Profile)
		if err != nil {
			return nil, err
		}
		t.Profile = p
	}
	tlsConf, err := buildTLS(f.TLS)
	if err != nil {
		return nil, err
	}
	t.TLS = tlsConf
	t.SkipVerify = f.TLS != nil && f.TLS.SkipVerify
	for i, us := range f.Users {
		pw, err := resolvePassword(us, getenv)
		if err != nil {
			return nil, fmt.Errorf("users[%d] (%s): %w", i, us.Email, err)
		}
		t.Redactor.Add(pw)
		t.Users = append(t.Users, User{Email: us.Email, Username: us.Username, Password: pw,
			Connector: orDefault(us.Connector, "local"), Namespace: us.Namespace})
	}
	if f.Kubeconfig != "" {
		// A kubeconfig that cannot be loaded does not stop the run (the gateway checks need none, and --dry-run
		// touches nothing): the checks that need the cluster are n/a and say why.
		t.Kubeconfig, t.Context = f.Kubeconfig, f.Context
		t.Kube, t.KubeErr = KubeClient(f.Kubeconfig, f.Context, t.RequestTimeout)
	}
	t.inferCapabilities()
	return t, nil
}

// SetProfile sets the profile to compare against (nil: none) and derives the capabilities afresh from it and
// from what the target file gave; auto-detection calls it once it has chosen.
func (t *Target) SetProfile(p *profile.Profile) {
	t.Profile = p
	t.Capabilities = map[string]bool{}
	t.inferCapabilities()
}

// KubeClient builds a client-go clientset from a kubeconfig file and context ("" for its current context);
// every request is bounded by timeout.
func KubeClient(kubeconfig, context string, timeout time.Duration) (kubernetes.Interface, error) {
	// client-go's default of 5 requests a second throttles the verb matrix (one SubjectAccessReview per row and
	// binding) into minutes; kubectl's own limits are these.
	return kubeClient(kubeconfig, context, timeout, 50, 300)
}

// KubeClientUnthrottled is KubeClient without client-side rate limiting, for an in-process stand-in that
// nobody else shares.
func KubeClientUnthrottled(kubeconfig, context string, timeout time.Duration) (kubernetes.Interface, error) {
	return kubeClient(kubeconfig, context, timeout, -1, 0)
}

func kubeClient(kubeconfig, context string, timeout time.Duration, qps float32, burst int) (kubernetes.Interface, error) {
	rc, err := KubeRESTConfig(kubeconfig, context, timeout)
	if err != nil {
		return nil, err
	}
	rc.QPS, rc.Burst = qps, burst
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

// inferCapabilities takes the profile's declared capabilities, or infers what a live target offers from its file.
func (t *Target) inferCapabilities() {
	// A deployment described by a file runs KFP with its workflow engine.
	t.Capabilities[CapRuns] = true
	if t.Profile != nil {
		for _, c := range t.Profile.Capabilities {
			t.Capabilities[c] = true
		}
		if t.Profile.MultiUser {
			t.Capabilities[CapMultiUser] = true
		}
	} else if len(t.Users) > 0 {
		// A live target with logins but no profile: assume the common Kubeflow shape and let SETUP-001 tell.
		for _, c := range []string{CapGateway, CapDex, CapCookieSession, CapMultiUser} {
			t.Capabilities[c] = true
		}
	}
	if len(t.UsersFor("local")) == 0 {
		delete(t.Capabilities, CapDexLocal)
	} else if t.Capabilities[CapDex] {
		t.Capabilities[CapDexLocal] = true
	}
	if len(t.UsersFor("ldap")) == 0 {
		delete(t.Capabilities, CapDexLDAP)
	}
	if strings.HasPrefix(t.GatewayURL, "https://") {
		t.Capabilities[CapHTTPS] = true
	} else {
		delete(t.Capabilities, CapHTTPS)
	}
	if t.OOBClientID != "" {
		t.Capabilities[CapOOBClient] = true
	}
	if t.Kube != nil {
		t.Capabilities[CapKube] = true
	} else {
		delete(t.Capabilities, CapKube)
	}
	if t.InClusterAPIURL != "" {
		t.Capabilities[CapInCluster] = true
	}
	if t.Tier == TierKind || t.Tier == TierLive {
		t.Capabilities[CapPods] = t.Kube != nil
	}
	if t.Tier == TierLive {
		// A live cluster's API server runs its own admission chain: a dry run shows what its webhooks do.
		t.Capabilities[CapAdmission] = t.Kube != nil
	}
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
		b, err := os.ReadFile(u.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("password_file: %w", err)
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
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
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
