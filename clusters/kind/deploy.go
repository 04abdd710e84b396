package kind

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	"sigs.k8s.io/yaml"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/poddefault"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// KFPNamespace, KFPService and KFPPort are where the kind tier's KFP API answers in the cluster, as Kubeflow names
// it (the SDK's in-cluster default http://ml-pipeline.kubeflow:8888).
const (
	KFPNamespace = "kubeflow"
	KFPService   = "ml-pipeline"
	KFPPort      = 8888
)

// KFPInClusterURL is the in-cluster address of the KFP API, for pods (the probe).
var KFPInClusterURL = fmt.Sprintf("http://%s.%s:%d", KFPService, KFPNamespace, KFPPort)

// LoadImage loads an image tarball (`make image`) into every node of the cluster, as `kind load image-archive`
// does, so pods run it with imagePullPolicy IfNotPresent and nothing is pulled.
func (c *Cluster) LoadImage(tarball string) error {
	nodes, err := c.provider.ListInternalNodes(c.Name)
	if err != nil {
		return fmt.Errorf("kind: the nodes of %s: %w", c.Name, err)
	}
	for _, n := range nodes {
		f, err := os.Open(tarball)
		if err != nil {
			return fmt.Errorf("kind: image %s: %w", tarball, err)
		}
		err = nodeutils.LoadImageArchive(n, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("kind: loading %s into node %s: %w", tarball, n.String(), err)
		}
	}
	return nil
}

// Objects decodes one of the kind tier's manifests (clusters/kind/manifests) with its placeholders filled, in
// document order.
func Objects(file string, vars map[string]string) ([]runtime.Object, error) {
	docs, err := render(file, vars)
	if err != nil {
		return nil, err
	}
	var out []runtime.Object
	for _, d := range docs {
		j, err := yaml.YAMLToJSON(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(j, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// CreateObjects creates each object with client-go (the kinds the kind tier's manifests use); opts may ask for a dry run.
func CreateObjects(ctx context.Context, c kubernetes.Interface, objs []runtime.Object, opts metav1.CreateOptions) error {
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Namespace:
			_, err = c.CoreV1().Namespaces().Create(ctx, o, opts)
		case *corev1.ServiceAccount:
			_, err = c.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, opts)
		case *corev1.Secret:
			_, err = c.CoreV1().Secrets(o.Namespace).Create(ctx, o, opts)
		case *corev1.Service:
			_, err = c.CoreV1().Services(o.Namespace).Create(ctx, o, opts)
		case *rbacv1.ClusterRole:
			_, err = c.RbacV1().ClusterRoles().Create(ctx, o, opts)
		case *rbacv1.ClusterRoleBinding:
			_, err = c.RbacV1().ClusterRoleBindings().Create(ctx, o, opts)
		case *appsv1.Deployment:
			_, err = c.AppsV1().Deployments(o.Namespace).Create(ctx, o, opts)
		case *networkingv1.NetworkPolicy:
			_, err = c.NetworkingV1().NetworkPolicies(o.Namespace).Create(ctx, o, opts)
		default:
			return fmt.Errorf("kind: %T is not a kind the kind tier deploys", o)
		}
		if err != nil {
			return fmt.Errorf("kind: %s: %w", describe(o), err)
		}
	}
	return nil
}

func describe(o runtime.Object) string {
	kind := strings.TrimPrefix(fmt.Sprintf("%T", o), "*")
	m, err := meta.Accessor(o)
	if err != nil {
		return kind
	}
	if ns := m.GetNamespace(); ns != "" {
		return kind + " " + ns + "/" + m.GetName()
	}
	return kind + " " + m.GetName()
}

// DeployKFPStandIn deploys the project's KFP API stand-in for profile into the cluster (image must be in its
// nodes already) and waits, at most timeout, until its Deployment is available; a Deployment that never gets
// there is an error that says what its pods are waiting for.
func DeployKFPStandIn(ctx context.Context, c kubernetes.Interface, image, profile string, timeout time.Duration) error {
	objs, err := Objects(kfpStandInManifest, map[string]string{"IMAGE": image, "PROFILE": profile})
	if err != nil {
		return err
	}
	if err := CreateObjects(ctx, c, objs, metav1.CreateOptions{}); err != nil {
		return err
	}
	return WaitAvailable(ctx, c, KFPNamespace, KFPService, timeout)
}

// WaitAvailable polls a Deployment until it has an available replica, at most timeout.
func WaitAvailable(ctx context.Context, c kubernetes.Interface, ns, name string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		d, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil // not yet visible, or a passing API hiccup: the deadline decides
		}
		return d.Status.AvailableReplicas > 0, nil
	})
	if err == nil {
		return nil
	}
	return fmt.Errorf("kind: Deployment %s/%s not available within %s: %s", ns, name, timeout, podStates(c, ns, name))
}

// podStates says what the Deployment's pods are doing (phase and the containers' waiting reasons), for an error.
func podStates(c kubernetes.Interface, ns, app string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return "its pods could not be listed: " + err.Error()
	}
	if len(pods.Items) == 0 {
		return "no pod was created"
	}
	var out []string
	for i := range pods.Items {
		out = append(out, strings.TrimSpace(fixtures.PodState(&pods.Items[i], nil)))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// The PodDefault webhook stand-in's names in the cluster.
const (
	PodDefaultHook        = "kfp-authcheck-poddefault"
	podDefaultHookSecret  = "kfp-authcheck-poddefault-certs"
	podDefaultHookPortTLS = 443
)

// DeployPodDefaults makes the cluster mutate pods as a Kubeflow cluster does, with the project's image (already in
// the nodes): the PodDefault kind, the webhook stand-in (`kfp-authcheck component poddefault-webhook`) with a
// certificate from a throwaway CA for its Service's names, registered as a MutatingWebhookConfiguration with Kubeflow's
// settings and that CA, and the profile's PodDefault for KFP's token in each given namespace. The namespace
// kubeflow must exist (DeployKFPStandIn makes it).
func DeployPodDefaults(ctx context.Context, c kubernetes.Interface, image string, namespaces []string, pd *profile.PodDefault, timeout time.Duration) error {
	ictx, cancel := context.WithTimeout(ctx, time.Minute) // the kind is served within seconds
	defer cancel()
	if err := poddefault.InstallKind(ictx, c); err != nil {
		return err
	}
	svc := PodDefaultHook + "." + KFPNamespace + ".svc"
	ca, err := selfca.NewFor(svc, svc+".cluster.local")
	if err != nil {
		return err
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: podDefaultHookSecret, Namespace: KFPNamespace},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{corev1.TLSCertKey: ca.CertPEM, corev1.TLSPrivateKeyKey: ca.KeyPEM}}
	objs, err := Objects(podDefaultHookManifest, map[string]string{"IMAGE": image})
	if err != nil {
		return err
	}
	if err := CreateObjects(ctx, c, append([]runtime.Object{secret}, objs...), metav1.CreateOptions{}); err != nil {
		return err
	}
	if err := WaitAvailable(ctx, c, KFPNamespace, PodDefaultHook, timeout); err != nil {
		return err
	}
	path, port := poddefault.Path, int32(podDefaultHookPortTLS)
	cc := admissionregistrationv1.WebhookClientConfig{CABundle: ca.CAPEM,
		Service: &admissionregistrationv1.ServiceReference{Namespace: KFPNamespace, Name: PodDefaultHook, Path: &path, Port: &port}}
	if err := poddefault.Register(ctx, c, PodDefaultHook, cc); err != nil {
		return err
	}
	if pd == nil {
		return nil
	}
	for _, ns := range namespaces {
		if err := poddefault.ApplyKFPToken(ctx, c, ns, pd.Name, pd.Label); err != nil {
			return err
		}
	}
	return nil
}
