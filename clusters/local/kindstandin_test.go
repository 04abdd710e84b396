package local

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/kind"
	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// TestKindKFPStandInOnKubeAPIServer proves the kind tier's KFP API without Docker: its manifest (namespace,
// ServiceAccount, the TokenReview/SubjectAccessReview ClusterRole and binding, the Deployment and the Service),
// and the PodDefault webhook stand-in's, are created for real on the local tier's kube-apiserver, which validates every object; no controller-manager
// runs here, so waiting for the Deployment ends at its deadline with the pods' state in the error; and the
// stand-in as `kfp-standin` assembles it, authorizing against that kube-apiserver, passes the SA checks and
// ISO-001 as a Target that reaches it the way the kind tier does (its address plus the admin kubeconfig).
func TestKindKFPStandInOnKubeAPIServer(t *testing.T) {
	requireTools(t, "etcd", "kube-apiserver", "kube-controller-manager")
	s := startStack(t, "kubeflow", Options{Kube: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := s.kube.client

	objs, err := kind.Objects("kind-kfp-standin.yaml", map[string]string{"IMAGE": "kfp-authcheck.local/kfp-authcheck:test", "PROFILE": "kubeflow"})
	if err != nil {
		t.Fatal(err)
	}
	if err := kind.CreateObjects(ctx, client, objs, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the kind tier's KFP manifest on kube-apiserver: %v", err)
	}
	d, err := client.AppsV1().Deployments(kind.KFPNamespace).Get(ctx, kind.KFPService, metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Args[3] != "kubeflow" {
		t.Fatalf("the Deployment as stored: %v", err)
	}
	// The PodDefault webhook stand-in's manifest too (its Secret is made by the code, not the manifest).
	hook, err := kind.Objects("kind-poddefault-webhook.yaml", map[string]string{"IMAGE": "kfp-authcheck.local/kfp-authcheck:test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := kind.CreateObjects(ctx, client, hook, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the kind tier's PodDefault webhook manifest on kube-apiserver: %v", err)
	}
	err = kind.WaitAvailable(ctx, client, kind.KFPNamespace, kind.KFPService, 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "not available within 2s: no pod was created") {
		t.Errorf("waiting without a controller-manager: %v", err)
	}

	h, err := components.InClusterKFP(s.Profile, client, false, "test")
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Close()

	tg := &target.Target{Name: "kind-standin", Tier: target.TierKind, Profile: s.Profile, InClusterAPIURL: "http://" + lis.Addr().String(),
		Capabilities: target.CapabilitySet{target.CapMultiUser: true, target.CapKube: true, target.CapInCluster: true, target.CapRuns: true},
		Redactor:     redact.New(), RequestTimeout: 15 * time.Second, Kube: client, Kubeconfig: s.Kube.Kubeconfig}
	for _, u := range s.Profile.Users { // as the kind tier's Target has them: namespaces, no passwords
		tg.Users = append(tg.Users, target.User{Email: u.Email, Connector: u.Connector, Namespace: u.Namespace})
	}
	env := checks.NewEnv(tg)
	for _, id := range []string{"SA-001", "SA-005", "SA-010", "RBAC-002", "ISO-001", "ISO-006"} {
		c, ok := checks.Get(id)
		if !ok {
			t.Fatalf("no check %s", id)
		}
		if r := checks.RunOne(ctx, env, c, time.Minute); r.Status != result.Pass {
			t.Errorf("%s against the kind tier's stand-in on kube-apiserver: %s %s (%s)", id, r.Status, r.Reason, r.Message)
		}
	}
	if fc := env.CloseFixtures(); fc != nil && fc.Error != "" {
		t.Errorf("fixtures: %s", fc.Error)
	}
}
