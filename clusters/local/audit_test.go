package local

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/audit"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// tenants makes Profiles tenant-0 ... tenant-(n-1) (from first on; those below exist already), each owned by
// its own user, the owner of tenant-i a KFAM contributor of tenant-(i+1), at most 8 writes at a time.
func tenants(ctx context.Context, fx *fixtures.Kube, first, n int) error {
	sem := make(chan struct{}, 8)
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	for i := first; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ns := fx.Name(fmt.Sprintf("tenant-%d", i))
			err := fx.Profile(ctx, ns, fmt.Sprintf("owner-%d@example.com", i))
			if err == nil && i > 0 {
				err = fx.Contributor(ctx, ns, fmt.Sprintf("owner-%d@example.com", i-1))
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// TestAuditMatchesKubeAPIServer holds the isolation audit's in-process matrix (internal/rbaceval through
// internal/audit) to kube-apiserver's answers on the same objects: five Profiles with KFAM contributors and one
// ServiceAccount bound across namespaces by hand; every cell of the matrix (each identity, each namespace, each
// KFP request) is asked of kube-apiserver too, and any difference fails. The grants must be the four KFAM ones,
// explained, and the hand-made one, unexplained.
func TestAuditMatchesKubeAPIServer(t *testing.T) {
	requireTools(t, "etcd", "kube-apiserver")
	s := startStack(t, "standalone", Options{Kube: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fx := fixtures.NewKube(s.kube.client)
	if err := fx.Apply(ctx, fixtures.KubeflowRoles, nil); err != nil {
		t.Fatal(err)
	}
	if err := tenants(ctx, fx, 0, 5); err != nil {
		t.Fatal(err)
	}
	from, to := fx.Name("tenant-4"), fx.Name("tenant-0")
	if err := fx.Apply(ctx, fixtures.CrossNamespaceView, map[string]string{"FROM": from, "TO": to}); err != nil {
		t.Fatal(err)
	}
	if err := waitAggregated(ctx, s.kube.client); err != nil {
		t.Fatal(err)
	}
	a, err := audit.Audit(ctx, s.kube.client, audit.Options{Samples: 1 << 20, Concurrency: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d namespaces, %d identities, %d cells, %d grants (%d unexplained), %d SubjectAccessReviews in %d ms; read %d ms, evaluated %d ms",
		a.Namespaces, a.Identities, a.Cells, len(a.Grants), a.Unexplained, a.Sampled, a.ReviewMS, a.ReadMS, a.EvalMS)
	if len(a.Disagreements) > 0 {
		t.Errorf("%d of %d answers differ between the audit and kube-apiserver:\n%s", len(a.Disagreements), a.Sampled,
			strings.Join(a.Disagreements, "\n"))
	}
	explained := 0
	for _, g := range a.Grants {
		if g.Explained {
			explained++
		}
	}
	if a.Namespaces != 5 || explained != 4 || a.Unexplained != 1 || a.Sampled < a.Identities*a.Namespaces*10 {
		t.Errorf("namespaces %d, explained %d, unexplained %d, sampled %d: want 5, 4, 1 and the whole matrix\n%+v",
			a.Namespaces, explained, a.Unexplained, a.Sampled, a.Grants)
	}
}

// BenchmarkAudit is the isolation audit against the local tier's kube-apiserver (and kube-controller-manager)
// with 10, 30 and 100 Profiles (made by the benchmark, each owner a KFAM contributor of the next namespace):
// the whole matrix in process and 200 SubjectAccessReviews. It reports the cost per ordered pair of namespaces:
// in all (the reviews are a fixed cost, so it falls as pairs grow) and of the evaluation alone, which is what
// grows with the pairs and should stay flat per pair.
func BenchmarkAudit(b *testing.B) {
	dir, err := ToolsDir()
	if err == nil {
		for _, n := range []string{"etcd", "kube-apiserver", "dex", "oauth2-proxy"} {
			if _, err = tool(dir, n); err != nil {
				break
			}
		}
	}
	if err != nil {
		b.Skipf("%v", err)
	}
	p, err := profile.Get("standalone")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := Start(ctx, p, Options{Kube: true, ToolsDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var client kubernetes.Interface = s.kube.client
	fx := fixtures.NewKube(client)
	if err := fx.Apply(ctx, fixtures.KubeflowRoles, nil); err != nil {
		b.Fatal(err)
	}
	made := 0
	for _, n := range []int{10, 30, 100} {
		if err := tenants(ctx, fx, made, n); err != nil {
			b.Fatal(err)
		}
		made = n
		if err := waitAggregated(ctx, client); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			var a0 int
			var reviewMS, evalMS int64
			runs := 0
			for b.Loop() {
				a, err := audit.Audit(ctx, client, audit.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if a.Namespaces != n || a.Unexplained != 0 || len(a.Disagreements) != 0 {
					b.Fatalf("namespaces %d unexplained %d disagreements %v", a.Namespaces, a.Unexplained, a.Disagreements)
				}
				a0, reviewMS, evalMS = a.Pairs, reviewMS+a.ReviewMS, evalMS+a.EvalMS
				runs++
			}
			perOp := b.Elapsed().Seconds() / float64(runs)
			b.ReportMetric(float64(a0), "pairs")
			b.ReportMetric(perOp*1e6/float64(a0), "µs/pair")
			b.ReportMetric(float64(evalMS)/float64(runs), "eval-ms/op")
			b.ReportMetric(float64(evalMS)*1e3/float64(runs)/float64(a0), "eval-µs/pair")
			b.ReportMetric(float64(reviewMS)/float64(runs), "sar-ms/op")
		})
	}
}
