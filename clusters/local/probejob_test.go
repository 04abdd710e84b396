package local

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// TestProbeJobPassesServerSideDryRun: the probe's Job (what the kind and live tiers create in a profile
// namespace) is accepted by a real kube-apiserver's validation and admission with a server-side dry run, and
// the same Job with an invalid field is refused, so the dry run is a real check. Nothing is persisted.
func TestProbeJobPassesServerSideDryRun(t *testing.T) {
	requireTools(t, "etcd", "kube-apiserver", "kube-controller-manager")
	s := startStack(t, "standalone", Options{Kube: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := target.KubeClient(s.Kube.Kubeconfig, "", 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fx := fixtures.NewKube(client)
	ns := fx.Name("probe")
	if err := fx.Profile(ctx, ns, "owner@example.com"); err != nil {
		t.Fatal(err)
	}
	defer fx.Cleanup(context.Background())

	job, err := fixtures.ProbeJob(fx.Name("probe"), ns, "kfp-authcheck.local/kfp-authcheck:test", "http://ml-pipeline.kubeflow:8888", fx.RunID)
	if err != nil {
		t.Fatal(err)
	}
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	got, err := client.BatchV1().Jobs(ns).Create(ctx, job, dry)
	if err != nil {
		t.Fatalf("server-side dry run of the probe Job: %v", err)
	}
	if got.Spec.Template.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken.Audience != "pipelines.kubeflow.org" {
		t.Errorf("the projected token's audience did not survive: %+v", got.Spec.Template.Spec.Volumes)
	}
	if list, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 0 {
		t.Errorf("a dry run persisted something: %d jobs, %v", len(list.Items), err)
	}

	bad := job.DeepCopy()
	bad.Spec.Template.Spec.RestartPolicy = "Always" // a Job's pods may not restart forever
	if _, err := client.BatchV1().Jobs(ns).Create(ctx, bad, dry); err == nil || !strings.Contains(err.Error(), "restartPolicy") {
		t.Errorf("an invalid Job passed the dry run: %v", err)
	}
}
