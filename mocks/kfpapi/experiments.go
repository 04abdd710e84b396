package kfpapi

import (
	"net/http"
)

// experimentV2 is v2beta1 Experiment as the gateway writes it (proto names, defaults left out).
type experimentV2 struct {
	ExperimentID string `json:"experiment_id,omitempty"`
	DisplayName  string `json:"display_name,omitempty"`
	Description  string `json:"description,omitempty"`
	CreatedAt    string `json:"created_at,omitempty"`
	Namespace    string `json:"namespace,omitempty"`
	StorageState string `json:"storage_state,omitempty"`
}

type listExperimentsV2 struct {
	Experiments   []experimentV2 `json:"experiments,omitempty"`
	TotalSize     int            `json:"total_size,omitempty"`
	NextPageToken string         `json:"next_page_token,omitempty"`
}

func toExperimentV2(e experiment) experimentV2 {
	return experimentV2{ExperimentID: e.ID, DisplayName: e.Name, Description: e.Description,
		CreatedAt: formatTime(e.CreatedAt), Namespace: e.Namespace, StorageState: "AVAILABLE"}
}

// replaceNamespace is ResourceManager.ReplaceNamespace: namespaces exist only in multi-user mode.
func (s *Server) replaceNamespace(ns string) string {
	if !s.cfg.MultiUser {
		return ""
	}
	return ns
}

// isEmptyNamespace is ResourceManager.IsEmptyNamespace.
func isEmptyNamespace(ns string) bool { return ns == "" || ns == "-" }

// canAccessExperiment is ExperimentServer.canAccessExperiment: the experiment lookup and the empty-namespace
// check come before authentication.
func (s *Server) canAccessExperiment(r *http.Request, experimentID, verb, namespace, name string) *userError {
	if !s.cfg.MultiUser {
		return nil
	}
	if experimentID != "" {
		e, ok := s.experimentByID(experimentID)
		if !ok {
			return newResourceNotFoundError("Experiment", experimentID).wrap("Failed to authorize with the experiment ID")
		}
		namespace = e.Namespace
		if name == "" {
			name = e.Name
		}
	}
	if isEmptyNamespace(namespace) {
		return newInvalidInputError("An experiment cannot have an empty namespace in multi-user mode")
	}
	if uerr := s.isAuthorized(r, pipelinesAttributes("experiments", verb, namespace, name)); uerr != nil {
		return uerr.wrap("Failed to authorize with API")
	}
	return nil
}

// listExperiments is ExperimentServer.listExperiments after the request-specific parsing.
func (s *Server) listExperiments(r *http.Request, opts listOptions, namespace string) ([]experiment, int, string, *userError) {
	namespace = s.replaceNamespace(namespace)
	if uerr := s.canAccessExperiment(r, "", "list", namespace, ""); uerr != nil {
		return nil, 0, "", uerr.wrap("Failed to authorize with API")
	}
	all := s.experimentsIn(namespace)
	out, next := page(all, func(e experiment) string { return e.ID }, opts, "experiments")
	return out, len(all), next, nil
}

// listOptionsFromQuery parses page_token and page_size; errors are the gateway's or validatedListOptions'.
func (s *Server) listOptionsFromQuery(r *http.Request) (listOptions, *userError) {
	size, uerr := s.queryInt32(r, "page_size")
	if uerr != nil {
		return listOptions{}, uerr
	}
	opts, uerr := parseListOptions(r.URL.Query().Get("page_token"), size)
	if uerr != nil {
		return opts, uerr.wrap("Failed to create list options")
	}
	return opts, nil
}

// GET /apis/v2beta1/experiments?namespace=
func (s *Server) listExperimentsV2(w http.ResponseWriter, r *http.Request, _ []string) {
	opts, uerr := s.listOptionsFromQuery(r)
	if uerr != nil {
		s.writeError(w, uerr)
		return
	}
	exps, total, next, uerr := s.listExperiments(r, opts, r.URL.Query().Get("namespace"))
	if uerr != nil {
		s.writeError(w, uerr.wrap("List experiments failed"))
		return
	}
	resp := listExperimentsV2{TotalSize: total, NextPageToken: next}
	for _, e := range exps {
		resp.Experiments = append(resp.Experiments, toExperimentV2(e))
	}
	s.writeJSON(w, resp)
}

// createExperiment is ExperimentServer.createExperiment after the conversion.
func (s *Server) createExperiment(r *http.Request, name, description, namespace string) (experiment, *userError) {
	namespace = s.replaceNamespace(namespace)
	if uerr := s.canAccessExperiment(r, "", "create", namespace, name); uerr != nil {
		return experiment{}, uerr.wrap("Failed to authorize the request")
	}
	e := experiment{ID: newUUID(), Name: name, Description: description, Namespace: namespace, CreatedAt: s.cfg.Now().Unix()}
	if uerr := s.insertExperiment(&e); uerr != nil {
		return experiment{}, uerr
	}
	return e, nil
}

// emptyNameError is toModelExperiment's answer to a missing name: an Internal error, before authorization.
func emptyNameError() *userError {
	return newInternalServerError("Invalid input error: Experiment must have a non-empty name", "Failed to convert API experiment to model experiment")
}

// POST /apis/v2beta1/experiments with the Experiment as the body.
func (s *Server) createExperimentV2(w http.ResponseWriter, r *http.Request, _ []string) {
	var in experimentV2
	if uerr := decodeBody(r, &in); uerr != nil {
		s.writeError(w, uerr)
		return
	}
	if in.DisplayName == "" {
		s.writeError(w, emptyNameError().wrap("[ExperimentServer]: Failed to create a experiment due to conversion error"))
		return
	}
	e, uerr := s.createExperiment(r, in.DisplayName, in.Description, in.Namespace)
	if uerr != nil {
		s.writeError(w, uerr.wrap("Failed to create a experiment"))
		return
	}
	s.writeJSON(w, toExperimentV2(e))
}

// getExperiment is ExperimentServer.getExperiment.
func (s *Server) getExperiment(r *http.Request, id string) (experiment, *userError) {
	if uerr := s.canAccessExperiment(r, id, "get", "", ""); uerr != nil {
		return experiment{}, uerr.wrap("Failed to authorize the request")
	}
	e, ok := s.experimentByID(id)
	if !ok {
		return experiment{}, newResourceNotFoundError("Experiment", id)
	}
	return e, nil
}

// GET /apis/v2beta1/experiments/{experiment_id}
func (s *Server) getExperimentV2(w http.ResponseWriter, r *http.Request, vars []string) {
	e, uerr := s.getExperiment(r, vars[0])
	if uerr != nil {
		s.writeError(w, uerr.wrap("Failed to fetch experiment"))
		return
	}
	s.writeJSON(w, toExperimentV2(e))
}
