package kfpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// Config is the API server's environment (MULTIUSER, KUBEFLOW_USERID_HEADER, KUBEFLOW_USERID_PREFIX,
// TOKEN_REVIEW_AUDIENCE, COMMIT_SHA, TAG_NAME) plus the Kubernetes seams.
type Config struct {
	// MultiUser turns on namespaces and auth; off, every request is allowed and namespaces are ignored.
	MultiUser bool
	// UserIDHeader is the identity header; empty means "kubeflow-userid".
	UserIDHeader string
	// UserIDPrefix must start the identity header's value; Kubeflow sets "".
	UserIDPrefix string
	// ErrorFormat is ErrorFormatV1 (the default) or ErrorFormatV2.
	ErrorFormat string
	// Authorizer stands in for SubjectAccessReview; required in multi-user mode.
	Authorizer Authorizer
	// TokenReviewer stands in for TokenReview on "Authorization: Bearer"; nil fails every bearer token.
	TokenReviewer TokenReviewer
	// TokenReviewAudience is the audience asked for in the TokenReview; empty means "pipelines.kubeflow.org".
	TokenReviewAudience string
	// CommitSHA and TagName are reported by healthz; empty means "unknown", the server's default.
	CommitSHA, TagName string
	// PipelineStore, when set ("database" or "kubernetes"), is reported as pipeline_store by v2beta1 healthz,
	// as KFP 2.4 and later do.
	PipelineStore string
	// Now is the clock for created_at; nil means time.Now.
	Now func() time.Time
	// AuthorizePipelineReferences checks, when a run names a stored pipeline, that the caller may read it and
	// that it belongs to the run's namespace (the GHSA-v83x-544f-ph2r fix, pipelines PR#14348); KFP releases
	// before it, which the built-in profiles model, do not.
	AuthorizePipelineReferences bool
	// AuthorizeServiceAccounts refuses a run's caller-chosen serviceAccountName unless it is in
	// AllowedServiceAccounts and the caller may "use" it (pipelines PR#14181); off for the modelled releases.
	AuthorizeServiceAccounts bool
	AllowedServiceAccounts   []string
}

// DefaultRunServiceAccount is the ServiceAccount a multi-user run's pods use when the run names none.
const DefaultRunServiceAccount = "default-editor"

// Server is the stand-in: an in-memory store behind the API and UI handlers. It is safe for concurrent use.
type Server struct {
	cfg       Config
	buildDate string

	mu          sync.Mutex
	experiments map[string]*experiment
	runs        map[string]*run
	pipelines   map[string]*pipeline
	versions    map[string]*pipelineVersion
}

// New checks cfg, fills in the defaults and returns an empty server.
func New(cfg Config) (*Server, error) {
	if cfg.UserIDHeader == "" {
		cfg.UserIDHeader = "kubeflow-userid"
	}
	switch cfg.ErrorFormat {
	case "":
		cfg.ErrorFormat = ErrorFormatV1
	case ErrorFormatV1, ErrorFormatV2:
	default:
		return nil, fmt.Errorf("kfpapi: unknown error format %q (want %q or %q)", cfg.ErrorFormat, ErrorFormatV1, ErrorFormatV2)
	}
	if cfg.MultiUser && cfg.Authorizer == nil {
		return nil, errors.New("kfpapi: multi-user mode needs an Authorizer (the SubjectAccessReview stand-in)")
	}
	if cfg.TokenReviewAudience == "" {
		cfg.TokenReviewAudience = "pipelines.kubeflow.org"
	}
	if cfg.CommitSHA == "" {
		cfg.CommitSHA = "unknown"
	}
	if cfg.TagName == "" {
		cfg.TagName = "unknown"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{
		cfg: cfg,
		// The UI image's BUILD_DATE file holds `date -u` output.
		buildDate:   cfg.Now().UTC().Format("Mon Jan _2 15:04:05 UTC 2006"),
		experiments: map[string]*experiment{},
		runs:        map[string]*run{},
		pipelines:   map[string]*pipeline{},
		versions:    map[string]*pipelineVersion{},
	}, nil
}

// APIHandler is ml-pipeline:8888: healthz and the gateway under /apis/, like the server's gorilla router.
func (s *Server) APIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/apis/v1beta1/") && mutate.On(mutate.KFPNoV1beta1):
			http.NotFound(w, r)
		case r.URL.Path == "/apis/v1beta1/healthz" || r.URL.Path == "/apis/v2beta1/healthz":
			s.serveAPIHealthz(w, r)
		case r.URL.Path == "/apis/v2beta1/pipelines/upload":
			s.uploadPipeline(w, r)
		case strings.HasPrefix(r.URL.Path, "/apis/"):
			s.serveGateway(w, r)
		default:
			// gorilla/mux's default NotFoundHandler.
			http.NotFound(w, r)
		}
	})
}
