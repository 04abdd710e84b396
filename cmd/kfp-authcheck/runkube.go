package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// kubeRun is run --kubeconfig: a live run of the Kubernetes-side checks against the cluster of a kubeconfig,
// without a target file. It becomes a description without a gateway (target.File with kubeconfig, context, the
// profile and the in-cluster KFP API), which the one Target builder and the harness's live path take as they take
// a target file.
type kubeRun struct {
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
	// InClusterAPI is the KFP API Service as namespace/name:port, reached through a port-forward.
	InClusterAPI string `json:"in_cluster_api,omitempty"`
	// InClusterAPIURL is the KFP API at an address this machine reaches (instead of the port-forward).
	InClusterAPIURL string `json:"in_cluster_api_url,omitempty"`
	// ProfileNamespaces are NAMESPACE=OWNER pairs: Kubeflow Profiles the checks that look into users' namespaces
	// (SA-007, SA-010) and impersonate an owner (ISO-001) use, as a target file's users[].namespace.
	ProfileNamespaces []string `json:"profile_namespaces,omitempty"`
}

// defaultKFPService is the KFP API Service of every built-in profile (Kubeflow's manifests and deployKF alike:
// ml-pipeline in kubeflow, port 8888); the probe's default address names the same Service.
const defaultKFPService = "kubeflow/ml-pipeline:8888"

// defaultKubeProfile is the profile a --kubeconfig run compares against without --profile: profile auto needs a
// gateway's answers, and without a profile no multi-user check would apply.
const defaultKubeProfile = "kubeflow"

func addKubeRunFlags(f *pflag.FlagSet, k *kubeRun) {
	f.StringVar(&k.Kubeconfig, "kubeconfig", "", "without --target: run the Kubernetes-side checks (SA, RBAC, ISO) against this kubeconfig's cluster; no gateway, so the login checks are n/a")
	f.StringVar(&k.Context, "context", "", "the kubeconfig context (default: its current context); with --kubeconfig")
	f.StringVar(&k.InClusterAPI, "in-cluster-api", "", "with --kubeconfig: the KFP API Service as namespace/name:port, reached through a port-forward (default "+defaultKFPService+", the KFP API Service of every built-in profile)")
	f.StringVar(&k.InClusterAPIURL, "in-cluster-api-url", "", "with --kubeconfig: the KFP API at an address this machine reaches, instead of the port-forward")
	f.StringArrayVar(&k.ProfileNamespaces, "profile-namespace", nil, "with --kubeconfig: a Kubeflow Profile's NAMESPACE=OWNER (repeatable), for the checks that look into users' namespaces (SA-007, SA-010) or impersonate an owner (ISO-001)")
}

// bindKubeconfig turns --kubeconfig and its flags into the run's description (c.Target): no gateway, the cluster,
// the profile (--profile, default kubeflow), the in-cluster KFP API.
func (c *runConfig) bindKubeconfig(changed func(string) bool) error {
	k := &c.Kube
	if k.Kubeconfig == "" {
		for _, name := range []string{"context", "in-cluster-api", "in-cluster-api-url", "profile-namespace"} {
			if changed(name) {
				if c.TargetFile != "" && name == "context" {
					return usageErr("--context goes with --kubeconfig; a target file names its own context")
				}
				return usageErr("--%s goes with --kubeconfig", name)
			}
		}
		return nil
	}
	switch {
	case c.TargetFile != "":
		return usageErr("give --target or --kubeconfig, not both (a target file names its own kubeconfig)")
	case c.Manifests != "":
		return usageErr("--manifests runs a stack of the imported release: it takes no --kubeconfig")
	case changed("tier"):
		return usageErr("--tier starts a stack; with --kubeconfig the cluster is already running (give one or the other)")
	case k.InClusterAPI != "" && k.InClusterAPIURL != "":
		return usageErr("give --in-cluster-api (a port-forward) or --in-cluster-api-url, not both")
	}
	if _, err := os.Stat(k.Kubeconfig); err != nil {
		return usageErr("--kubeconfig: %v", err)
	}
	f := &target.File{Kubeconfig: k.Kubeconfig, Context: k.Context, InClusterAPIURL: k.InClusterAPIURL}
	for _, pn := range k.ProfileNamespaces {
		ns, owner, ok := strings.Cut(pn, "=")
		if !ok || ns == "" || owner == "" || strings.ContainsAny(owner, " \t") {
			return usageErr("--profile-namespace %q: want NAMESPACE=OWNER (the Profile's owner, e.g. team-a=alice@example.com)", pn)
		}
		f.Users = append(f.Users, target.UserSpec{Email: owner, Namespace: ns})
	}
	if k.InClusterAPIURL == "" {
		svc := orDefaultString(k.InClusterAPI, defaultKFPService)
		ref, err := parseServiceRef(svc)
		if err != nil {
			return usageErr("--in-cluster-api %q: %v", svc, err)
		}
		f.InClusterAPI = ref
		if k.InClusterAPI == "" {
			c.Sources["in_cluster_api"] = "default (" + defaultKFPService + ")"
		} else {
			c.Sources["in_cluster_api"] = "flag"
		}
	} else {
		c.Sources["in_cluster_api"] = "flag (--in-cluster-api-url)"
	}
	if len(c.Profiles) == 0 {
		c.Profiles, c.Sources["profile"] = []string{defaultKubeProfile}, "default for --kubeconfig ("+defaultKubeProfile+")"
	}
	// The profile reaches the Target as the harness's FileProfile (built-in name or profile file alike).
	if err := f.Validate(); err != nil {
		return usageErr("--kubeconfig: %v", err)
	}
	c.Target = f
	return nil
}

// parseServiceRef reads namespace/name:port.
func parseServiceRef(s string) (*target.ServiceRef, error) {
	nsName, port, ok := strings.Cut(s, ":")
	ns, name, ok2 := strings.Cut(nsName, "/")
	if !ok || !ok2 || ns == "" || name == "" {
		return nil, fmt.Errorf("want namespace/name:port (e.g. %s)", defaultKFPService)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("port %q is not a TCP port (1-65535)", port)
	}
	return &target.ServiceRef{Namespace: ns, Name: name, Port: p}, nil
}

func orDefaultString(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
