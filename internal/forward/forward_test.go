package forward

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

var mlPipeline = Service{Namespace: "kubeflow", Name: "ml-pipeline", Port: 8888}

func service(target intstr.IntOrString, selector map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "kubeflow", Name: "ml-pipeline"},
		Spec: corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{
			{Name: "http", Port: 8888, TargetPort: target}, {Name: "grpc", Port: 8887}}}}
}

func pod(name string, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kubeflow", Name: name, Labels: map[string]string{"app": "ml-pipeline"}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8888}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}}}
}

func slice(ready map[string]bool) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "kubeflow", Name: "ml-pipeline-abcde",
		Labels: map[string]string{discoveryv1.LabelServiceName: "ml-pipeline"}}}
	for name, r := range ready {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Conditions: discoveryv1.EndpointConditions{Ready: &r},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: name}})
	}
	return s
}

func TestPickBackend(t *testing.T) {
	sel := map[string]string{"app": "ml-pipeline"}
	for _, tc := range []struct {
		name    string
		objs    []any
		pod     string
		port    int
		reason  result.Reason
		message string
	}{
		{"a ready endpoint, the named targetPort resolved", []any{service(intstr.FromString("http"), sel),
			pod("ml-pipeline-b", true), pod("ml-pipeline-a", true), slice(map[string]bool{"ml-pipeline-b": true, "ml-pipeline-a": false})},
			"ml-pipeline-b", 8888, "", ""},
		{"no EndpointSlice: the selector's ready pods, first by name", []any{service(intstr.FromInt32(8080), sel),
			pod("ml-pipeline-b", true), pod("ml-pipeline-a", true), pod("ml-pipeline-0", false)},
			"ml-pipeline-a", 8080, "", ""},
		{"no targetPort: the Service port", []any{service(intstr.IntOrString{}, sel), pod("p", true)}, "p", 8888, "", ""},
		{"no ready pod", []any{service(intstr.FromInt32(8888), sel), pod("p", false)}, "", 0, result.NoReadyPod, "no ready pod"},
		{"only unready endpoints", []any{service(intstr.FromInt32(8888), sel), pod("p", false), slice(map[string]bool{"p": false})},
			"", 0, result.NoReadyPod, "no ready pod"},
		{"no selector, no endpoints", []any{service(intstr.FromInt32(8888), nil)}, "", 0, result.NoReadyPod, "no selector"},
		{"no such Service", nil, "", 0, result.ConfigError, "not found"},
		{"no such port", []any{&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "kubeflow", Name: "ml-pipeline"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}}, "", 0, result.ConfigError, "has no TCP port 8888 (it has 80)"},
		{"a targetPort name no container has", []any{service(intstr.FromString("grpc"), sel), pod("p", true)},
			"", 0, result.ConfigError, `no container port named "grpc"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientset()
			for _, o := range tc.objs {
				var err error
				switch o := o.(type) {
				case *corev1.Service:
					_, err = c.CoreV1().Services(o.Namespace).Create(context.Background(), o, metav1.CreateOptions{})
				case *corev1.Pod:
					_, err = c.CoreV1().Pods(o.Namespace).Create(context.Background(), o, metav1.CreateOptions{})
				case *discoveryv1.EndpointSlice:
					_, err = c.DiscoveryV1().EndpointSlices(o.Namespace).Create(context.Background(), o, metav1.CreateOptions{})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			be, err := PickBackend(context.Background(), c, mlPipeline)
			if tc.reason != "" {
				var fe *Error
				if !errors.As(err, &fe) || fe.Reason != tc.reason || !strings.Contains(err.Error(), tc.message) {
					t.Fatalf("got %v, want %s containing %q", err, tc.reason, tc.message)
				}
				return
			}
			if err != nil || be.Pod != tc.pod || be.Port != tc.port {
				t.Fatalf("got %+v %v, want pod %s port %d", be, err, tc.pod, tc.port)
			}
		})
	}
}

// refusingAPI is a Kubernetes API that serves the Service and a ready pod, and answers the port-forward POST
// with what kube-apiserver says for a pod it cannot reach (or, hang=true, never answers it).
func refusingAPI(t *testing.T, hang bool) (*rest.Config, kubernetes.Interface) {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/portforward") {
			if hang {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pod ml-pipeline-a does not have a host assigned","reason":"BadRequest","code":400}`))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	cfg := &rest.Config{Host: srv.URL, Timeout: 5 * time.Second}
	return cfg, fake.NewClientset(service(intstr.FromInt32(8888), map[string]string{"app": "ml-pipeline"}), pod("ml-pipeline-a", true))
}

func TestStartRefusedUpgradeIsAClearErrorNotAHang(t *testing.T) {
	for _, hang := range []bool{false, true} {
		cfg, c := refusingAPI(t, hang)
		start := time.Now()
		f, err := Start(context.Background(), cfg, c, mlPipeline, 2*time.Second)
		if err == nil {
			f.Close()
			t.Fatal("a refused port-forward started")
		}
		var fe *Error
		if !errors.As(err, &fe) || fe.Reason != result.PortForward || !strings.Contains(err.Error(), "ml-pipeline-a") {
			t.Fatalf("hang=%v: got %v, want PORT_FORWARD naming the pod", hang, err)
		}
		if !hang && !strings.Contains(err.Error(), "does not have a host assigned") {
			t.Errorf("the API's refusal is not in the error: %v", err)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Fatalf("hang=%v: took %s", hang, d)
		}
		t.Logf("hang=%v: %v", hang, err)
	}
}

// An unreachable Kubernetes API is UNREACHABLE before any pod is chosen.
func TestPickBackendUnreachableAPI(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	c, err := kubernetes.NewForConfig(&rest.Config{Host: "http://" + addr, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = PickBackend(context.Background(), c, mlPipeline)
	var fe *Error
	if !errors.As(err, &fe) || fe.Reason != result.Unreachable {
		t.Fatalf("got %v, want UNREACHABLE", err)
	}
}
