package target

import (
	"crypto/tls"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// Handles are what a running stack gives a Target beyond its description: the live objects a file cannot hold.
// A target file has none of them; every field is optional.
type Handles struct {
	// Name names the target in reports ("embedded:kubeflow"); default the gateway URL.
	Name string
	// Profile is the server profile object to compare against, where it is not a built-in one the description
	// can name (a profile file); it wins over the description's profile key.
	Profile *profile.Profile
	// Kube is a ready client for the stack's Kubernetes API; without it one is built from the description's
	// kubeconfig, where it has one.
	Kube kubernetes.Interface
	// Clock moves the stack's time forward (embedded tier).
	Clock Clock
	// TLS is the trust the stack's gateway needs; without it, it is built from the description's tls key.
	TLS *tls.Config
	// Redactor already knows the stack's secrets (admin tokens, client secrets); the users' passwords are added.
	Redactor *redact.Redactor
	// Getenv looks up password_env; default os.LookupEnv.
	Getenv Getenv
}

// Getenv is how passwords named by password_env are looked up; tests replace it.
type Getenv func(string) (string, bool)

// Offers says which live handles a planned target will have once its stack runs, so that a plan derives the same
// capabilities as the run without starting anything.
type Offers struct {
	Kube  bool
	Clock bool
}

// FromFile turns a validated target file into a Target: passwords are resolved, TLS trust is built, the profile
// (if named) supplies expectations, and the capabilities are derived (Derive).
func FromFile(f *File, getenv Getenv) (*Target, error) {
	return New(f, Handles{Getenv: getenv})
}

// New is the one Target builder: every tier hands back its description (the target file schema) and its live
// handles, and a target file is a description without handles.
func New(f *File, h Handles) (*Target, error) {
	t, err := fromDescription(f, h.Name, h.Profile)
	if err != nil {
		return nil, err
	}
	getenv := h.Getenv
	if getenv == nil {
		getenv = os.LookupEnv
	}
	if h.Redactor != nil {
		t.Redactor = h.Redactor
	}
	if h.TLS != nil {
		t.TLS = h.TLS.Clone()
	} else {
		if t.TLS, err = buildTLS(f.TLS); err != nil {
			return nil, err
		}
	}
	for i, us := range f.Users {
		if f.GatewayURL == "" && us.Password == "" && us.PasswordEnv == "" && us.PasswordFile == "" {
			continue // nobody logs in without a gateway: the user stands for a namespace
		}
		pw, err := resolvePassword(us, getenv)
		if err != nil {
			return nil, fmt.Errorf("users[%d] (%s): %w", i, us.Email, err)
		}
		t.Redactor.Add(pw)
		for _, name := range []string{us.Email, us.Username} {
			if name != "" {
				t.Redactor.AddBasic(name, pw) // a proxy may echo the Basic credentials
			}
		}
		t.Users[i].Password = pw
		if us.PasswordFile != "" && worldReadable(us.PasswordFile) {
			t.Warnings = append(t.Warnings, fmt.Sprintf("users[%d] (%s): password_file %s is readable by every user of this machine (chmod 600 it)", i, us.Email, us.PasswordFile))
		}
	}
	t.Clock = h.Clock
	switch {
	case h.Kube != nil:
		t.Kube = h.Kube
	case f.Kubeconfig != "":
		// A kubeconfig that cannot be loaded does not stop the run (the gateway checks need none, and --dry-run
		// touches nothing): the checks that need the cluster are n/a and say why.
		t.Kube, t.KubeErr = KubeClient(f.Kubeconfig, f.Context, t.RequestTimeout)
	}
	t.deriveCapabilities()
	return t, nil
}

// Planned is the Target a description would give once its stack runs with the handles offers names, built
// without resolving a password, reading a file or connecting anywhere: what --dry-run plans with.
func Planned(f *File, name string, p *profile.Profile, offers Offers) (*Target, error) {
	t, err := fromDescription(f, name, p)
	if err != nil {
		return nil, err
	}
	t.TLS = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.SkipVerify}
	t.offers = offers
	t.deriveCapabilities()
	return t, nil
}

// fromDescription copies what the description states into a Target: addresses, users (no passwords yet), the
// profile and the declared capabilities.
func fromDescription(f *File, name string, p *profile.Profile) (*Target, error) {
	gw := strings.TrimRight(f.GatewayURL, "/")
	if gw == "" && name == "" {
		name = "kubeconfig " + f.Kubeconfig
		if f.Context != "" {
			name += " (context " + f.Context + ")"
		}
	}
	t := &Target{
		Name:            orDefault(name, gw),
		Tier:            orDefault(f.Tier, TierLive),
		GatewayURL:      gw,
		InClusterAPIURL: f.InClusterAPIURL, InClusterUIURL: f.InClusterUIURL,
		DexGRPCAddr:    f.DexGRPCAddr,
		OOBClientID:    f.OOBClientID,
		ProbeImage:     f.ProbeImage,
		ProbeAPIURL:    f.ProbeAPIURL,
		Kubeconfig:     f.Kubeconfig,
		Context:        f.Context,
		Redactor:       redact.New(),
		RequestTimeout: 15 * time.Second,
		SkipVerify:     f.TLS != nil && f.TLS.SkipVerify,
		declared:       f.Capabilities,
	}
	if gw != "" {
		t.PipelineURL = orDefault(f.PipelineURL, gw+"/pipeline")
		t.IssuerURL = orDefault(f.IssuerURL, gw+"/dex")
	}
	t.AutoProfile = f.Profile == ProfileAuto && p == nil
	switch {
	case p != nil:
		t.Profile = p
	case f.Profile != "" && f.Profile != ProfileAuto:
		bp, err := profile.Get(f.Profile)
		if err != nil {
			return nil, err
		}
		t.Profile = bp
	}
	for _, us := range f.Users {
		t.Users = append(t.Users, User{Email: us.Email, Username: us.Username,
			Connector: orDefault(us.Connector, "local"), Namespace: us.Namespace})
	}
	return t, nil
}

// SetProfile sets the profile to compare against (nil: none) and derives the capabilities afresh; auto-detection
// calls it once it has chosen, and a port-forward once the in-cluster URL is known.
func (t *Target) SetProfile(p *profile.Profile) {
	t.Profile = p
	t.deriveCapabilities()
}

func (t *Target) deriveCapabilities() {
	t.Capabilities = Derive(Facts{
		Tier: t.Tier, Profile: t.Profile, GatewayURL: t.GatewayURL, InClusterAPIURL: t.InClusterAPIURL,
		OOBClientID: t.OOBClientID, Users: t.Users,
		Kube: t.Kube != nil || t.offers.Kube, Clock: t.Clock != nil || t.offers.Clock,
		Declared: t.declared,
	})
}

// Facts are what capabilities are derived from: the description, the live handles, and what the description
// declares outright.
type Facts struct {
	Tier            string
	Profile         *profile.Profile
	GatewayURL      string
	InClusterAPIURL string
	OOBClientID     string
	Users           []User
	Kube, Clock     bool
	// Declared are capabilities the description states where its addresses cannot show them (the description's
	// capabilities key): runs, admission, kube-apiserver, or one the profile offers that this stack withholds.
	Declared profile.CapabilitySet
}

// Derive is the one place a target's capabilities come from.
//   - The profile's declared capabilities where a gateway is there to offer them, and multi-user where the profile
//     runs KFP multi-user; a target with logins but no profile is assumed to have the common Kubeflow shape
//     (SETUP-001 tells).
//   - From the description: the Dex connectors its users log in through, https from the gateway's scheme, the OOB
//     client where one is named, in-cluster where the KFP API has an in-cluster URL; runs unless declared otherwise.
//   - From the handles: kube with a Kubernetes client, clock with a movable clock; pods on kind and live clusters
//     with a client, admission on live clusters with a client.
//   - Last, what the description declares, either way.
func Derive(f Facts) profile.CapabilitySet {
	caps := profile.CapabilitySet{CapRuns: true}
	has := func(connector string) bool {
		for _, u := range f.Users {
			if u.Connector == connector {
				return true
			}
		}
		return false
	}
	switch {
	case f.Profile != nil:
		if f.GatewayURL != "" {
			for _, c := range f.Profile.Capabilities {
				caps[c] = true
			}
		}
		if f.Profile.MultiUser {
			caps[CapMultiUser] = true
		}
	case len(f.Users) > 0:
		for _, c := range []Capability{CapGateway, CapDex, CapCookieSession, CapMultiUser} {
			caps[c] = true
		}
	}
	if !has("local") {
		delete(caps, CapDexLocal)
	} else if caps[CapDex] {
		caps[CapDexLocal] = true
	}
	if !has("ldap") {
		delete(caps, CapDexLDAP)
	}
	if strings.HasPrefix(f.GatewayURL, "https://") {
		caps[CapHTTPS] = true
	} else {
		delete(caps, CapHTTPS)
	}
	if f.OOBClientID != "" {
		caps[CapOOBClient] = true
	}
	if f.InClusterAPIURL != "" {
		caps[CapInCluster] = true
	}
	if f.Kube {
		caps[CapKube] = true
	}
	if f.Clock {
		caps[CapClock] = true
	}
	if f.Kube && (f.Tier == TierKind || f.Tier == TierLive) {
		caps[CapPods] = true
	}
	if f.Kube && f.Tier == TierLive {
		// A live cluster's API server runs its own admission chain: a dry run shows what its webhooks do.
		caps[CapAdmission] = true
	}
	for c, on := range f.Declared {
		if on {
			caps[c] = true
		} else {
			delete(caps, c)
		}
	}
	for c, on := range caps {
		if !on {
			delete(caps, c)
		}
	}
	return caps
}
