package kfpapi

import (
	"fmt"
	"time"
)

// Healthz is the union of the API server's healthz ({commit_sha, tag_name, multi_user, pipeline_store}) and
// the UI's ({apiServerCommitHash, apiServerTagName, apiServerMultiUser, multi_user, apiServerReady, buildDate,
// frontendCommitHash, frontendTagName, pipelineStore}). Pointers are nil when the key is absent.
type Healthz struct {
	CommitSHA     string `json:"commit_sha"`
	TagName       string `json:"tag_name"`
	MultiUser     *bool  `json:"multi_user"`
	PipelineStore string `json:"pipeline_store"`

	APIServerCommitHash string `json:"apiServerCommitHash"`
	APIServerTagName    string `json:"apiServerTagName"`
	APIServerMultiUser  *bool  `json:"apiServerMultiUser"`
	APIServerReady      *bool  `json:"apiServerReady"`
	BuildDate           string `json:"buildDate"`
	FrontendCommitHash  string `json:"frontendCommitHash"`
	FrontendTagName     string `json:"frontendTagName"`
	UIPipelineStore     string `json:"pipelineStore"`

	Raw map[string]any `json:"-"`
}

// FromUI reports whether the answer came from ml-pipeline-ui (it has apiServerReady) rather than the API server.
func (h *Healthz) FromUI() bool { return h.APIServerReady != nil }

// IsMultiUser reports multi_user, or the UI's apiServerMultiUser when multi_user is absent.
func (h *Healthz) IsMultiUser() bool {
	switch {
	case h.MultiUser != nil:
		return *h.MultiUser
	case h.APIServerMultiUser != nil:
		return *h.APIServerMultiUser
	}
	return false
}

// APITagName is the API server's tag from either shape.
func (h *Healthz) APITagName() string {
	if h.TagName != "" {
		return h.TagName
	}
	return h.APIServerTagName
}

// Experiment is the part of a v1beta1 or v2beta1 experiment the checks use.
type Experiment struct {
	ID, DisplayName, Namespace string
	CreatedAt                  time.Time
}

// Run is the part of a v2beta1 run the checks use. v2beta1 runs carry no namespace: Namespace is the one
// the runs were listed in.
type Run struct{ ID, DisplayName, Namespace, State, ServiceAccount string }

// Summary is a one-line description for results: the API server's tag and whether it runs multi-user.
func (h *Healthz) Summary() string {
	tag := h.APITagName()
	if tag == "" {
		tag = "unknown tag"
	}
	via := "API server"
	if h.FromUI() {
		via = "UI"
	}
	return fmt.Sprintf("tag %s, multi_user %v (via %s)", tag, h.IsMultiUser(), via)
}
