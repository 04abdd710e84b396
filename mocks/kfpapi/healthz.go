package kfpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// apiHealthzBody is written by string concatenation in the server's main.go, spaces included; v2beta1 adds
// pipeline_store from KFP 2.4 on.
func (s *Server) apiHealthzBody(path string) string {
	quote := func(v string) string { b, _ := json.Marshal(v); return string(b) }
	body := `{"commit_sha":` + quote(s.cfg.CommitSHA) + `, "tag_name":` + quote(s.cfg.TagName) +
		`, "multi_user":` + strconv.FormatBool(s.cfg.MultiUser)
	if path == "/apis/v2beta1/healthz" && s.cfg.PipelineStore != "" {
		body += `, "pipeline_store": ` + quote(s.cfg.PipelineStore)
	}
	return body + `}`
}

// serveAPIHealthz answers any method without auth, as the plain handler registered on the gorilla router does.
func (s *Server) serveAPIHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, s.apiHealthzBody(r.URL.Path))
}

// uiHealthz is frontend/server/handlers/healthz.ts HealthzStats in the order the handler fills it: the
// build metadata, then what it read from the API server's healthz.
type uiHealthz struct {
	BuildDate           string `json:"buildDate"`
	FrontendCommitHash  string `json:"frontendCommitHash"`
	FrontendTagName     string `json:"frontendTagName"`
	APIServerReady      bool   `json:"apiServerReady"`
	APIServerCommitHash string `json:"apiServerCommitHash"`
	APIServerTagName    string `json:"apiServerTagName"`
	APIServerMultiUser  bool   `json:"apiServerMultiUser"`
	MultiUser           bool   `json:"multi_user"`
	PipelineStore       string `json:"pipelineStore,omitempty"`
}

// serveUIHealthz is the UI's healthz handler, reading the in-process API server's healthz of the same version.
func (s *Server) serveUIHealthz(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/v1beta1/") && mutate.On(mutate.KFPNoV1beta1) {
		http.NotFound(w, r)
		return
	}
	var api struct {
		CommitSHA     string `json:"commit_sha"`
		TagName       string `json:"tag_name"`
		MultiUser     bool   `json:"multi_user"`
		PipelineStore string `json:"pipeline_store"`
	}
	// The stand-in's own body always parses; the UI would report apiServerReady false otherwise.
	_ = json.Unmarshal([]byte(s.apiHealthzBody(r.URL.Path)), &api)
	stats := uiHealthz{
		BuildDate: s.buildDate, FrontendCommitHash: s.cfg.CommitSHA, FrontendTagName: s.cfg.TagName,
		APIServerReady: true, APIServerCommitHash: api.CommitSHA, APIServerTagName: api.TagName,
		APIServerMultiUser: api.MultiUser, MultiUser: api.MultiUser, PipelineStore: api.PipelineStore,
	}
	body, _ := json.Marshal(stats)
	// Express's res.json.
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}
