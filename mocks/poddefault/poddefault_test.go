package poddefault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func tokenPD(ns string) PodDefault {
	return PodDefault{ObjectMeta: metav1.ObjectMeta{Name: "access-ml-pipeline", Namespace: ns, ResourceVersion: "42"},
		Spec: Spec{
			Selector: metav1.LabelSelector{MatchLabels: map[string]string{"access-ml-pipeline": "true"}},
			Volumes: []corev1.Volume{{Name: "volume-kf-pipeline-token", VolumeSource: corev1.VolumeSource{
				Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{
					ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", Audience: "pipelines.kubeflow.org"}}}}}}},
			VolumeMounts: []corev1.VolumeMount{{Name: "volume-kf-pipeline-token", MountPath: "/var/run/secrets/kubeflow/pipelines", ReadOnly: true}},
			Env:          []corev1.EnvVar{{Name: "KF_PIPELINES_SA_TOKEN_PATH", Value: "/var/run/secrets/kubeflow/pipelines/token"}},
		}}
}

// review posts an AdmissionReview for pod (created in ns) and returns the response and the pod after its patch.
func review(t *testing.T, h http.Handler, ns string, pod *corev1.Pod) (*admissionv1.AdmissionResponse, *corev1.Pod) {
	t.Helper()
	raw, _ := json.Marshal(pod)
	ar := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "u-1", Namespace: ns, Operation: admissionv1.Create,
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, Object: runtime.RawExtension{Raw: raw}}}
	body, _ := json.Marshal(ar)
	req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Response == nil || out.Response.UID != "u-1" || out.APIVersion != "admission.k8s.io/v1" {
		t.Fatalf("response: %+v", out)
	}
	if out.Response.Patch == nil {
		return out.Response, pod
	}
	patch, err := jsonpatch.DecodePatch(out.Response.Patch)
	if err != nil {
		t.Fatalf("patch %s: %v", out.Response.Patch, err)
	}
	patched, err := patch.Apply(raw)
	if err != nil {
		t.Fatalf("apply %s: %v", out.Response.Patch, err)
	}
	var got corev1.Pod
	if err := json.Unmarshal(patched, &got); err != nil {
		t.Fatal(err)
	}
	return out.Response, &got
}

func labelled(labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "job-", Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "pause"}, {Name: "side", Image: "pause",
			Env: []corev1.EnvVar{{Name: "OTHER", Value: "1"}}}}}}
}

func TestWebhookMutatesASelectedPodLikeKubeflowsAdmissionWebhook(t *testing.T) {
	var listed string
	h := &Webhook{List: func(_ context.Context, ns string) ([]PodDefault, error) {
		listed = ns
		return []PodDefault{tokenPD("team-1")}, nil
	}}
	// No namespace in the pod's body (as a controller creates it): the request's namespace is used.
	resp, got := review(t, h, "team-1", labelled(map[string]string{"access-ml-pipeline": "true"}))
	if !resp.Allowed || listed != "team-1" || resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("allowed=%v listed=%q patchType=%v", resp.Allowed, listed, resp.PatchType)
	}
	if len(got.Spec.Volumes) != 1 || got.Spec.Volumes[0].Projected == nil {
		t.Fatalf("volumes: %+v", got.Spec.Volumes)
	}
	for _, c := range got.Spec.Containers {
		if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/var/run/secrets/kubeflow/pipelines" {
			t.Errorf("container %s mounts: %+v", c.Name, c.VolumeMounts)
		}
		if c.Env[len(c.Env)-1].Name != "KF_PIPELINES_SA_TOKEN_PATH" {
			t.Errorf("container %s env: %+v", c.Name, c.Env)
		}
	}
	if got.Spec.Containers[1].Env[0].Name != "OTHER" {
		t.Errorf("the container's own env was not kept first: %+v", got.Spec.Containers[1].Env)
	}
	if got.Annotations[AnnotationPrefix+"/poddefault-access-ml-pipeline"] != "42" {
		t.Errorf("annotations: %v", got.Annotations)
	}
}

func TestWebhookLeavesOtherPodsAlone(t *testing.T) {
	h := &Webhook{List: func(context.Context, string) ([]PodDefault, error) { return []PodDefault{tokenPD("team-1")}, nil }}
	for name, pod := range map[string]*corev1.Pod{
		"no label":       labelled(nil),
		"label is false": labelled(map[string]string{"access-ml-pipeline": "false"}),
		"excluded": func() *corev1.Pod {
			p := labelled(map[string]string{"access-ml-pipeline": "true"})
			p.Annotations = map[string]string{AnnotationPrefix + "/exclude": "true"}
			return p
		}(),
	} {
		if resp, _ := review(t, h, "team-1", pod); !resp.Allowed || resp.Patch != nil {
			t.Errorf("%s: allowed=%v patch=%s", name, resp.Allowed, resp.Patch)
		}
	}
	// A PodDefault of another namespace never applies.
	if resp, _ := review(t, h, "team-2", labelled(map[string]string{"access-ml-pipeline": "true"})); !resp.Allowed || resp.Patch != nil {
		t.Errorf("other namespace: allowed=%v patch=%s", resp.Allowed, resp.Patch)
	}
}

func TestWebhookRefusesConflictsAndListingErrors(t *testing.T) {
	h := &Webhook{List: func(context.Context, string) ([]PodDefault, error) { return []PodDefault{tokenPD("team-1")}, nil }}
	pod := labelled(map[string]string{"access-ml-pipeline": "true"})
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "KF_PIPELINES_SA_TOKEN_PATH", Value: "/elsewhere"}}
	resp, _ := review(t, h, "team-1", pod)
	if resp.Allowed || resp.Result == nil || !strings.Contains(resp.Result.Message, "conflict occurred while applying poddefaults: access-ml-pipeline") {
		t.Fatalf("conflict: %+v", resp)
	}
	h = &Webhook{List: func(context.Context, string) ([]PodDefault, error) { return nil, errors.New("no route to host") }}
	resp, _ = review(t, h, "team-1", labelled(map[string]string{"access-ml-pipeline": "true"}))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "error fetching poddefaults: no route to host") {
		t.Fatalf("listing error: %+v", resp)
	}
}

func TestWebhookRejectsWhatIsNotAReview(t *testing.T) {
	h := &Webhook{List: func(context.Context, string) ([]PodDefault, error) { return nil, nil }}
	for name, req := range map[string]*http.Request{
		"GET":          httptest.NewRequest(http.MethodGet, Path, nil),
		"text/plain":   httptest.NewRequest(http.MethodPost, Path, strings.NewReader("{}")),
		"not a review": jsonReq("[1,2]"),
		"no request":   jsonReq("{}"),
		"other path":   httptest.NewRequest(http.MethodPost, "/mutate", nil),
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code < 400 {
			t.Errorf("%s: status %d", name, rec.Code)
		}
	}
}

func jsonReq(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}
