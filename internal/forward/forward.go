// Package forward reaches a Service's port inside a cluster the way `kubectl port-forward svc/NAME` does: it
// picks a ready pod behind the Service (its EndpointSlices, else its selector), resolves the Service port to the
// pod's port, and forwards a local 127.0.0.1 port to it through client-go's port-forward over the Kubernetes API.
// The target file's in_cluster_api uses it to reach the KFP API without the gateway.
package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// Error is a port-forward that could not start, with the reason code a result carries.
type Error struct {
	Reason result.Reason
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Reason, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

func fail(reason result.Reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// Service names the Service port to reach.
type Service struct {
	Namespace, Name string
	Port            int
}

func (s Service) String() string {
	return fmt.Sprintf("service %s/%s port %d", s.Namespace, s.Name, s.Port)
}

// Backend is the pod and port a Service port leads to.
type Backend struct {
	Pod  string
	Port int
}

// PickBackend finds a ready pod behind the Service and the pod port its Service port targets. The pods come
// from the Service's EndpointSlices (ready endpoints only), or, where there are none (no EndpointSlice
// controller), from the Service's selector (Running pods whose Ready condition is True). The first pod by name
// is chosen, so the choice is stable.
func PickBackend(ctx context.Context, c kubernetes.Interface, s Service) (Backend, error) {
	svc, err := c.CoreV1().Services(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return Backend{}, apiError(s, "get the Service", err)
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if int(svc.Spec.Ports[i].Port) == s.Port && (svc.Spec.Ports[i].Protocol == "" || svc.Spec.Ports[i].Protocol == corev1.ProtocolTCP) {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		var have []string
		for _, p := range svc.Spec.Ports {
			have = append(have, strconv.Itoa(int(p.Port)))
		}
		return Backend{}, fail(result.ConfigError, "%s: the Service has no TCP port %d (it has %s)", s, s.Port, orNone(strings.Join(have, ", ")))
	}
	pods, err := readyPods(ctx, c, s, svc, sp)
	if err != nil {
		return Backend{}, err
	}
	if len(pods) == 0 {
		return Backend{}, fail(result.NoReadyPod, "%s: no ready pod behind the Service", s)
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	pod := pods[0]
	port, err := podPort(pod, sp)
	if err != nil {
		return Backend{}, fail(result.ConfigError, "%s: pod %s: %v", s, pod.Name, err)
	}
	return Backend{Pod: pod.Name, Port: port}, nil
}

func readyPods(ctx context.Context, c kubernetes.Interface, s Service, svc *corev1.Service, sp *corev1.ServicePort) ([]*corev1.Pod, error) {
	slices, err := c.DiscoveryV1().EndpointSlices(s.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.Set{discoveryv1.LabelServiceName: s.Name}.String()})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
		return nil, apiError(s, "list its EndpointSlices", err)
	}
	var names []string
	if err == nil {
		for _, sl := range slices.Items {
			for _, ep := range sl.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready && ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
					names = append(names, ep.TargetRef.Name)
				}
			}
		}
	}
	var out []*corev1.Pod
	if len(names) > 0 {
		for _, n := range names {
			p, err := c.CoreV1().Pods(s.Namespace).Get(ctx, n, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue // gone since the slice was written
			}
			if err != nil {
				return nil, apiError(s, "get pod "+n, err)
			}
			if podReady(p) {
				out = append(out, p)
			}
		}
		return out, nil
	}
	if len(svc.Spec.Selector) == 0 {
		return nil, fail(result.NoReadyPod, "%s: the Service has no selector and no ready endpoints", s)
	}
	pods, err := c.CoreV1().Pods(s.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
	if err != nil {
		return nil, apiError(s, "list the pods of its selector", err)
	}
	for i := range pods.Items {
		if podReady(&pods.Items[i]) {
			out = append(out, &pods.Items[i])
		}
	}
	return out, nil
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podPort resolves a Service port's targetPort (a number, a container port name, or unset: the port itself).
func podPort(p *corev1.Pod, sp *corev1.ServicePort) (int, error) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.String && tp.StrVal != "":
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == tp.StrVal && (cp.Protocol == "" || cp.Protocol == corev1.ProtocolTCP) {
					return int(cp.ContainerPort), nil
				}
			}
		}
		return 0, fmt.Errorf("no container port named %q (the Service's targetPort)", tp.StrVal)
	case tp.Type == intstr.Int && tp.IntVal != 0:
		return int(tp.IntVal), nil
	}
	return int(sp.Port), nil
}

func apiError(s Service, what string, err error) *Error {
	switch {
	case apierrors.IsNotFound(err):
		return fail(result.ConfigError, "%s: %s: not found", s, what)
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return fail(result.K8sRBAC, "%s: %s: %v", s, what, err)
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return fail(result.ServerError, "%s: %s: %v", s, what, err)
	}
	return fail(result.Unreachable, "%s: %s: the Kubernetes API could not be reached: %v", s, what, err)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Forward is a running port-forward: URL is http://127.0.0.1:<port> on this machine.
type Forward struct {
	URL     string
	Backend Backend

	stop     chan struct{}
	done     chan error
	stopOnce sync.Once
}

// Close stops the forward and waits (bounded) for it to end.
func (f *Forward) Close() error {
	f.stopOnce.Do(func() { close(f.stop) })
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
		return errors.New("port-forward: did not stop within 5s")
	}
	return nil
}

// Start picks a backend pod for s (reading through c) and forwards a free 127.0.0.1 port to it. It waits at most timeout for the
// forward to be ready; a Kubernetes API that refuses the upgrade (or never answers) is an *Error with reason
// PORT_FORWARD, never a hang. The forward itself dials the API cfg names. Close the Forward when done.
func Start(ctx context.Context, cfg *rest.Config, c kubernetes.Interface, s Service, timeout time.Duration) (*Forward, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	be, err := PickBackend(ctx, c, s)
	if err != nil {
		return nil, err
	}
	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, fail(result.ConfigError, "%s: port-forward: %v", s, err)
	}
	api, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fail(result.ConfigError, "%s: port-forward: %v", s, err)
	}
	u := api.CoreV1().RESTClient().Post().Resource("pods").Namespace(s.Namespace).Name(be.Pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	f := &Forward{Backend: be, stop: make(chan struct{}), done: make(chan error, 1)}
	ready := make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(be.Port)},
		f.stop, ready, io.Discard, io.Discard)
	if err != nil {
		return nil, fail(result.ConfigError, "%s: port-forward: %v", s, err)
	}
	go func() { f.done <- pf.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-f.done:
		f.done <- err // Close reads it
		return nil, fail(result.PortForward, "%s: port-forward to pod %s: %v", s, be.Pod, err)
	case <-ctx.Done():
		f.stopOnce.Do(func() { close(f.stop) })
		return nil, fail(result.PortForward, "%s: port-forward to pod %s: not ready within %s (the Kubernetes API did not complete the upgrade)", s, be.Pod, timeout)
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		f.Close()
		return nil, fail(result.PortForward, "%s: port-forward to pod %s: no local port: %v", s, be.Pod, err)
	}
	f.URL = fmt.Sprintf("http://127.0.0.1:%d", ports[0].Local)
	return f, nil
}
