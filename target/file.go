// Package target is the one thing every check sees: where the gateway, the pipeline API and Dex are, who can log
// in, how to trust TLS, and which capabilities the setup offers. A target comes from an embedded stack, from
// `serve`'s description, or from a target file; the file and the description share one schema.
package target

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kfp-authcheck/kfp-authcheck/internal/limits"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// File is the target file schema (YAML or JSON), which is also what `kfp-authcheck serve` writes. The keys that
// are also flags of `run` (profile <-> --profile, checks <-> --only, expected <-> --expected) are bound to them
// the Hydrophone way: the file gives the value, a flag given on the command line overrides it.
type File struct {
	// Profile is a built-in profile to compare against, "auto" to pick the one whose unauthenticated answers the
	// gateway shows, or empty to only record behaviour.
	Profile string `json:"profile,omitempty"`
	Tier    string `json:"tier,omitempty"`
	// GatewayURL is where browsers and clients reach Kubeflow. A description without one (kubeconfig required) is
	// a run of the Kubernetes-side checks alone: the login families are n/a (NoGateway).
	GatewayURL      string `json:"gateway_url,omitempty"`
	PipelineURL     string `json:"pipeline_url,omitempty"`
	IssuerURL       string `json:"issuer_url,omitempty"`
	InClusterAPIURL string `json:"in_cluster_api_url,omitempty"`
	// InClusterUIURL is ml-pipeline-ui as pods reach it (http://ml-pipeline-ui.kubeflow:80 in a cluster); SA-004
	// checks a ServiceAccount token there too.
	InClusterUIURL string     `json:"in_cluster_ui_url,omitempty"`
	DexGRPCAddr    string     `json:"dex_grpc_addr,omitempty"`
	TLS            *TLSConfig `json:"tls,omitempty"`
	Kubeconfig     string     `json:"kubeconfig,omitempty"`
	Context        string     `json:"context,omitempty"`
	Users          []UserSpec `json:"users,omitempty"`
	OOBClientID    string     `json:"oob_client_id,omitempty"`
	// InClusterAPI is the KFP API Service that `run` reaches through a client-go port-forward to one of its
	// ready pods (needs kubeconfig); it stands for in_cluster_api_url, and the two exclude each other.
	InClusterAPI *ServiceRef `json:"in_cluster_api,omitempty"`
	// ProbeImage is the in-cluster probe's image (`make image`; pushed where the cluster pulls from, by digest):
	// with it and a kubeconfig, SA-001 runs in a Job in a fixture namespace instead of from outside the cluster.
	ProbeImage string `json:"probe_image,omitempty"`
	// ProbeAPIURL is the KFP API as the probe's pod reaches it (default http://ml-pipeline.kubeflow.svc.cluster.local:8888).
	ProbeAPIURL string `json:"probe_api_url,omitempty"`
	// Checks are the check IDs, families or globs to run (as --only takes them); --only overrides the list.
	Checks []string `json:"checks,omitempty"`
	// Expected is an expected-deviation file for this deployment; --expected overrides it.
	Expected string `json:"expected,omitempty"`
	// Capabilities declares what the addresses above cannot show, either way ({runs: false} for a KFP without its
	// workflow engine, {m2m: false} for a gateway that refuses ServiceAccount tokens although the profile takes
	// them); names outside the vocabulary (`kfp-authcheck list --capabilities`) are an error.
	Capabilities profile.CapabilitySet `json:"capabilities,omitempty"`
}

// ServiceRef names a Kubernetes Service and port.
type ServiceRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Port      int    `json:"port"`
}

// ProfileAuto is the profile value that asks `run` to pick the profile from the gateway's unauthenticated answers.
const ProfileAuto = "auto"

// TLSConfig says how to trust the gateway's certificate.
type TLSConfig struct {
	SkipVerify bool   `json:"skip_verify,omitempty"`
	CAFile     string `json:"ca_file,omitempty"`
}

// UserSpec is a login as the file gives it: the password inline, from an environment variable, or from a file.
type UserSpec struct {
	Email        string `json:"email"`
	Username     string `json:"username,omitempty"`
	Password     string `json:"password,omitempty"`
	PasswordEnv  string `json:"password_env,omitempty"`
	PasswordFile string `json:"password_file,omitempty"`
	Connector    string `json:"connector,omitempty"`
	Namespace    string `json:"namespace,omitempty"`
}

// LoadFile reads and validates a target file. Relative paths inside it (ca_file, password_file, kubeconfig) are
// resolved against the file's directory.
func LoadFile(path string) (*File, error) {
	b, err := limits.ReadFile(path, "target file", limits.TargetFile)
	if err != nil {
		var tl *limits.TooLargeError
		if errors.As(err, &tl) {
			return nil, err
		}
		return nil, fmt.Errorf("target file: %w", err)
	}
	tf, err := ParseFile(b)
	if err != nil {
		return nil, fmt.Errorf("target file %s: %w", path, err)
	}
	tf.resolvePaths(filepath.Dir(path))
	// A kubeconfig named but absent is a typo to fix, not a cluster without Kubernetes access: refusing it here
	// keeps run (exit 2) and --dry-run (no fixtures promised) honest. One that exists but cannot be used is the
	// checks' to report.
	if tf.Kubeconfig != "" {
		if _, err := os.Stat(tf.Kubeconfig); err != nil {
			return nil, fmt.Errorf("target file %s: kubeconfig: %w", path, err)
		}
	}
	return tf, nil
}

// ParseFile parses YAML or JSON strictly: an unknown key is an error that names it.
func ParseFile(b []byte) (*File, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	if err := limits.CheckYAML(b); err != nil {
		return nil, err
	}
	var tf File
	if err := yaml.UnmarshalStrict(b, &tf); err != nil {
		return nil, cleanYAMLError(err)
	}
	if err := tf.Validate(); err != nil {
		return nil, err
	}
	return &tf, nil
}

// cleanYAMLError turns the decoder's wording into one line that names the offending key.
func cleanYAMLError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, `unknown field "`); i >= 0 {
		rest := msg[i+len(`unknown field "`):]
		if j := strings.Index(rest, `"`); j >= 0 {
			return fmt.Errorf("unknown key %q", rest[:j])
		}
	}
	return fmt.Errorf("not a valid target file: %s", strings.TrimPrefix(msg, "error converting YAML to JSON: "))
}

// Validate checks the file's fields without touching the network or the environment.
func (f *File) Validate() error {
	var errs []string
	if f.GatewayURL == "" {
		switch {
		case f.Kubeconfig == "":
			errs = append(errs, "gateway_url is required (without one, kubeconfig: a run of the Kubernetes-side checks only)")
		case f.Profile == ProfileAuto:
			errs = append(errs, "profile auto is chosen from the gateway's answers: without gateway_url name the profile")
		case f.PipelineURL != "" || f.IssuerURL != "":
			errs = append(errs, "pipeline_url and issuer_url are addresses behind the gateway: give gateway_url with them")
		}
	}
	for key, v := range map[string]string{"gateway_url": f.GatewayURL, "pipeline_url": f.PipelineURL,
		"issuer_url": f.IssuerURL, "in_cluster_api_url": f.InClusterAPIURL, "in_cluster_ui_url": f.InClusterUIURL} {
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Sprintf("%s %q is not an http(s) URL", key, v))
			continue
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				errs = append(errs, fmt.Sprintf("%s %q: port %s is not a TCP port (1-65535)", key, v, p))
			}
		}
	}
	if f.InClusterAPI != nil {
		s := f.InClusterAPI
		if s.Namespace == "" || s.Name == "" {
			errs = append(errs, "in_cluster_api: namespace and name are required")
		}
		if s.Port < 1 || s.Port > 65535 {
			errs = append(errs, fmt.Sprintf("in_cluster_api: port %d is not a TCP port", s.Port))
		}
		if f.InClusterAPIURL != "" {
			errs = append(errs, "give in_cluster_api (a port-forward) or in_cluster_api_url, not both")
		}
		if f.Kubeconfig == "" {
			errs = append(errs, "in_cluster_api: the port-forward needs kubeconfig")
		}
	}
	for i, c := range f.Checks {
		if strings.TrimSpace(c) == "" {
			errs = append(errs, fmt.Sprintf("checks[%d] is empty", i))
		}
	}
	if f.TLS != nil && f.TLS.SkipVerify && f.TLS.CAFile != "" {
		errs = append(errs, "tls: give skip_verify or ca_file, not both")
	}
	for i, u := range f.Users {
		n := 0
		for _, s := range []string{u.Password, u.PasswordEnv, u.PasswordFile} {
			if s != "" {
				n++
			}
		}
		if u.Email == "" {
			errs = append(errs, fmt.Sprintf("users[%d]: email is required", i))
		}
		switch {
		case n == 0 && f.GatewayURL == "":
			// Without a gateway nobody logs in: a user names a profile namespace and its owner.
		case n != 1:
			errs = append(errs, fmt.Sprintf("users[%d] (%s): give exactly one of password, password_env, password_file", i, u.Email))
		}
		switch u.Connector {
		case "", "local", "ldap":
		default:
			errs = append(errs, fmt.Sprintf("users[%d] (%s): connector %q is not local or ldap", i, u.Email, u.Connector))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func (f *File) resolvePaths(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	if f.TLS != nil {
		f.TLS.CAFile = abs(f.TLS.CAFile)
	}
	f.Kubeconfig = abs(f.Kubeconfig)
	f.Expected = abs(f.Expected)
	for i := range f.Users {
		f.Users[i].PasswordFile = abs(f.Users[i].PasswordFile)
	}
}

// Redacted returns a copy of the file safe to print or archive: inline passwords are replaced by [REDACTED];
// password_env and password_file only name where a password lives and stay.
func (f *File) Redacted() *File {
	c := *f
	if f.TLS != nil {
		tls := *f.TLS
		c.TLS = &tls
	}
	if f.InClusterAPI != nil {
		svc := *f.InClusterAPI
		c.InClusterAPI = &svc
	}
	c.Checks = append([]string(nil), f.Checks...)
	c.Users = make([]UserSpec, len(f.Users))
	for i, u := range f.Users {
		if u.Password != "" {
			u.Password = "[REDACTED]"
		}
		c.Users[i] = u
	}
	if len(c.Users) == 0 {
		c.Users = nil
	}
	return &c
}

// Marshal renders the file as indented JSON (valid YAML too), for `serve`'s description.
func (f *File) Marshal() ([]byte, error) {
	return json.MarshalIndent(f, "", "  ")
}
