package profile

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Capability is one thing a setup can offer. A check lists those it needs; where the target lacks one the result
// is n/a. The vocabulary is closed: a profile, target file or check that names a capability outside it is an error,
// so a misspelling can never silently turn checks into n/a.
type Capability string

// The vocabulary. What a server profile may declare (Declarable) is the part that describes the deployment; the
// rest follows from what a target offers when it runs (a Kubernetes client, a movable clock, the tier).
const (
	CapGateway       Capability = "gateway"        // an auth gateway (oauth2-proxy, oidc-authservice) guards the pipeline URL
	CapDex           Capability = "dex"            // Dex is the identity provider behind the gateway
	CapDexLocal      Capability = "dex-local"      // Dex static passwords (the local connector) with at least one user
	CapDexLDAP       Capability = "dex-ldap"       // Dex's LDAP connector with at least one LDAP user
	CapCookieSession Capability = "cookie-session" // a browser login yields a gateway session cookie
	CapHTTPS         Capability = "https"          // the gateway is served over TLS
	CapOOBClient     Capability = "oob-client"     // a public OOB client (kubeflow-pipelines-sdk) is registered in Dex
	CapMultiUser     Capability = "multi-user"     // KFP runs in multi-user mode
	CapM2M           Capability = "m2m"            // the gateway accepts Kubernetes ServiceAccount tokens (Kubeflow 1.9+ kind/EKS overlays)
	CapClock         Capability = "clock"          // the stack's clock can be moved forward (embedded tier only)
	CapKube          Capability = "kube"           // a Kubernetes API (kubeconfig) to apply fixtures and mint ServiceAccount tokens
	CapKubeAPI       Capability = "kube-apiserver" // that Kubernetes API is a real kube-apiserver (local tier, kind, live)
	CapInCluster     Capability = "in-cluster"     // the KFP API is reachable without the gateway (in_cluster_api_url)
	CapPods          Capability = "pods"           // pods run (a kubelet): PodDefaults, pipeline runs (kind and live only)
	CapAdmission     Capability = "admission"      // a real kube-apiserver that runs the cluster's admission webhooks (PodDefaults) on a dry run
	CapRuns          Capability = "runs"           // the KFP API can create runs (it has its workflow engine): not the real server on the local tier
)

// vocabulary lists every capability with what it means; declarable marks those a server profile may name.
var vocabulary = []struct {
	c          Capability
	declarable bool
	doc        string
}{
	{CapGateway, true, "an auth gateway (oauth2-proxy, oidc-authservice) guards the pipeline URL"},
	{CapDex, true, "Dex is the identity provider behind the gateway"},
	{CapDexLocal, true, "Dex static passwords (the local connector) with at least one user"},
	{CapDexLDAP, true, "Dex's LDAP connector with at least one LDAP user"},
	{CapCookieSession, true, "a browser login yields a gateway session cookie"},
	{CapHTTPS, true, "the gateway is served over TLS"},
	{CapOOBClient, true, "a public OOB client (kubeflow-pipelines-sdk) is registered in Dex"},
	{CapMultiUser, true, "KFP runs in multi-user mode"},
	{CapM2M, true, "the gateway accepts Kubernetes ServiceAccount tokens (Kubeflow 1.9+ kind/EKS overlays)"},
	{CapClock, false, "the stack's clock can be moved forward (embedded tier only)"},
	{CapKube, false, "a Kubernetes API (kubeconfig) to apply fixtures and mint ServiceAccount tokens"},
	{CapKubeAPI, false, "that Kubernetes API is a real kube-apiserver"},
	{CapInCluster, false, "the KFP API is reachable without the gateway (in_cluster_api_url)"},
	{CapPods, false, "pods run (a kubelet): PodDefaults, pipeline runs"},
	{CapAdmission, false, "a real kube-apiserver runs the cluster's admission webhooks on a dry run"},
	{CapRuns, false, "the KFP API can create runs (it has its workflow engine)"},
}

// CapabilityDoc is one entry of the vocabulary, for `kfp-authcheck list --capabilities` and the docs.
type CapabilityDoc struct {
	Name       Capability `json:"name"`
	Declarable bool       `json:"declarable"`
	Doc        string     `json:"doc"`
}

// Vocabulary returns every capability in a stable order.
func Vocabulary() []CapabilityDoc {
	out := make([]CapabilityDoc, 0, len(vocabulary))
	for _, v := range vocabulary {
		out = append(out, CapabilityDoc{Name: v.c, Declarable: v.declarable, Doc: v.doc})
	}
	return out
}

// ParseCapability returns the capability named s, or an error that lists the vocabulary.
func ParseCapability(s string) (Capability, error) {
	for _, v := range vocabulary {
		if string(v.c) == s {
			return v.c, nil
		}
	}
	return "", fmt.Errorf("unknown capability %q (known: %s)", s, strings.Join(capabilityNames(false), ", "))
}

// Declarable reports whether a server profile may declare c.
func (c Capability) Declarable() bool {
	for _, v := range vocabulary {
		if v.c == c {
			return v.declarable
		}
	}
	return false
}

func capabilityNames(declarableOnly bool) []string {
	var out []string
	for _, v := range vocabulary {
		if !declarableOnly || v.declarable {
			out = append(out, string(v.c))
		}
	}
	sort.Strings(out)
	return out
}

// UnmarshalJSON accepts only a capability of the vocabulary.
func (c *Capability) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a capability is a string: %w", err)
	}
	v, err := ParseCapability(s)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// CapabilitySet is a set of capabilities that reads and writes as a JSON object of booleans
// ({"runs": false, "admission": true}), each key checked against the vocabulary.
type CapabilitySet map[Capability]bool

// UnmarshalJSON checks every key against the vocabulary.
func (s *CapabilitySet) UnmarshalJSON(b []byte) error {
	var raw map[string]bool
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("capabilities: want a map of capability to true or false: %w", err)
	}
	out := CapabilitySet{}
	for k, v := range raw {
		c, err := ParseCapability(k)
		if err != nil {
			return fmt.Errorf("capabilities: %w", err)
		}
		out[c] = v
	}
	*s = out
	return nil
}

// List returns the capabilities set to true, sorted.
func (s CapabilitySet) List() []Capability {
	var out []Capability
	for c, ok := range s {
		if ok {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
