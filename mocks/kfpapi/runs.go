package kfpapi

import (
	"net/http"
)

// runV2 is the part of v2beta1 Run the stand-in fills in; v2beta1 runs carry no namespace field.
type runV2 struct {
	ExperimentID string `json:"experiment_id,omitempty"`
	RunID        string `json:"run_id,omitempty"`
	DisplayName  string `json:"display_name,omitempty"`
	StorageState string `json:"storage_state,omitempty"`
	CreatedAt    string `json:"created_at,omitempty"`
	State        string `json:"state,omitempty"`
	// PipelineVersionReference names the stored pipeline version the run was created from.
	PipelineVersionReference *pipelineVersionRefV2 `json:"pipeline_version_reference,omitempty"`
	ServiceAccount           string                `json:"service_account,omitempty"`
}

type listRunsV2 struct {
	Runs          []runV2 `json:"runs,omitempty"`
	TotalSize     int     `json:"total_size,omitempty"`
	NextPageToken string  `json:"next_page_token,omitempty"`
}

// runV1 is the part of v1beta1 Run the stand-in fills in; status is the Argo phase.
type runV1 struct {
	ID                 string                `json:"id,omitempty"`
	Name               string                `json:"name,omitempty"`
	StorageState       string                `json:"storage_state,omitempty"`
	CreatedAt          string                `json:"created_at,omitempty"`
	ResourceReferences []resourceReferenceV1 `json:"resource_references,omitempty"`
	Status             string                `json:"status,omitempty"`
}

type listRunsV1 struct {
	Runs          []runV1 `json:"runs,omitempty"`
	TotalSize     int     `json:"total_size,omitempty"`
	NextPageToken string  `json:"next_page_token,omitempty"`
}

// v1Status maps a v2 run state to the v1beta1 status string.
var v1Status = map[string]string{
	"PENDING": "Pending", "RUNNING": "Running", "SUCCEEDED": "Succeeded", "SKIPPED": "Skipped",
	"FAILED": "Failed", "CANCELING": "Terminating", "CANCELED": "Terminated", "PAUSED": "Paused",
}

// canAccessRun is RunServer.canAccessRun for list requests (no run id).
func (s *Server) canAccessRun(r *http.Request, verb, namespace string) *userError {
	if !s.cfg.MultiUser {
		return nil
	}
	if isEmptyNamespace(namespace) {
		return newInvalidInputError("A run cannot have an empty namespace in multi-user mode")
	}
	if uerr := s.isAuthorized(r, pipelinesAttributes("runs", verb, namespace, "")); uerr != nil {
		return uerr.wrapf("Failed to access run %s. Check if you have access to namespace %s", "", namespace)
	}
	return nil
}

// listRuns is RunServer.listRuns: an experiment filter takes the namespace from the experiment.
func (s *Server) listRuns(r *http.Request, opts listOptions, namespace, experimentID string) ([]run, int, string, *userError) {
	namespace = s.replaceNamespace(namespace)
	if experimentID != "" {
		e, ok := s.experimentByID(experimentID)
		if !ok {
			return nil, 0, "", newResourceNotFoundError("Experiment", experimentID).
				wrapf("Failed to fetch namespace from experiment %v", experimentID).
				wrapf("Failed to list runs due to error fetching namespace for experiment %s. Try filtering based on namespace", experimentID)
		}
		namespace = e.Namespace
	}
	if uerr := s.canAccessRun(r, "list", namespace); uerr != nil {
		return nil, 0, "", uerr.wrapf("Failed to list runs due to authorization error. Check if you have permission to access namespace %s", namespace)
	}
	all := s.runsWhere(func(x run) bool {
		if experimentID != "" {
			return x.ExperimentID == experimentID
		}
		return x.Namespace == namespace
	})
	out, next := page(all, func(x run) string { return x.ID }, opts, "run_details")
	return out, len(all), next, nil
}

// GET /apis/v2beta1/runs?namespace=&experiment_id=
func (s *Server) listRunsV2(w http.ResponseWriter, r *http.Request, _ []string) {
	opts, uerr := s.listOptionsFromQuery(r)
	if uerr != nil {
		s.writeError(w, uerr)
		return
	}
	q := r.URL.Query()
	runs, total, next, uerr := s.listRuns(r, opts, q.Get("namespace"), q.Get("experiment_id"))
	if uerr != nil {
		s.writeError(w, uerr.wrap("Failed to list runs"))
		return
	}
	resp := listRunsV2{TotalSize: total, NextPageToken: next}
	for _, x := range runs {
		resp.Runs = append(resp.Runs, toRunV2(x))
	}
	s.writeJSON(w, resp)
}

// GET /apis/v1beta1/runs?resource_reference_key.type=NAMESPACE|EXPERIMENT&resource_reference_key.id=
func (s *Server) listRunsV1(w http.ResponseWriter, r *http.Request, _ []string) {
	key, present, uerr := queryResourceKey(r)
	if uerr != nil {
		s.writeError(w, uerr)
		return
	}
	namespace, experimentID := "", ""
	if present {
		if uerr := validateFilterV1(key); uerr != nil {
			s.writeError(w, uerr.wrap("Failed to list v1beta1 runs: validating filter failed"))
			return
		}
		switch key.typ {
		case resourceTypeNamespace:
			namespace = key.id
		case resourceTypeExperiment:
			experimentID = key.id
		}
	}
	opts, uerr := s.listOptionsFromQuery(r)
	if uerr != nil {
		s.writeError(w, uerr)
		return
	}
	runs, total, next, uerr := s.listRuns(r, opts, namespace, experimentID)
	if uerr != nil {
		s.writeError(w, uerr.wrap("Failed to list v1beta1 runs"))
		return
	}
	resp := listRunsV1{TotalSize: total, NextPageToken: next}
	for _, x := range runs {
		refs := []resourceReferenceV1{{Key: resourceKeyV1{Type: "NAMESPACE", ID: x.Namespace}, Relationship: "OWNER"}}
		if x.ExperimentID != "" {
			refs = append(refs, resourceReferenceV1{Key: resourceKeyV1{Type: "EXPERIMENT", ID: x.ExperimentID}, Relationship: "OWNER"})
		}
		resp.Runs = append(resp.Runs, runV1{ID: x.ID, Name: x.Name, StorageState: "STORAGESTATE_AVAILABLE",
			CreatedAt: formatTime(x.CreatedAt), ResourceReferences: refs, Status: v1Status[x.State]})
	}
	s.writeJSON(w, resp)
}
