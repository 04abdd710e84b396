package local

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// The few Kubernetes API calls the tier's fixtures and its own test need, as plain JSON (the shapes of
// k8s.io/api core/v1, authentication/v1 and authorization/v1): a client-go clientset can use Kubeconfig instead.

// EnsureNamespace creates a namespace; one that exists already is fine.
func (k *Kube) EnsureNamespace(ctx context.Context, name string) error {
	return k.create(ctx, "/api/v1/namespaces", map[string]any{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": name}})
}

// EnsureServiceAccount creates a ServiceAccount; one that exists already is fine.
func (k *Kube) EnsureServiceAccount(ctx context.Context, namespace, name string) error {
	return k.create(ctx, "/api/v1/namespaces/"+namespace+"/serviceaccounts", map[string]any{"apiVersion": "v1",
		"kind": "ServiceAccount", "metadata": map[string]any{"name": name, "namespace": namespace}})
}

// Create POSTs an object to a collection path; an AlreadyExists answer (409) is fine.
func (k *Kube) Create(ctx context.Context, collection string, obj map[string]any) error {
	return k.create(ctx, collection, obj)
}

func (k *Kube) create(ctx context.Context, collection string, obj map[string]any) error {
	_, err := k.Do(ctx, http.MethodPost, collection, obj, nil)
	var se *APIStatusError
	if errors.As(err, &se) && se.Status == http.StatusConflict {
		return nil
	}
	return err
}

// TokenRequest asks for a token of ServiceAccount namespace/name with the given audience (the projected-token
// API kubectl create token uses).
func (k *Kube) TokenRequest(ctx context.Context, namespace, name, audience string, ttlSeconds int64) (string, error) {
	in := map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
		"spec": map[string]any{"audiences": []string{audience}, "expirationSeconds": ttlSeconds}}
	var out struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if _, err := k.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/namespaces/%s/serviceaccounts/%s/token", namespace, name), in, &out); err != nil {
		return "", err
	}
	if out.Status.Token == "" {
		return "", fmt.Errorf("TokenRequest %s/%s: empty token", namespace, name)
	}
	return out.Status.Token, nil
}

// TokenReviewResult is a TokenReview's status.
type TokenReviewResult struct {
	Authenticated bool     `json:"authenticated"`
	Audiences     []string `json:"audiences"`
	Error         string   `json:"error"`
	User          struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"user"`
}

// TokenReview reviews a token for the given audiences, as KFP's TokenReviewAuthenticator does.
func (k *Kube) TokenReview(ctx context.Context, token string, audiences []string) (*TokenReviewResult, error) {
	in := map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
		"spec": map[string]any{"token": token, "audiences": audiences}}
	var out struct {
		Status TokenReviewResult `json:"status"`
	}
	if _, err := k.Do(ctx, http.MethodPost, "/apis/authentication.k8s.io/v1/tokenreviews", in, &out); err != nil {
		return nil, err
	}
	return &out.Status, nil
}

// SubjectAccessReview asks whether user may do verb on group/resource in namespace, with only spec.user set
// (no groups), as KFP's IsAuthorized does.
func (k *Kube) SubjectAccessReview(ctx context.Context, user, namespace, verb, group, version, resource string) (bool, string, error) {
	in := map[string]any{"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
		"spec": map[string]any{"user": user, "resourceAttributes": map[string]any{
			"namespace": namespace, "verb": verb, "group": group, "version": version, "resource": resource}}}
	var out struct {
		Status struct {
			Allowed bool   `json:"allowed"`
			Reason  string `json:"reason"`
		} `json:"status"`
	}
	if _, err := k.Do(ctx, http.MethodPost, "/apis/authorization.k8s.io/v1/subjectaccessreviews", in, &out); err != nil {
		return false, "", err
	}
	return out.Status.Allowed, out.Status.Reason, nil
}
