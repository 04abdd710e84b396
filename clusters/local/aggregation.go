package local

import (
	"context"
	"fmt"
	"sort"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/kube"
)

// aggregator stands in for kube-controller-manager's clusterrole-aggregation controller, which a kube-apiserver
// alone does not run: without it kubeflow-edit and kubeflow-view (aggregation only, rules: []) grant nothing.
// It watches ClusterRoles through client-go and writes each aggregated role's rules back through the API, as the
// controller does; the rules are computed by mocks/kube's AggregateClusterRoles (see docs/fidelity.md: the
// verb-matrix comparison therefore covers kube-apiserver's RBAC authorizer, not the aggregation).
type aggregator struct {
	client kubernetes.Interface
	lister func() ([]*rbacv1.ClusterRole, error)
	kick   chan struct{}
	stop   context.CancelFunc
	done   chan struct{}
	// errs gets a failed background reconcile, for the stack's log tails.
	errs func(error)
}

// startAggregator starts the watch and returns once the informer has synced; stop it with close.
func startAggregator(ctx context.Context, client kubernetes.Interface, timeout time.Duration, errs func(error)) (*aggregator, error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	factory := informers.NewSharedInformerFactory(client, 0)
	inf := factory.Rbac().V1().ClusterRoles()
	a := &aggregator{client: client, kick: make(chan struct{}, 1), stop: cancel, done: make(chan struct{}), errs: errs,
		lister: func() ([]*rbacv1.ClusterRole, error) { return inf.Lister().List(labels.Everything()) }}
	notify := func(any) { a.poke() }
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: notify,
		UpdateFunc: func(_, n any) { a.poke() }, DeleteFunc: notify}); err != nil {
		cancel()
		return nil, err
	}
	factory.Start(ctx.Done())
	syncCtx, syncCancel := context.WithTimeout(ctx, timeout)
	defer syncCancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.Informer().HasSynced) {
		cancel()
		factory.Shutdown()
		return nil, fmt.Errorf("clusterrole aggregation: the ClusterRole watch did not sync within %s", timeout)
	}
	go func() {
		defer close(a.done)
		defer factory.Shutdown()
		for {
			select {
			case <-ctx.Done():
				return
			case <-a.kick:
				callCtx, callCancel := context.WithTimeout(ctx, 15*time.Second)
				if err := a.reconcile(callCtx, a.lister); err != nil && ctx.Err() == nil {
					a.errs(err)
				}
				callCancel()
			}
		}
	}()
	return a, nil
}

func (a *aggregator) poke() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// Sync aggregates from a fresh list straight from the API server, so that a caller who just created
// ClusterRoles sees them aggregated when Sync returns (the watch catches up on its own).
func (a *aggregator) Sync(ctx context.Context) error {
	return a.reconcile(ctx, func() ([]*rbacv1.ClusterRole, error) {
		l, err := a.client.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		out := make([]*rbacv1.ClusterRole, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out, nil
	})
}

// reconcile writes every aggregated ClusterRole whose rules are not yet the aggregate of its parts. A conflict
// (someone changed the role meanwhile) is retried on the event that change causes.
func (a *aggregator) reconcile(ctx context.Context, list func() ([]*rbacv1.ClusterRole, error)) error {
	cached, err := list()
	if err != nil {
		return err
	}
	roles := make([]*rbacv1.ClusterRole, len(cached))
	for i, cr := range cached {
		roles[i] = cr.DeepCopy() // the informer's objects are shared and read-only
	}
	sort.Slice(roles, func(i, j int) bool { return roles[i].Name < roles[j].Name })
	changed, err := kube.AggregateClusterRoles(roles)
	if err != nil {
		return err
	}
	for _, cr := range changed {
		if _, err := a.client.RbacV1().ClusterRoles().Update(ctx, cr, metav1.UpdateOptions{}); err != nil &&
			!apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return fmt.Errorf("clusterrole aggregation: update %s: %w", cr.Name, err)
		}
	}
	return nil
}

// close stops the watch and waits for the loop to end.
func (a *aggregator) close() error {
	a.stop()
	<-a.done
	return nil
}
