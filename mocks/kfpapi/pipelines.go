package kfpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"

	"sigs.k8s.io/yaml"
)

// pipeline is model.Pipeline; an empty Namespace is a shared pipeline.
type pipeline struct {
	ID, Name, Description, Namespace string
	CreatedAt                        int64
}

// pipelineVersion is model.PipelineVersion with its spec.
type pipelineVersion struct {
	ID, PipelineID, Name string
	Spec                 map[string]any
	CreatedAt            int64
}

// pipelineV2 is v2beta1 Pipeline as the gateway writes it.
type pipelineV2 struct {
	PipelineID  string `json:"pipeline_id,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
	CreatedAt   string `json:"created_at,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
}

type listPipelinesV2 struct {
	Pipelines     []pipelineV2 `json:"pipelines,omitempty"`
	TotalSize     int          `json:"total_size,omitempty"`
	NextPageToken string       `json:"next_page_token,omitempty"`
}

func toPipelineV2(p pipeline) pipelineV2 {
	return pipelineV2{PipelineID: p.ID, DisplayName: p.Name, Description: p.Description,
		CreatedAt: formatTime(p.CreatedAt), Namespace: p.Namespace}
}

// canAccessPipeline is PipelineServer.canAccessPipeline of KFP 2.0 to 2.16: the pipeline's namespace when an id
// is given, and no authorization at all for a shared pipeline (empty namespace), whatever the verb.
func (s *Server) canAccessPipeline(r *http.Request, pipelineID, verb, namespace, name string) *userError {
	if !s.cfg.MultiUser {
		return nil
	}
	if pipelineID != "" {
		p, ok := s.pipelineByID(pipelineID)
		if !ok {
			return newResourceNotFoundError("Pipeline", pipelineID).wrapf("Failed to access pipeline %s. Check if it exists and have a namespace assigned", pipelineID)
		}
		namespace = p.Namespace
		if name == "" {
			name = p.Name
		}
	}
	if isEmptyNamespace(namespace) {
		return nil
	}
	if uerr := s.isAuthorized(r, pipelinesAttributes("pipelines", verb, namespace, name)); uerr != nil {
		return uerr.wrapf("Failed to access pipeline %s. Check if you have access to namespace %s", pipelineID, namespace)
	}
	return nil
}

// createPipeline is BasePipelineServer.createPipeline (no version).
func (s *Server) createPipeline(r *http.Request, name, description, namespace string) (pipeline, *userError) {
	namespace = s.replaceNamespace(namespace)
	if name == "" {
		return pipeline{}, newInvalidInputError("name is required")
	}
	if uerr := s.canAccessPipeline(r, "", "create", namespace, name); uerr != nil {
		return pipeline{}, uerr.wrapf("Failed to create a pipeline due to authorization error. Check if you have write permissions to namespace %s", namespace)
	}
	p := pipeline{ID: newUUID(), Name: name, Description: description, Namespace: namespace, CreatedAt: s.cfg.Now().Unix()}
	if uerr := s.insertPipeline(p); uerr != nil {
		return pipeline{}, uerr
	}
	return p, nil
}

// POST /apis/v2beta1/pipelines with the Pipeline as the body.
func (s *Server) createPipelineV2(w http.ResponseWriter, r *http.Request, _ []string) {
	var in pipelineV2
	if uerr := decodeBody(r, &in); uerr != nil {
		s.writeError(w, uerr)
		return
	}
	p, uerr := s.createPipeline(r, in.DisplayName, in.Description, in.Namespace)
	if uerr != nil {
		s.writeError(w, uerr.wrap("Failed to create a pipeline due to server error"))
		return
	}
	s.writeJSON(w, toPipelineV2(p))
}

// GET /apis/v2beta1/pipelines?namespace= : an empty namespace lists the shared pipelines, unauthorized.
func (s *Server) listPipelinesV2(w http.ResponseWriter, r *http.Request, _ []string) {
	opts, uerr := s.listOptionsFromQuery(r)
	if uerr != nil {
		s.writeError(w, uerr)
		return
	}
	namespace := s.replaceNamespace(r.URL.Query().Get("namespace"))
	if uerr := s.canAccessPipeline(r, "", "list", namespace, ""); uerr != nil {
		s.writeError(w, uerr.wrapf("Failed to list pipelines due to authorization error. Check if you have read permission to namespace %v", namespace).
			wrapf("Failed to list pipelines in namespace %s. Check error stack", namespace))
		return
	}
	all := s.pipelinesIn(namespace)
	out, next := page(all, func(p pipeline) string { return p.ID }, opts, "pipelines")
	resp := listPipelinesV2{TotalSize: len(all), NextPageToken: next}
	for _, p := range out {
		resp.Pipelines = append(resp.Pipelines, toPipelineV2(p))
	}
	s.writeJSON(w, resp)
}

// GET /apis/v2beta1/pipelines/{pipeline_id}
func (s *Server) getPipelineV2(w http.ResponseWriter, r *http.Request, vars []string) {
	id := vars[0]
	if uerr := s.canAccessPipeline(r, id, "get", "", ""); uerr != nil {
		s.writeError(w, uerr.wrapf("Failed to get a pipeline due authorization error for pipeline id %v", id).
			wrapf("Failed to get a pipeline %s. Check error stack", id))
		return
	}
	p, ok := s.pipelineByID(id)
	if !ok {
		s.writeError(w, newResourceNotFoundError("Pipeline", id))
		return
	}
	s.writeJSON(w, toPipelineV2(p))
}

// DELETE /apis/v2beta1/pipelines/{pipeline_id}: refused while versions remain (KFP before cascade=true).
func (s *Server) deletePipelineV2(w http.ResponseWriter, r *http.Request, vars []string) {
	id := vars[0]
	if uerr := s.canAccessPipeline(r, id, "delete", "", ""); uerr != nil {
		s.writeError(w, uerr.wrapf("Failed to delete a pipeline due authorization error for pipeline id %v", id).
			wrapf("Failed to delete pipeline %s. Check error stack", id))
		return
	}
	if uerr := s.removePipeline(id); uerr != nil {
		s.writeError(w, uerr.wrapf("Failed to delete pipeline %s. Check error stack", id))
		return
	}
	s.writeJSON(w, struct{}{})
}

type pipelineVersionV2 struct {
	PipelineID        string `json:"pipeline_id,omitempty"`
	PipelineVersionID string `json:"pipeline_version_id,omitempty"`
	DisplayName       string `json:"display_name,omitempty"`
	CreatedAt         string `json:"created_at,omitempty"`
}

// GET /apis/v2beta1/pipelines/{pipeline_id}/versions: authorized as list in the pipeline's namespace.
func (s *Server) listPipelineVersionsV2(w http.ResponseWriter, r *http.Request, vars []string) {
	pid := vars[0]
	p, ok := s.pipelineByID(pid)
	if !ok {
		s.writeError(w, newResourceNotFoundError("Pipeline", pid).
			wrapf("Failed to list pipeline versions due to error fetching the namespace for pipeline %v", pid))
		return
	}
	if uerr := s.canAccessPipeline(r, "", "list", p.Namespace, ""); uerr != nil {
		s.writeError(w, uerr.wrapf("Failed to list pipeline versions due to authorization error. Check if you have read permission to namespace %v", p.Namespace))
		return
	}
	s.mu.Lock()
	var out struct {
		PipelineVersions []pipelineVersionV2 `json:"pipeline_versions,omitempty"`
		TotalSize        int                 `json:"total_size,omitempty"`
	}
	for _, v := range s.versions {
		if v.PipelineID == pid {
			out.PipelineVersions = append(out.PipelineVersions, pipelineVersionV2{PipelineID: pid, PipelineVersionID: v.ID,
				DisplayName: v.Name, CreatedAt: formatTime(v.CreatedAt)})
		}
	}
	s.mu.Unlock()
	out.TotalSize = len(out.PipelineVersions)
	s.writeJSON(w, out)
}

// DELETE /apis/v2beta1/pipelines/{pipeline_id}/versions/{pipeline_version_id}
func (s *Server) deletePipelineVersionV2(w http.ResponseWriter, r *http.Request, vars []string) {
	pid, vid := vars[0], vars[1]
	v, ok := s.versionByID(vid)
	if !ok || v.PipelineID != pid {
		s.writeError(w, newResourceNotFoundError("PipelineVersion", vid).wrapf("Failed to access pipeline version %s. Check if it exists", vid))
		return
	}
	if uerr := s.canAccessPipeline(r, pid, "delete", "", ""); uerr != nil {
		s.writeError(w, uerr.wrapf("Failed to delete a pipeline version id %v due to authorization error for pipeline id %v", vid, pid))
		return
	}
	s.mu.Lock()
	delete(s.versions, vid)
	s.mu.Unlock()
	s.writeJSON(w, struct{}{})
}

// uploadFormKey is the multipart field of the upload endpoints (pipeline_upload_server.go FormFileKey).
const uploadFormKey = "uploadfile"

// uploadError is PipelineUploadServer.writeErrorToResponse: the status given, {"error_message", "error_details"}
// with no Content-Type of its own, so net/http sniffs one: text/plain for JSON text (set here explicitly, so
// every server, httptest's included, sends it). An authorization failure is 400 there, not 401 or 403.
func uploadError(w http.ResponseWriter, status int, e *userError) {
	b, _ := json.Marshal(map[string]string{"error_message": e.chain, "error_details": e.chain})
	w.Header().Set("Content-Type", http.DetectContentType(b))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// POST /apis/v2beta1/pipelines/upload?name=&display_name=&description=&namespace= with the package as the
// multipart file "uploadfile": a pipeline and its first version in one go.
func (s *Server) uploadPipeline(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	file, header, err := r.FormFile(uploadFormKey)
	if err != nil {
		uploadError(w, http.StatusBadRequest, newInvalidInputError("%v", err).wrap("Failed to read pipeline from file"))
		return
	}
	defer file.Close()
	raw, err := io.ReadAll(file)
	if err != nil {
		uploadError(w, http.StatusBadRequest, newInvalidInputError("%v", err).wrap("Failed to read pipeline from file"))
		return
	}
	var spec map[string]any
	if err := yaml.Unmarshal(raw, &spec); err != nil || spec["pipelineInfo"] == nil || spec["root"] == nil {
		uploadError(w, http.StatusBadRequest, newInvalidInputError("the file is not a KFP pipeline spec (pipelineInfo and root are required)").
			wrap("Failed to upload a pipeline"))
		return
	}
	q := r.URL.Query()
	name := q.Get("name")
	if name == "" {
		name = q.Get("display_name")
	}
	if name == "" {
		name = path.Base(header.Filename)
	}
	namespace := s.replaceNamespace(q.Get("namespace"))
	if uerr := s.canAccessPipeline(r, "", "create", namespace, name); uerr != nil {
		uploadError(w, http.StatusBadRequest, uerr.wrap("Failed to create a pipeline due to authorization error"))
		return
	}
	p := pipeline{ID: newUUID(), Name: name, Description: q.Get("description"), Namespace: namespace, CreatedAt: s.cfg.Now().Unix()}
	if uerr := s.insertPipeline(p); uerr != nil {
		uploadError(w, http.StatusConflict, uerr.wrap("Failed to create a pipeline and a pipeline version"))
		return
	}
	v := pipelineVersion{ID: newUUID(), PipelineID: p.ID, Name: name, Spec: spec, CreatedAt: p.CreatedAt}
	s.mu.Lock()
	s.versions[v.ID] = &v
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(marshalWire(s.cfg.ErrorFormat, toPipelineV2(p)))
}

// insertPipeline stores p unless its name is taken in its namespace.
func (s *Server) insertPipeline(p pipeline) *userError {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.pipelines {
		if o.Name == p.Name && o.Namespace == p.Namespace {
			return newAlreadyExistError("Failed to create a new pipeline. The name %v already exist. Please specify a new name", p.Name)
		}
	}
	s.pipelines[p.ID] = &p
	return nil
}

func (s *Server) pipelineByID(id string) (pipeline, bool) { return lookup(s, s.pipelines, id) }

func (s *Server) pipelinesIn(namespace string) []pipeline {
	return where(s, s.pipelines, func(p pipeline) bool { return p.Namespace == namespace })
}

func (s *Server) versionByID(id string) (pipelineVersion, bool) { return lookup(s, s.versions, id) }

// latestVersion is the pipeline's newest version, as a run that names only the pipeline gets.
func (s *Server) latestVersion(pipelineID string) (pipelineVersion, bool) {
	vs := where(s, s.versions, func(v pipelineVersion) bool { return v.PipelineID == pipelineID })
	if len(vs) == 0 {
		return pipelineVersion{}, false
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].CreatedAt > vs[j].CreatedAt })
	return vs[0], true
}

func (s *Server) removePipeline(id string) *userError {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.versions {
		if v.PipelineID == id {
			return newFailedPreconditionError(fmt.Sprintf("Failed to delete pipeline %v. Pipeline has existing versions", id))
		}
	}
	delete(s.pipelines, id)
	return nil
}

// pipelineNotFound is the answer to a run that names a pipeline the server does not have.
func pipelineNotFound(id string) *userError {
	return newResourceNotFoundError("Pipeline", id).wrap(fmt.Sprintf("Failed to fetch a pipeline version for pipeline %s", id))
}
