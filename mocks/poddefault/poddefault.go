// Package poddefault is a stand-in for Kubeflow's admission-webhook (kubeflow/kubeflow components/admission-webhook,
// the `/apply-poddefault` endpoint): a mutating admission webhook that kube-apiserver calls for every pod created in a
// profile namespace. It lists the namespace's PodDefaults (kubeflow.org/v1alpha1), keeps those whose selector
// matches the pod's labels, refuses the pod when their volumes, mounts or env conflict with the pod's own, and
// otherwise answers a JSONPatch that adds their volumes, their env, envFrom and volume mounts to every container,
// and one annotation `poddefault.admission.kubeflow.org/poddefault-<name>: <resourceVersion>` per PodDefault.
//
// The local tier runs it behind the real kube-apiserver's MutatingAdmissionWebhook plugin, so SA-007 proves its
// pods' mutation through a server-side dry run exactly as on a live cluster; the real webhook is not served by the
// Go module proxy, so it cannot be built here.
package poddefault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
)

// Group, Version and Resource of PodDefaults.
const (
	Group    = fixtures.PodDefaultGroup
	Version  = fixtures.PodDefaultVersion
	Resource = fixtures.PodDefaultResource
	// Path is where the webhook is served, as Kubeflow's MutatingWebhookConfiguration names it.
	Path = "/apply-poddefault"
	// AnnotationPrefix marks a pod a PodDefault was applied to; <prefix>/exclude: "true" opts a pod out.
	AnnotationPrefix = "poddefault.admission.kubeflow.org"
	// ProfileNamespaceLabel selects the namespaces the webhook sees (the profile controller sets it).
	ProfileNamespaceLabel = "app.kubernetes.io/part-of"
	ProfileNamespaceValue = "kubeflow-profile"
)

// PodDefault, its Spec and List are the Kubeflow kind as fixtures defines it (the checks read PodDefaults too).
type (
	PodDefault = fixtures.PodDefault
	Spec       = fixtures.PodDefaultSpec
	List       = fixtures.PodDefaultList
)

// CollectionPath is the REST path of a namespace's PodDefaults.
func CollectionPath(ns string) string { return fixtures.PodDefaultCollectionPath(ns) }

// ListIn reads a namespace's PodDefaults through any REST client of the cluster.
func ListIn(ctx context.Context, c rest.Interface, ns string) ([]PodDefault, error) {
	return fixtures.ListPodDefaults(ctx, c, ns)
}

// Lister gives the PodDefaults of a namespace.
type Lister func(ctx context.Context, ns string) ([]PodDefault, error)

// Webhook answers kube-apiserver's AdmissionReviews for pods.
type Webhook struct {
	List Lister
	// Timeout bounds the listing (kube-apiserver gives the webhook 10 s by default).
	Timeout time.Duration
	// Errorf, when set, hears why a review was refused.
	Errorf func(format string, args ...any)
}

// maxReview bounds an AdmissionReview body (a pod is far smaller; kube-apiserver's own limit is 3 MiB).
const maxReview = 3 << 20

func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		http.NotFound(rw, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		// The real webhook logs and answers an empty body: the API server then reports a decode failure.
		http.Error(rw, "contentType="+ct+", expect application/json", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReview+1))
	if err != nil || len(body) > maxReview {
		http.Error(rw, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(rw, "not an AdmissionReview", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	if w.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.Timeout)
		defer cancel()
	}
	resp := w.admit(ctx, review.Request)
	resp.UID = review.Request.UID
	// Answer in the version asked (admission.k8s.io/v1 or v1beta1 share this shape).
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	if out.APIVersion == "" {
		out.APIVersion, out.Kind = "admission.k8s.io/v1", "AdmissionReview"
	}
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(out)
}

func (w *Webhook) refuse(err error) *admissionv1.AdmissionResponse {
	if w.Errorf != nil {
		w.Errorf("%v", err)
	}
	return &admissionv1.AdmissionResponse{Result: &metav1.Status{Message: err.Error()}}
}

func (w *Webhook) admit(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	allowed := &admissionv1.AdmissionResponse{Allowed: true}
	if req.Resource != (metav1.GroupVersionResource{Version: "v1", Resource: "pods"}) {
		return allowed
	}
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return w.refuse(err)
	}
	if pod.Annotations[AnnotationPrefix+"/exclude"] == "true" {
		return allowed
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return allowed
	}
	// A pod a controller creates may carry no namespace in its body; the request's namespace is the pod's
	// (kubeflow/kubeflow PR#6052).
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace
	}
	pds, err := w.List(ctx, pod.Namespace)
	if err != nil {
		return w.refuse(fmt.Errorf("error fetching poddefaults: %w", err))
	}
	matching, err := Matching(pds, &pod)
	if err != nil {
		return w.refuse(err)
	}
	if len(matching) == 0 {
		return allowed
	}
	patch, err := Apply(&pod, matching)
	if err != nil {
		names := make([]string, len(matching))
		for i, pd := range matching {
			names[i] = pd.Name
		}
		return w.refuse(fmt.Errorf("conflict occurred while applying poddefaults: %s on pod: %v err: %v",
			strings.Join(names, ","), pod.Name, err))
	}
	pt := admissionv1.PatchTypeJSONPatch
	allowed.Patch, allowed.PatchType = patch, &pt
	return allowed
}

// Matching keeps the PodDefaults of the pod's namespace whose selector matches its labels.
func Matching(pds []PodDefault, pod *corev1.Pod) ([]PodDefault, error) {
	var out []PodDefault
	for _, pd := range pds {
		sel, err := metav1.LabelSelectorAsSelector(&pd.Spec.Selector)
		if err != nil {
			return nil, fmt.Errorf("label selector conversion failed: %v for selector: %v", pd.Spec.Selector, err)
		}
		if pd.Namespace == pod.Namespace && sel.Matches(labels.Set(pod.Labels)) {
			out = append(out, pd)
		}
	}
	return out, nil
}

// patchOp is one JSONPatch operation; "add" on an existing member replaces it (RFC 6902, 4.1).
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// Apply merges the PodDefaults into the pod and returns the JSONPatch that does the same to the pod kube-apiserver
// holds. A name or mount path that a PodDefault sets differently from the pod (or another PodDefault) is a
// conflict: nothing is applied and the error lists every one.
func Apply(pod *corev1.Pod, pds []PodDefault) ([]byte, error) {
	var errs []error
	volumes, err := merge(pod.Spec.Volumes, pds, func(s Spec) []corev1.Volume { return s.Volumes },
		func(v corev1.Volume) string { return v.Name }, "volumes")
	errs = append(errs, err)
	var ops []patchOp
	if len(volumes) > 0 {
		ops = append(ops, patchOp{"add", "/spec/volumes", volumes})
	}
	for i, c := range pod.Spec.Containers {
		env, err := merge(c.Env, pds, func(s Spec) []corev1.EnvVar { return s.Env },
			func(v corev1.EnvVar) string { return v.Name }, "env")
		errs = append(errs, err)
		mounts, err := merge(c.VolumeMounts, pds, func(s Spec) []corev1.VolumeMount { return s.VolumeMounts },
			func(v corev1.VolumeMount) string { return v.Name }, "volume mounts")
		errs = append(errs, err)
		_, err = merge(c.VolumeMounts, pds, func(s Spec) []corev1.VolumeMount { return s.VolumeMounts },
			func(v corev1.VolumeMount) string { return v.MountPath }, "volume mounts on mount path")
		errs = append(errs, err)
		envFrom := append([]corev1.EnvFromSource{}, c.EnvFrom...)
		for _, pd := range pds {
			envFrom = append(envFrom, pd.Spec.EnvFrom...)
		}
		base := fmt.Sprintf("/spec/containers/%d", i)
		if len(env) > 0 {
			ops = append(ops, patchOp{"add", base + "/env", env})
		}
		if len(mounts) > 0 {
			ops = append(ops, patchOp{"add", base + "/volumeMounts", mounts})
		}
		if len(envFrom) > 0 {
			ops = append(ops, patchOp{"add", base + "/envFrom", envFrom})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	annotations := map[string]string{}
	for k, v := range pod.Annotations {
		annotations[k] = v
	}
	for _, pd := range pds {
		annotations[AnnotationPrefix+"/poddefault-"+pd.Name] = pd.ResourceVersion
	}
	ops = append(ops, patchOp{"add", "/metadata/annotations", annotations})
	return json.Marshal(ops)
}

// merge appends what the PodDefaults add to have, keyed by key; an item a PodDefault sets differently under the
// same key is a conflict.
func merge[T any](have []T, pds []PodDefault, field func(Spec) []T, key func(T) string, what string) ([]T, error) {
	seen := map[string]T{}
	out := append([]T{}, have...)
	for _, v := range have {
		seen[key(v)] = v
	}
	var errs []error
	for _, pd := range pds {
		for _, v := range field(pd.Spec) {
			k := key(v)
			old, ok := seen[k]
			if !ok {
				seen[k] = v
				out = append(out, v)
				continue
			}
			if !reflect.DeepEqual(old, v) {
				errs = append(errs, fmt.Errorf("merging %s for %s has a conflict on %s", what, pd.Name, k))
			}
		}
	}
	return out, errors.Join(errs...)
}
