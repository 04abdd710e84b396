package kfpapi

import (
	"fmt"
	"net/http"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// createRunV2In is the part of v2beta1 Run a CreateRun request carries that the stand-in reads.
type createRunV2In struct {
	DisplayName              string         `json:"display_name"`
	ServiceAccount           string         `json:"service_account"`
	ExperimentID             string         `json:"experiment_id"`
	PipelineSpec             map[string]any `json:"pipeline_spec"`
	PipelineVersionReference *struct {
		PipelineID        string `json:"pipeline_id"`
		PipelineVersionID string `json:"pipeline_version_id"`
	} `json:"pipeline_version_reference"`
}

type pipelineVersionRefV2 struct {
	PipelineID        string `json:"pipeline_id,omitempty"`
	PipelineVersionID string `json:"pipeline_version_id,omitempty"`
}

func toRunV2(x run) runV2 {
	out := runV2{ExperimentID: x.ExperimentID, RunID: x.ID, DisplayName: x.Name, StorageState: x.storageState(),
		CreatedAt: formatTime(x.CreatedAt), State: x.State, ServiceAccount: x.ServiceAccount}
	if x.PipelineID != "" {
		out.PipelineVersionReference = &pipelineVersionRefV2{PipelineID: x.PipelineID, PipelineVersionID: x.PipelineVersionID}
	}
	return out
}

func (x run) storageState() string {
	if x.Archived {
		return "ARCHIVED"
	}
	return "AVAILABLE"
}

// canAccessRunByID is BaseRunServer.canAccessRun with a run id: the run (404 when unknown), its namespace
// (the experiment's for an old run without one), then the SubjectAccessReview.
func (s *Server) canAccessRunByID(r *http.Request, id, verb string) *userError {
	if !s.cfg.MultiUser {
		if _, ok := s.runByID(id); !ok {
			return newResourceNotFoundError("Run", id)
		}
		return nil
	}
	x, ok := s.runByID(id)
	if !ok {
		return newResourceNotFoundError("Run", id).wrapf("Failed to authorize with the run ID %v", id)
	}
	namespace := x.Namespace
	if isEmptyNamespace(namespace) {
		if e, ok := s.experimentByID(x.ExperimentID); ok {
			namespace = e.Namespace
		}
	}
	if uerr := s.isAuthorized(r, pipelinesAttributes("runs", verb, namespace, x.Name)); uerr != nil {
		return uerr.wrapf("Failed to access run %s. Check if you have access to namespace %s", id, namespace)
	}
	return nil
}

// POST /apis/v2beta1/runs: BaseRunServer.createRun. The namespace is the experiment's; authorization is in
// that namespace only. A pipeline_version_reference is resolved without any check of the referenced pipeline's
// namespace, as KFP did until GHSA-v83x-544f-ph2r (pipelines PR#14348); Config.AuthorizePipelineReferences
// turns the fix on.
func (s *Server) createRunV2(w http.ResponseWriter, r *http.Request, _ []string) {
	var in createRunV2In
	if uerr := decodeBody(r, &in); uerr != nil {
		s.writeError(w, uerr)
		return
	}
	x, uerr := s.createRun(r, in)
	if uerr != nil {
		s.writeError(w, uerr.wrap("Failed to create a new run"))
		return
	}
	s.writeJSON(w, toRunV2(x))
}

func (s *Server) createRun(r *http.Request, in createRunV2In) (run, *userError) {
	if in.DisplayName == "" {
		return run{}, newInvalidInputError("The run name is empty. Please specify a valid name").wrap("Failed to create a run due to invalid name")
	}
	namespace := ""
	if in.ExperimentID != "" {
		e, ok := s.experimentByID(in.ExperimentID)
		if !ok {
			return run{}, newResourceNotFoundError("Experiment", in.ExperimentID).
				wrap("Failed to create a run due to invalid experimentId and namespace combination")
		}
		namespace = e.Namespace
	}
	if s.cfg.MultiUser && isEmptyNamespace(namespace) {
		return run{}, newInvalidInputError("A run cannot have an empty namespace in multi-user mode")
	}
	if s.cfg.MultiUser {
		if uerr := s.isAuthorized(r, pipelinesAttributes("runs", "create", namespace, "")); uerr != nil {
			return run{}, uerr.wrapf("Failed to access run %s. Check if you have access to namespace %s", "", namespace).
				wrapf("Failed to create a run due to authorization error. Check if you have write permissions to namespace %s", namespace)
		}
	}
	if uerr := s.authorizeServiceAccount(r, in.ServiceAccount, namespace); uerr != nil {
		return run{}, uerr
	}
	x := run{ID: newUUID(), Name: in.DisplayName, Namespace: s.replaceNamespace(namespace), ExperimentID: in.ExperimentID,
		State: "PENDING", CreatedAt: s.cfg.Now().Unix(), ServiceAccount: in.ServiceAccount}
	switch ref := in.PipelineVersionReference; {
	case ref != nil && ref.PipelineID != "":
		if uerr := s.resolvePipelineReference(r, &x, ref.PipelineID, ref.PipelineVersionID, namespace); uerr != nil {
			return run{}, uerr
		}
	case len(in.PipelineSpec) > 0:
		if in.PipelineSpec["pipelineInfo"] == nil || in.PipelineSpec["root"] == nil {
			return run{}, newInvalidInputError("Failed to create a run: the pipeline spec has no pipelineInfo or root")
		}
	default:
		return run{}, newInvalidInputError("Failed to create a run: neither a pipeline spec nor a pipeline version reference is given")
	}
	s.mu.Lock()
	s.runs[x.ID] = &x
	s.mu.Unlock()
	return x, nil
}

// resolvePipelineReference loads the referenced version (the pipeline's latest when no version is named).
func (s *Server) resolvePipelineReference(r *http.Request, x *run, pipelineID, versionID, namespace string) *userError {
	p, ok := s.pipelineByID(pipelineID)
	if !ok {
		return pipelineNotFound(pipelineID)
	}
	if s.cfg.AuthorizePipelineReferences {
		if uerr := s.canAccessPipeline(r, pipelineID, "get", "", ""); uerr != nil {
			return uerr.wrap("Failed to create a run due to authorization error on the referenced pipeline")
		}
		if !isEmptyNamespace(p.Namespace) && p.Namespace != namespace {
			return newInvalidInputError("pipeline %s belongs to namespace %s, not to the run's namespace %s", pipelineID, p.Namespace, namespace)
		}
	}
	var v pipelineVersion
	if versionID != "" {
		v, ok = s.versionByID(versionID)
		ok = ok && v.PipelineID == pipelineID
	} else {
		v, ok = s.latestVersion(pipelineID)
	}
	if !ok {
		return pipelineNotFound(pipelineID)
	}
	x.PipelineID, x.PipelineVersionID = pipelineID, v.ID
	return nil
}

// GET /apis/v2beta1/runs/{run_id}
func (s *Server) getRunV2(w http.ResponseWriter, r *http.Request, vars []string) {
	if uerr := s.canAccessRunByID(r, vars[0], "get"); uerr != nil {
		s.writeError(w, uerr.wrap("Failed to authorize the request").wrap("Failed to get a run"))
		return
	}
	x, ok := s.runByID(vars[0])
	if !ok {
		s.writeError(w, newResourceNotFoundError("Run", vars[0]).wrap("Failed to get a run"))
		return
	}
	s.writeJSON(w, toRunV2(x))
}

// DELETE /apis/v2beta1/runs/{run_id}
func (s *Server) deleteRunV2(w http.ResponseWriter, r *http.Request, vars []string) {
	s.runAction(w, r, vars[0], "delete", "Failed to delete a run", nil)
}

func (s *Server) archiveRunV2(w http.ResponseWriter, r *http.Request, vars []string) {
	s.runAction(w, r, vars[0], "archive", "Failed to archive a run", func(x *run) *userError { x.Archived = true; return nil })
}

func (s *Server) unarchiveRunV2(w http.ResponseWriter, r *http.Request, vars []string) {
	s.runAction(w, r, vars[0], "unarchive", "Failed to unarchive a run", func(x *run) *userError { x.Archived = false; return nil })
}

// terminateRunV2 marks the run CANCELED (the stand-in has no workflow to stop).
func (s *Server) terminateRunV2(w http.ResponseWriter, r *http.Request, vars []string) {
	s.runAction(w, r, vars[0], "terminate", "Failed to terminate a run", func(x *run) *userError { x.State = "CANCELED"; return nil })
}

// retryRunV2 reruns a failed run. The stand-in has no workflow: a run that has not failed is refused as a bad
// request, where the real server looks at the Argo workflow's phase.
func (s *Server) retryRunV2(w http.ResponseWriter, r *http.Request, vars []string) {
	s.runAction(w, r, vars[0], "retry", "Failed to retry a run", func(x *run) *userError {
		if x.State != "FAILED" {
			return newBadRequestError("Workflow cannot be retried: the run has not failed")
		}
		x.State = "RUNNING"
		return nil
	})
}

// runAction authorizes verb on the run, then applies change (nil for delete, which removes the run) and
// answers {}.
func (s *Server) runAction(w http.ResponseWriter, r *http.Request, id, verb, what string, change func(*run) *userError) {
	if uerr := s.canAccessRunByID(r, id, verb); uerr != nil && !(verb != "delete" && mutate.On(mutate.KFPRunWritesUnchecked)) {
		s.writeError(w, uerr.wrap("Failed to authorize the request").wrap(what))
		return
	}
	s.mu.Lock()
	x, ok := s.runs[id]
	var uerr *userError
	switch {
	case !ok:
		uerr = newResourceNotFoundError("Run", id)
	case verb == "delete":
		delete(s.runs, id)
	default:
		uerr = change(x)
	}
	s.mu.Unlock()
	if uerr != nil {
		s.writeError(w, uerr.wrap(what))
		return
	}
	s.writeJSON(w, struct{}{})
}

func (s *Server) runByID(id string) (run, bool) { return lookup(s, s.runs, id) }

// authorizeServiceAccount is the confused-deputy fix of pipelines PR#14181, where Config.AuthorizeServiceAccounts
// turns it on: a caller-chosen serviceAccountName other than the namespace's default must be on the allow-list
// (ALLOWEDSERVICEACCOUNTS) and the caller must pass a SubjectAccessReview for "use" on that ServiceAccount. KFP
// releases before it, which the built-in profiles model, store any name and run the pods as it. The modelled
// refusals are 403 with the stand-in's own wording: the fixed server's exact messages are not recorded.
func (s *Server) authorizeServiceAccount(r *http.Request, sa, namespace string) *userError {
	if !s.cfg.AuthorizeServiceAccounts || !s.cfg.MultiUser || sa == "" || sa == DefaultRunServiceAccount {
		return nil
	}
	allowed := false
	for _, a := range s.cfg.AllowedServiceAccounts {
		allowed = allowed || a == sa
	}
	if !allowed {
		return newPermissionDeniedError(fmt.Sprintf("service account %s is not in the allowed service accounts", sa)).
			wrap("Failed to create a run due to authorization error on the service account")
	}
	attrs := ResourceAttributes{Namespace: namespace, Verb: "use", Version: "v1", Resource: "serviceaccounts", Name: sa}
	if uerr := s.isAuthorized(r, attrs); uerr != nil {
		return uerr.wrap("Failed to create a run due to authorization error on the service account")
	}
	return nil
}
