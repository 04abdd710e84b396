package checks

import (
	"context"
	"fmt"
	"strings"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kfp-authcheck/kfp-authcheck/auth/satoken"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// The profile-namespace checks look at the namespaces the target's users work in, as they are: they create
// nothing there (SA-007's pods are server-side dry runs, SA-010 asks SubjectAccessReviews), except on a kind
// cluster the harness started, where SA-007 also runs one real Job pod that gets KFP's token only from the
// PodDefault (labelled with the run, deleted after).
func init() {
	register(&Check{ID: "SA-007", Family: "SA", Severity: Must,
		Needs: []target.Capability{target.CapMultiUser, target.CapKube, target.CapAdmission},
		Title: "every profile namespace has a PodDefault that projects KFP's token, and it mutates StatefulSet (Notebook), Deployment and Job pods",
		References: []string{"kubeflow#6507", "kubeflow#5842", "kubeflow PR#6052", "canonical#1066", "plural#144",
			"deployKF#188"},
		Applies: needsProfileNamespace, Run: checkPodDefaultMutation})
	register(&Check{ID: "SA-010", Family: "SA", Severity: Must, Needs: []target.Capability{target.CapMultiUser, target.CapKube},
		Title:      "each profile namespace's default-editor has the runtime RBAC pipeline pods need (pods get/watch/patch, pods/log, workflowtaskresults)",
		References: []string{"deployKF#186"},
		Applies:    needsProfileNamespace,
		Run:        checkProfileRuntimeRBAC})
}

// needsProfileNamespace is the Applies of the checks that look into the users' profile namespaces.
func needsProfileNamespace(t *target.Target) *Inapplicable {
	if len(t.ProfileNamespaces()) == 0 {
		return &Inapplicable{Reason: result.ConfigError, Message: "no user of the target names a profile namespace (users[].namespace in the target file)"}
	}
	return nil
}

// workloadPods are pods shaped as the controllers of a Notebook's StatefulSet, a Deployment and a Job create
// them: the names, generated names and labels those controllers give, no namespace in the body (the request's
// is used: kubeflow PR#6052), default-editor, and a security context the restricted Pod Security level admits.
func workloadPods(labels map[string]string) map[string]*corev1.Pod {
	mk := func(name, generate string, own map[string]string, restart corev1.RestartPolicy) *corev1.Pod {
		l := map[string]string{}
		for k, v := range labels {
			l[k] = v
		}
		for k, v := range own {
			l[k] = v
		}
		no, yes := false, true
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, GenerateName: generate, Labels: l},
			Spec: corev1.PodSpec{
				ServiceAccountName: "default-editor",
				RestartPolicy:      restart,
				SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes,
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10",
					SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no,
						Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
			},
		}
	}
	return map[string]*corev1.Pod{
		"StatefulSet": mk("kfp-authcheck-nb-0", "", map[string]string{"statefulset": "kfp-authcheck-nb",
			"notebook-name": "kfp-authcheck-nb", "statefulset.kubernetes.io/pod-name": "kfp-authcheck-nb-0"}, corev1.RestartPolicyAlways),
		"Deployment": mk("", "kfp-authcheck-deploy-5d9c7b6f8-", map[string]string{"pod-template-hash": "5d9c7b6f8"}, corev1.RestartPolicyAlways),
		"Job": mk("", "kfp-authcheck-job-", map[string]string{"job-name": "kfp-authcheck-job",
			"batch.kubernetes.io/job-name": "kfp-authcheck-job"}, corev1.RestartPolicyNever),
	}
}

// workloadOrder is the order the kinds are reported in.
var workloadOrder = []string{"StatefulSet", "Deployment", "Job"}

// tokenPodDefault is the first PodDefault that projects a token with KFP's audience and sets
// KF_PIPELINES_SA_TOKEN_PATH: any name will do (Kubeflow's access-ml-pipeline, deployKF's
// kubeflow-pipelines-api-token, a distribution's own).
func tokenPodDefault(pds []fixtures.PodDefault) *fixtures.PodDefault {
	for i := range pds {
		pd := &pds[i]
		hasEnv := false
		for _, e := range pd.Spec.Env {
			hasEnv = hasEnv || e.Name == satoken.EnvTokenPath
		}
		for _, v := range pd.Spec.Volumes {
			if hasEnv && projectsKFPToken(v) != "" {
				return pd
			}
		}
	}
	return nil
}

// projectsKFPToken is the file name a volume projects a pipelines.kubeflow.org token to, or "".
func projectsKFPToken(v corev1.Volume) string {
	if v.Projected == nil {
		return ""
	}
	for _, src := range v.Projected.Sources {
		if t := src.ServiceAccountToken; t != nil && t.Audience == satoken.Audience {
			return t.Path
		}
	}
	return ""
}

// tokenMountProblem says what the admitted pod lacks for the SDK to find KFP's token, or "" when nothing.
func tokenMountProblem(pod *corev1.Pod) string {
	vol, file := "", ""
	for _, v := range pod.Spec.Volumes {
		if f := projectsKFPToken(v); f != "" {
			vol, file = v.Name, f
		}
	}
	if vol == "" {
		return "no projected token volume with audience " + satoken.Audience
	}
	if len(pod.Spec.Containers) == 0 {
		return "no container"
	}
	c := pod.Spec.Containers[0]
	mount := ""
	for _, m := range c.VolumeMounts {
		if m.Name == vol {
			mount = m.MountPath
		}
	}
	if mount == "" {
		return "volume " + vol + " is not mounted in the container"
	}
	want := strings.TrimSuffix(mount, "/") + "/" + file
	for _, e := range c.Env {
		if e.Name == satoken.EnvTokenPath {
			if e.Value != want {
				return fmt.Sprintf("%s is %q, the token is at %q", satoken.EnvTokenPath, e.Value, want)
			}
			return ""
		}
	}
	return "no " + satoken.EnvTokenPath + " in the container's env"
}

// checkPodDefaultMutation is SA-007: in each profile namespace, a PodDefault projects KFP's token, and a pod of
// each workload kind that carries its selector's labels is admitted with the volume, the mount and the env. The
// pods are server-side dry runs: the API server runs its whole admission chain, the webhook included, and
// persists nothing, so no image is pulled and nothing is left behind. On kind (realPods) a real Job pod follows,
// so the kubelet's projected token is what the SDK finds.
func checkPodDefaultMutation(ctx context.Context, env *Env) result.Result {
	namespaces := env.Target.ProfileNamespaces()
	kube := env.Target.Kube
	rc := kube.Discovery().RESTClient()
	const want = "a PodDefault projecting KFP's token in every profile namespace, applied to StatefulSet, Deployment and Job pods"
	var seen []string
	for _, ns := range namespaces {
		pds, err := fixtures.ListPodDefaults(ctx, rc, ns)
		if apierrors.IsNotFound(err) {
			actual := "the cluster serves no PodDefault kind (kubeflow.org/v1alpha1)"
			return expecting(fail(result.PodDefaultMissing, "%s: Kubeflow's admission-webhook is not installed", actual), want, actual)
		}
		if err != nil {
			return errorf(reasonOf(err), "listing PodDefaults in %s: %v", ns, err)
		}
		pd := tokenPodDefault(pds)
		if pd == nil {
			actual := fmt.Sprintf("%s holds %d PodDefault(s), none projects a token with audience %s and sets %s",
				ns, len(pds), satoken.Audience, satoken.EnvTokenPath)
			return expecting(fail(result.PodDefaultMissing, "%s: the SDK in its notebooks proceeds without credentials (pipelines#8087)", actual), want, actual)
		}
		if len(pd.Spec.Selector.MatchExpressions) > 0 {
			return errorf(result.NotSupported, "PodDefault %s/%s selects with matchExpressions; SA-007 builds pods from matchLabels only", ns, pd.Name)
		}
		pods := workloadPods(pd.Spec.Selector.MatchLabels)
		var problems []string
		for _, kind := range workloadOrder {
			got, err := kube.CoreV1().Pods(ns).Create(ctx, pods[kind], metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				if strings.Contains(err.Error(), "webhook") {
					problems = append(problems, fmt.Sprintf("%s pod refused by an admission webhook: %v", kind, err))
					continue
				}
				return errorf(reasonOf(err), "dry-run create of a %s pod in %s: %v", kind, ns, err)
			}
			if p := tokenMountProblem(got); p != "" {
				problems = append(problems, kind+" pod: "+p)
			}
		}
		if len(problems) == 0 && realPods(env.Target) {
			r, ok := podDefaultInRealPod(ctx, env, ns, pd)
			if !ok {
				return r
			}
			if r.Status != result.Pass {
				problems = append(problems, r.Message)
			}
		}
		if len(problems) > 0 {
			actual := fmt.Sprintf("PodDefault %s/%s (label %s) not applied: %s", ns, pd.Name, labels.Set(pd.Spec.Selector.MatchLabels).String(), strings.Join(problems, "; "))
			return expecting(fail(result.PodDefaultNotApplied, "%s", actual), want, actual)
		}
		seen = append(seen, ns+"/"+pd.Name)
	}
	how := "admitted"
	if realPods(env.Target) {
		how = "admitted (dry runs), and a real Job pod given KFP's token only by the PodDefault listed and created experiments,"
	}
	actual := fmt.Sprintf("%s: StatefulSet, Deployment and Job pods %s with the token volume, mount and %s",
		strings.Join(seen, ", "), how, satoken.EnvTokenPath)
	return expecting(pass("%s", actual), want, actual)
}

// realPods reports whether SA-007 also runs a real pod: on a kind cluster the harness started, with the probe
// image loaded into its nodes. On a live cluster SA-007 stays a server-side dry run (it creates nothing in the
// users' namespaces there).
func realPods(t *target.Target) bool {
	return t.Tier == target.TierKind && t.Has(target.CapPods) && t.ProbeImage != ""
}

// podDefaultInRealPod runs the probe Job in a profile namespace with the PodDefault's labels and no token of its
// own: the kubelet mounts KFP's token only where the webhook added the projected volume, and the probe's SA-001
// then lists and creates with it. ok is false when the probe gave no answer (r is the error to report); else r
// passes, or fails with what the pod lacked.
func podDefaultInRealPod(ctx context.Context, env *Env, ns string, pd *fixtures.PodDefault) (r result.Result, ok bool) {
	t := env.Target
	apiURL := t.ProbeAPIURL
	if apiURL == "" {
		apiURL = DefaultProbeAPIURL
	}
	kube := env.Fixtures().New()
	run, err := kube.RunProbe(ctx, fixtures.ProbeRun{Namespace: ns, Image: t.ProbeImage, APIURL: apiURL,
		PodDefaultLabels: pd.Spec.Selector.MatchLabels})
	if err != nil {
		return errorf(result.ProbeError, "a real pod in %s: %v", ns, err), false
	}
	for _, pr := range run.Results {
		if pr.ID != "SA-001" {
			continue
		}
		if pr.Status == result.Pass || pr.Reason != result.NoCredentials {
			// The token was there: what KFP then made of it is SA-001's business, not the PodDefault's.
			return pass("a real Job pod in %s got KFP's token from PodDefault %s: %s", ns, pd.Name, pr.Message), true
		}
		return fail(result.PodDefaultNotApplied, "a real Job pod in %s carrying PodDefault %s's labels had no token: %s", ns, pd.Name, pr.Message), true
	}
	return errorf(result.ProbeError, "the probe's run in %s holds no SA-001 result", ns), false
}

// runtimeRules are what a pipeline pod's ServiceAccount does at run time: Argo's executor watches and patches its
// own pod (deployKF#186: "cannot patch resource pods"), reads logs, and reports task results.
var runtimeRules = []authzv1.ResourceAttributes{
	{Verb: "get", Resource: "pods"}, {Verb: "watch", Resource: "pods"}, {Verb: "patch", Resource: "pods"},
	{Verb: "get", Resource: "pods", Subresource: "log"},
	{Verb: "create", Group: "argoproj.io", Resource: "workflowtaskresults"},
	{Verb: "patch", Group: "argoproj.io", Resource: "workflowtaskresults"},
}

// argoBeforeTaskResults reports whether the profile's KFP ships Argo before v3.4 (KFP 2.0 and 2.1: Argo v3.3.10,
// third_party/argo/VERSION), whose executors record outputs in pod annotations and never write
// workflowtaskresults: Kubeflow 1.8.1's roles grant none, and its pipelines run.
func argoBeforeTaskResults(t *target.Target) bool {
	if t.Profile == nil {
		return false
	}
	v := t.Profile.KFP.Version
	return strings.HasPrefix(v, "2.0.") || strings.HasPrefix(v, "2.1.") || strings.HasPrefix(v, "1.")
}

func attrString(a authzv1.ResourceAttributes) string {
	r := a.Resource
	if a.Subresource != "" {
		r += "/" + a.Subresource
	}
	if a.Group != "" {
		r += "." + a.Group
	}
	return a.Verb + " " + r
}

// checkProfileRuntimeRBAC is SA-010: default-editor exists in each profile namespace and may do what pipeline
// pods do, asked as the pod's token would be (the ServiceAccount's user and groups). A namespace that existed
// before its Profile never got the profile controller's RoleBindings (deployKF#186).
func checkProfileRuntimeRBAC(ctx context.Context, env *Env) result.Result {
	namespaces := env.Target.ProfileNamespaces()
	kube := env.Target.Kube
	const want = "default-editor may get/watch/patch pods, read pod logs and create/patch workflowtaskresults in every profile namespace"
	var problems []string
	for _, ns := range namespaces {
		if _, err := kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default-editor", metav1.GetOptions{}); apierrors.IsNotFound(err) {
			problems = append(problems, ns+": no ServiceAccount default-editor")
			continue
		} else if err != nil {
			return errorf(reasonOf(err), "ServiceAccount %s/default-editor: %v", ns, err)
		}
		var denied []string
		for _, a := range runtimeRules {
			if a.Resource == "workflowtaskresults" && argoBeforeTaskResults(env.Target) {
				continue
			}
			a.Namespace = ns
			sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
				User:               "system:serviceaccount:" + ns + ":default-editor",
				Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
				ResourceAttributes: &a}}
			got, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				return errorf(reasonOf(err), "SubjectAccessReview: %v", err)
			}
			if !got.Status.Allowed {
				denied = append(denied, attrString(a))
			}
		}
		if len(denied) > 0 {
			problems = append(problems, ns+": denied "+strings.Join(denied, ", "))
		}
	}
	if len(problems) > 0 {
		actual := strings.Join(problems, "; ")
		return expecting(fail(result.K8sRBAC, "%s (a namespace that existed before its Profile gets no RoleBindings from the profile controller: deployKF#186)", actual), want, actual)
	}
	actual := fmt.Sprintf("%s: all %d runtime permissions allowed", strings.Join(namespaces, ", "), len(runtimeRules))
	return expecting(pass("%s", actual), want, actual)
}
