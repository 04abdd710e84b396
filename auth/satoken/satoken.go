// Package satoken is the ServiceAccount-token flow of the KFP SDK's in-cluster credentials: the token read from
// a projected volume (KF_PIPELINES_SA_TOKEN_PATH, default /var/run/secrets/kubeflow/pipelines/token) and re-read
// on every request, as kfp.client.ServiceAccountTokenVolumeCredentials does, so a kubelet rotation is picked
// up; or minted through the TokenRequest API, as `kubectl create token` does.
package satoken

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Audience is the audience KFP's TokenReview asks for (TOKEN_REVIEW_AUDIENCE's default).
const Audience = "pipelines.kubeflow.org"

// EnvTokenPath and DefaultTokenPath are where the SDK looks for the projected token.
const (
	EnvTokenPath     = "KF_PIPELINES_SA_TOKEN_PATH"
	DefaultTokenPath = "/var/run/secrets/kubeflow/pipelines/token"
)

// maxTokenSize bounds a token file: projected tokens are a few kilobytes.
const maxTokenSize = 64 << 10

// ErrNoToken says the token file could not be read: the SDK's "Failed to read a token from file" case, which is
// a missing credential (reason NO_CREDENTIALS), not an authorization failure.
var ErrNoToken = errors.New("failed to read a token from file")

// TokenPath is the path the SDK would read: $KF_PIPELINES_SA_TOKEN_PATH, else the default.
func TokenPath(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv(EnvTokenPath); p != "" {
		return p
	}
	return DefaultTokenPath
}

// ReadToken reads a token file (bounded, trimmed). Any failure wraps ErrNoToken.
func ReadToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w %s: %v", ErrNoToken, path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenSize+1))
	if err != nil {
		return "", fmt.Errorf("%w %s: %v", ErrNoToken, path, err)
	}
	if len(b) > maxTokenSize {
		return "", fmt.Errorf("%w %s: larger than %d bytes", ErrNoToken, path, maxTokenSize)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%w %s: empty", ErrNoToken, path)
	}
	return tok, nil
}

// VolumeTransport adds "Authorization: Bearer <token>" to every request, reading the token file each time.
type VolumeTransport struct {
	Path string
	Base http.RoundTripper // nil means http.DefaultTransport
}

// RoundTrip implements http.RoundTripper. A token that cannot be read fails the request with ErrNoToken before
// anything is sent: the SDK logs a warning and sends no header, which the server answers with 401; failing
// here names the real cause.
func (t *VolumeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := ReadToken(t.Path)
	if err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+tok)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r2)
}

// Minted is a token from TokenRequest.
type Minted struct {
	Token     string
	ExpiresAt time.Time
	Audiences []string
}

// Mint asks TokenRequest for a token of namespace/name with the given audiences (none: the API server's
// default audience, what `kubectl create token` gets) and lifetime (0: the server's default, one hour).
func Mint(ctx context.Context, client kubernetes.Interface, namespace, name string, audiences []string, lifetime time.Duration) (*Minted, error) {
	tr := &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{Audiences: audiences}}
	if lifetime > 0 {
		s := int64(lifetime / time.Second)
		tr.Spec.ExpirationSeconds = &s
	}
	out, err := client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, tr, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("TokenRequest for %s/%s: %w", namespace, name, err)
	}
	if out.Status.Token == "" {
		return nil, fmt.Errorf("TokenRequest for %s/%s: the answer holds no token", namespace, name)
	}
	return &Minted{Token: out.Status.Token, ExpiresAt: out.Status.ExpirationTimestamp.Time, Audiences: out.Spec.Audiences}, nil
}
