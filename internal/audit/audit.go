// Package audit is the isolation audit of a cluster's Kubeflow profile namespaces: for every profile namespace,
// which of its identities (the default-editor and default-viewer ServiceAccounts, the Profile's owner, the
// contributors KFAM binds) can do what on KFP's resources in every other profile namespace. The matrix is
// evaluated in process from the cluster's RBAC objects with internal/rbaceval (Kubernetes' own rule comparison);
// a sample of it is asked of the cluster's SubjectAccessReviews, and any difference is reported. Every grant
// across namespaces is named with the binding that makes it; one that no RoleBinding the profile declares (a
// KFAM contributor binding, the owner's namespaceAdmin) explains is unexplained, and fails. The audit only
// reads.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/rbaceval"
	"github.com/kfp-authcheck/kfp-authcheck/internal/timing"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// ProfileLabel marks a namespace the profile controller made (it sets app.kubernetes.io/part-of=kubeflow-profile).
const ProfileLabel = "app.kubernetes.io/part-of=kubeflow-profile"

// KFPGroup is the API group KFP's SubjectAccessReviews name.
const KFPGroup = "pipelines.kubeflow.org"

// Options shape one audit; the zero value audits every profile namespace and checks 200 answers.
type Options struct {
	// Skip leaves a namespace out (the fixtures of a run in progress); nil skips none.
	Skip func(ns *corev1.Namespace) bool
	// Extra namespaces are audited as profile namespaces although they carry no profile label.
	Extra []string
	// MaxNamespaces audits only the first N profile namespaces in name order (Extra first); 0 audits all.
	MaxNamespaces int
	// Samples is how many SubjectAccessReviews check the evaluation (default 200; negative: none).
	Samples int
	// Concurrency bounds the SubjectAccessReviews in flight (default 8).
	Concurrency int
	// Settle is how long an answer that differs is asked again, with back-off from milliseconds, before it counts:
	// kube-apiserver's authorizer sees RBAC objects through informers, a moment after a list does (default 5s).
	Settle time.Duration
}

// identity is one subject of a profile namespace.
type identity struct {
	subject rbaceval.Subject
	kind    string          // default-editor, default-viewer, owner, contributor
	home    string          // the namespace it belongs to ("" for a contributor who owns none)
	homes   map[string]bool // every namespace it belongs to (an owner of several Profiles)
}

// cell is one SubjectAccessReview of the sample.
type cell struct {
	id   *identity
	ns   string
	row  fixtures.MatrixRow
	want bool
}

// Audit reads the cluster's RBAC objects and profile namespaces through kube and returns the matrix. An error
// is returned only where the cluster could not be read; findings are in the Audit.
func Audit(ctx context.Context, kube kubernetes.Interface, opts Options) (*result.Audit, error) {
	if opts.Samples == 0 {
		opts.Samples = 200
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Settle <= 0 {
		opts.Settle = 5 * time.Second
	}
	start := time.Now()
	st, err := read(ctx, kube)
	if err != nil {
		return nil, err
	}
	out := &result.Audit{ReadMS: time.Since(start).Milliseconds()}

	start = time.Now()
	namespaces := st.profileNamespaces(opts)
	out.Namespaces = len(namespaces)
	out.Pairs = len(namespaces) * (len(namespaces) - 1)
	ix := st.policy.Index()
	rows := kfpRows(st.policy.ClusterRoles)
	ids := st.identities(namespaces, ix)
	out.Identities = len(ids)
	errs := map[string]bool{}
	note := func(err error) {
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				errs[line] = true
			}
		}
	}
	// allowedRows caches which KFP requests a role's rules allow: the same few roles are bound everywhere.
	allowedCache := map[string][]fixtures.MatrixRow{}
	allowedRows := func(g rbaceval.Grant) []fixtures.MatrixRow {
		key := g.RoleRef.Kind + "/" + g.RoleRef.Name
		if g.RoleRef.Kind == "Role" {
			key = g.Namespace + "/" + key
		}
		if r, ok := allowedCache[key]; ok {
			return r
		}
		var allowed []fixtures.MatrixRow
		for _, row := range rows {
			if g.Allows(attributes("", row)) {
				allowed = append(allowed, row)
			}
		}
		allowedCache[key] = allowed
		return allowed
	}
	var samples []cell
	for _, id := range ids {
		cluster, err := ix.ClusterGrants(id.subject)
		note(err)
		for _, g := range cluster {
			if verbs := allowedRows(g); len(verbs) > 0 {
				out.Grants = append(out.Grants, grantOf(id, "*", g, verbs, false, ""))
				samples = append(samples, cell{id: id, ns: firstOther(namespaces, id), row: verbs[0], want: true})
			}
		}
		for _, ns := range namespaces {
			if id.homes[ns] {
				continue
			}
			out.Cells++
			grants, err := ix.NamespaceGrants(id.subject, ns)
			note(err)
			for _, g := range grants {
				verbs := allowedRows(g)
				if len(verbs) == 0 {
					continue
				}
				explained, why := st.explains(g, id, ns)
				out.Grants = append(out.Grants, grantOf(id, ns, g, verbs, explained, why))
				samples = append(samples, cell{id: id, ns: ns, row: verbs[0], want: true})
			}
		}
	}
	for _, g := range out.Grants {
		if !g.Explained {
			out.Unexplained++
		}
	}
	for e := range errs {
		out.Errors = append(out.Errors, e)
	}
	sort.Strings(out.Errors)
	out.EvalMS = time.Since(start).Milliseconds()

	if opts.Samples > 0 && len(ids) > 0 && len(namespaces) > 0 {
		samples = sample(samples, ids, namespaces, rows, ix, opts.Samples)
		start = time.Now()
		out.Sampled = len(samples)
		out.Disagreements, err = review(ctx, kube, samples, opts.Concurrency, opts.Settle)
		out.ReviewMS = time.Since(start).Milliseconds()
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// firstOther is a profile namespace that is not the identity's own, for a ClusterRoleBinding's sample.
func firstOther(namespaces []string, id *identity) string {
	for _, ns := range namespaces {
		if !id.homes[ns] {
			return ns
		}
	}
	return namespaces[0]
}

func grantOf(id *identity, ns string, g rbaceval.Grant, rows []fixtures.MatrixRow, explained bool, why string) result.AuditGrant {
	verbs := make([]string, len(rows))
	for i, r := range rows {
		verbs[i] = r.Verb + " " + resourceOf(r)
	}
	return result.AuditGrant{Identity: id.subject.User, Kind: id.kind, Home: id.home, Namespace: ns, Binding: g.String(),
		Verbs: verbs, Explained: explained, Explanation: why}
}

func resourceOf(r fixtures.MatrixRow) string {
	if r.Subresource != "" {
		return r.Resource + "/" + r.Subresource
	}
	return r.Resource
}

func attributes(ns string, r fixtures.MatrixRow) authzv1.ResourceAttributes {
	return authzv1.ResourceAttributes{Namespace: ns, Verb: r.Verb, Group: r.Group, Version: "v1beta1",
		Resource: r.Resource, Subresource: r.Subresource}
}

// state is what the audit read from the cluster.
type state struct {
	policy     rbaceval.Policy
	namespaces []corev1.Namespace
	owners     map[string]string // profile namespace -> owner, from the Profile or the namespace
}

// read lists the RBAC objects, the profile namespaces and the Profiles, concurrently.
func read(ctx context.Context, kube kubernetes.Interface) (*state, error) {
	st := &state{owners: map[string]string{}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	run := func(what string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("list %s: %w", what, err))
				mu.Unlock()
			}
		}()
	}
	lo := metav1.ListOptions{}
	run("clusterroles", func() error {
		l, err := kube.RbacV1().ClusterRoles().List(ctx, lo)
		if err == nil {
			st.policy.ClusterRoles = l.Items
		}
		return err
	})
	run("clusterrolebindings", func() error {
		l, err := kube.RbacV1().ClusterRoleBindings().List(ctx, lo)
		if err == nil {
			st.policy.ClusterRoleBindings = l.Items
		}
		return err
	})
	run("roles", func() error {
		l, err := kube.RbacV1().Roles("").List(ctx, lo)
		if err == nil {
			st.policy.Roles = l.Items
		}
		return err
	})
	run("rolebindings", func() error {
		l, err := kube.RbacV1().RoleBindings("").List(ctx, lo)
		if err == nil {
			st.policy.RoleBindings = l.Items
		}
		return err
	})
	run("namespaces", func() error {
		l, err := kube.CoreV1().Namespaces().List(ctx, lo)
		if err == nil {
			st.namespaces = l.Items
		}
		return err
	})
	var profiles map[string]string
	run("profiles.kubeflow.org", func() error {
		var err error
		profiles, err = readProfiles(ctx, kube)
		return err
	})
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for ns, owner := range profiles {
		st.owners[ns] = owner
	}
	return st, nil
}

// readProfiles lists the Kubeflow Profiles (kubeflow.org/v1), each namespace's owner; a cluster without the
// Profile kind has none.
func readProfiles(ctx context.Context, kube kubernetes.Interface) (map[string]string, error) {
	rc := kube.CoreV1().RESTClient()
	if rc == nil {
		return nil, nil
	}
	b, err := rc.Get().AbsPath("/apis/kubeflow.org/v1/profiles").DoRaw(ctx)
	if apierrors.IsNotFound(err) || (err != nil && strings.Contains(err.Error(), "the server could not find the requested resource")) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
			Spec     struct {
				Owner rbacv1.Subject `json:"owner"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("the Profiles: %w", err)
	}
	out := map[string]string{}
	for _, p := range list.Items {
		out[p.Metadata.Name] = p.Spec.Owner.Name
	}
	return out, nil
}

// profileNamespaces are the namespaces with the profile label or a Profile, and the extra ones, minus the
// skipped; sorted, Extra first, cut to MaxNamespaces.
func (st *state) profileNamespaces(opts Options) []string {
	sel := strings.SplitN(ProfileLabel, "=", 2)
	seen := map[string]bool{}
	byName := map[string]*corev1.Namespace{}
	for i := range st.namespaces {
		byName[st.namespaces[i].Name] = &st.namespaces[i]
	}
	var out []string
	add := func(ns string) {
		if seen[ns] {
			return
		}
		seen[ns] = true
		if n := byName[ns]; n == nil || opts.Skip == nil || !opts.Skip(n) {
			out = append(out, ns)
		}
	}
	extra := append([]string(nil), opts.Extra...)
	sort.Strings(extra)
	for _, ns := range extra {
		add(ns)
	}
	var rest []string
	for _, n := range st.namespaces {
		_, profile := st.owners[n.Name]
		if n.Labels[sel[0]] == sel[1] || profile {
			rest = append(rest, n.Name)
		}
		if o := n.Annotations["owner"]; o != "" && st.owners[n.Name] == "" {
			st.owners[n.Name] = o
		}
	}
	sort.Strings(rest)
	for _, ns := range rest {
		add(ns)
	}
	if opts.MaxNamespaces > 0 && len(out) > opts.MaxNamespaces {
		out = out[:opts.MaxNamespaces]
	}
	return out
}

// identities are each namespace's ServiceAccounts, its owner (the Profile's, the namespace's owner annotation,
// or the user the profile controller's namespaceAdmin RoleBinding names) and the contributors KFAM bound.
func (st *state) identities(namespaces []string, ix *rbaceval.Index) []*identity {
	var ids []*identity
	users := map[string]*identity{}
	user := func(name, kind, ns string, owns bool) {
		id := users[name]
		if id == nil {
			id = &identity{subject: rbaceval.Subject{User: name, Groups: []string{"system:authenticated"}}, kind: kind,
				homes: map[string]bool{}}
			users[name] = id
			ids = append(ids, id)
		}
		if owns {
			id.kind = "owner"
			id.homes[ns] = true
			if id.home == "" {
				id.home = ns
			}
		}
	}
	bindings := map[string][]rbacv1.RoleBinding{}
	for _, b := range st.policy.RoleBindings {
		bindings[b.Namespace] = append(bindings[b.Namespace], b)
	}
	for _, ns := range namespaces {
		for _, sa := range []string{"default-editor", "default-viewer"} {
			ids = append(ids, &identity{
				subject: rbaceval.Subject{User: "system:serviceaccount:" + ns + ":" + sa,
					Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}},
				kind: sa, home: ns, homes: map[string]bool{ns: true}})
		}
		owner := st.owners[ns]
		for _, b := range bindings[ns] {
			if b.Name == "namespaceAdmin" && owner == "" {
				owner = b.Annotations["user"]
			}
		}
		if owner != "" {
			user(owner, "owner", ns, true)
		}
	}
	for _, ns := range namespaces {
		for _, b := range bindings[ns] {
			if u, role := b.Annotations["user"], b.Annotations["role"]; u != "" && role != "" && b.Name != "namespaceAdmin" {
				user(u, "contributor", ns, false)
			}
		}
	}
	return ids
}

// explains says whether a RoleBinding the profile declares explains identity's grant g in ns: KFAM binds a
// contributor (and the profile controller the owner) with a RoleBinding annotated user=<email>, role=<role>
// whose one subject is that user. ServiceAccounts of other namespaces and ClusterRoleBindings are never
// explained.
func (st *state) explains(g rbaceval.Grant, id *identity, ns string) (bool, string) {
	if g.Kind != "RoleBinding" || g.Namespace != ns || strings.HasPrefix(id.subject.User, "system:serviceaccount:") {
		return false, ""
	}
	role := g.Annotations["role"]
	if g.Annotations["user"] != id.subject.User || role == "" {
		return false, ""
	}
	for _, s := range g.Subjects {
		if s.Kind != rbacv1.UserKind || s.Name != id.subject.User {
			return false, ""
		}
	}
	if g.Name == "namespaceAdmin" {
		return true, "the profile's owner binding (" + role + ")"
	}
	return true, "a KFAM contributor binding (" + role + ")"
}

// kfpRows are the KFP requests asked: every verb on every resource the cluster's and Kubeflow's
// aggregate-to-kubeflow-pipelines roles name.
func kfpRows(clusterRoles []rbacv1.ClusterRole) []fixtures.MatrixRow {
	set := map[fixtures.MatrixRow]bool{}
	shipped, _ := fixtures.KubeflowClusterRoles()
	for _, r := range append(fixtures.VerbMatrix(clusterRoles), fixtures.VerbMatrix(shipped)...) {
		if r.Group == KFPGroup {
			set[r] = true
		}
	}
	rows := make([]fixtures.MatrixRow, 0, len(set))
	for r := range set {
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].String() < rows[j].String() })
	return rows
}

// sample is the SubjectAccessReviews to send: up to half of n from the grants found, then cells spread evenly
// over identities, namespaces (their own included, where the answer is yes) and rows, each with the evaluator's
// answer.
func sample(grants []cell, ids []*identity, namespaces []string, rows []fixtures.MatrixRow, ix *rbaceval.Index, n int) []cell {
	if len(grants) > n/2 {
		stride := float64(len(grants)) / float64(n/2)
		var picked []cell
		for i := 0; i < n/2; i++ {
			picked = append(picked, grants[int(float64(i)*stride)])
		}
		grants = picked
	}
	out := grants
	total := len(ids) * len(namespaces) * len(rows)
	left := n - len(out)
	if left > total {
		left = total
	}
	for i := 0; i < left; i++ {
		k := int(uint64(i) * uint64(total) / uint64(left)) // even spread over the product
		id := ids[k%len(ids)]
		ns := namespaces[(k/len(ids))%len(namespaces)]
		row := rows[(k/len(ids)/len(namespaces))%len(rows)]
		a := attributes(ns, row)
		want, _ := ix.Review(authzv1.SubjectAccessReviewSpec{User: id.subject.User, Groups: id.subject.Groups, ResourceAttributes: &a})
		out = append(out, cell{id: id, ns: ns, row: row, want: want})
	}
	return out
}

// review asks the cluster the sample, at most concurrency at a time, and lists the answers that still differ
// after settle: those are asked again together, with back-off from milliseconds, until they agree or settle
// has passed (one window for all, so a real difference costs settle once, not once per cell).
func review(ctx context.Context, kube kubernetes.Interface, cells []cell, concurrency int, settle time.Duration) ([]string, error) {
	answers, err := ask(ctx, kube, cells, concurrency)
	if err != nil {
		return nil, err
	}
	differ := func() []cell {
		var out []cell
		for i, c := range cells {
			if answers[i].Allowed != c.want {
				out = append(out, c)
			}
		}
		return out
	}
	if left := differ(); len(left) > 0 {
		werr := timing.Until(ctx, settle, func(ctx context.Context) (bool, error) {
			again, err := ask(ctx, kube, left, concurrency)
			if err != nil {
				return false, err
			}
			cells, answers = left, again
			left = differ()
			return len(left) == 0, nil
		})
		if werr != nil && !errors.Is(werr, timing.ErrTimeout) {
			return nil, werr
		}
	}
	var diffs []string
	for i, c := range cells {
		if got := answers[i]; got.Allowed != c.want {
			diffs = append(diffs, fmt.Sprintf("%s %s in %s: evaluated allowed=%v, the cluster answered allowed=%v (%s)",
				c.id.subject.User, c.row.Verb+" "+resourceOf(c.row), c.ns, c.want, got.Allowed, got.Reason))
		}
	}
	sort.Strings(diffs)
	return diffs, nil
}

// ask sends one SubjectAccessReview per cell, at most concurrency at a time; the answers are in cells' order.
func ask(ctx context.Context, kube kubernetes.Interface, cells []cell, concurrency int) ([]authzv1.SubjectAccessReviewStatus, error) {
	answers := make([]authzv1.SubjectAccessReviewStatus, len(cells))
	errs := make([]error, len(cells))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, c := range cells {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			a := attributes(c.ns, c.row)
			sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{User: c.id.subject.User,
				Groups: c.id.subject.Groups, ResourceAttributes: &a}}
			got, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				errs[i] = fmt.Errorf("SubjectAccessReview: %w", err)
				return
			}
			answers[i] = got.Status
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first is enough: the others are likely the same trouble
		}
	}
	return answers, nil
}

// Result is the audit as one ISO-009 result: pass when every cross-namespace grant is explained and the
// cluster agrees with the evaluation on the sample.
func Result(a *result.Audit) result.Result {
	r := result.Result{ID: "ISO-009", Family: "ISO", Audit: a,
		Expected: "every cross-namespace grant on KFP's resources explained by a RoleBinding the profile declares; the cluster's SubjectAccessReviews agree"}
	var lines []string
	for _, g := range a.Grants {
		state := "UNEXPLAINED"
		if g.Explained {
			state = "explained: " + g.Explanation
		}
		lines = append(lines, fmt.Sprintf("%s (%s of %s) in %s via %s: %d KFP verbs; %s", g.Identity, g.Kind, orNone(g.Home),
			g.Namespace, g.Binding, len(g.Verbs), state))
	}
	r.Actual = fmt.Sprintf("%d profile namespaces, %d ordered pairs, %d identities, %d cross-namespace grants (%d unexplained); %d SubjectAccessReviews, %d differ",
		a.Namespaces, a.Pairs, a.Identities, len(a.Grants), a.Unexplained, a.Sampled, len(a.Disagreements))
	if len(lines) > 0 {
		r.Actual += "\n" + strings.Join(lines, "\n")
	}
	switch {
	case a.Unexplained > 0:
		r.Status, r.Reason = result.Fail, result.Unsecured
		r.Message = fmt.Sprintf("%d cross-namespace grants on KFP's resources that no RoleBinding the profile declares explains", a.Unexplained)
	case len(a.Disagreements) > 0:
		r.Status, r.Reason = result.Fail, result.K8sRBAC
		r.Message = fmt.Sprintf("the cluster's SubjectAccessReviews differ from its RBAC objects' evaluation in %d of %d: %s",
			len(a.Disagreements), a.Sampled, strings.Join(a.Disagreements, "; "))
	default:
		r.Status = result.Pass
		r.Message = fmt.Sprintf("%d cross-namespace grants over %d namespace pairs, each explained by a KFAM binding; %d SubjectAccessReviews agree",
			len(a.Grants), a.Pairs, a.Sampled)
	}
	return r
}

func orNone(s string) string {
	if s == "" {
		return "no namespace"
	}
	return s
}
