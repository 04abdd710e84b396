package kfpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// resourceReferenceV1 is v1beta1 ResourceReference; enums are written by name.
type resourceReferenceV1 struct {
	Key          resourceKeyV1 `json:"key"`
	Name         string        `json:"name,omitempty"`
	Relationship string        `json:"relationship,omitempty"`
}

type resourceKeyV1 struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
}

// experimentV1 is v1beta1 Experiment: the namespace is an OWNER reference of type NAMESPACE.
type experimentV1 struct {
	ID                 string                `json:"id,omitempty"`
	Name               string                `json:"name,omitempty"`
	Description        string                `json:"description,omitempty"`
	CreatedAt          string                `json:"created_at,omitempty"`
	ResourceReferences []resourceReferenceV1 `json:"resource_references,omitempty"`
	StorageState       string                `json:"storage_state,omitempty"`
}

type listExperimentsV1 struct {
	Experiments   []experimentV1 `json:"experiments,omitempty"`
	TotalSize     int            `json:"total_size,omitempty"`
	NextPageToken string         `json:"next_page_token,omitempty"`
}

func toExperimentV1(e experiment) experimentV1 {
	return experimentV1{
		ID: e.ID, Name: e.Name, Description: e.Description, CreatedAt: formatTime(e.CreatedAt),
		// toApiExperimentV1 always writes the reference, with an empty id in single-user mode.
		ResourceReferences: []resourceReferenceV1{{Key: resourceKeyV1{Type: "NAMESPACE", ID: e.Namespace}, Relationship: "OWNER"}},
		StorageState:       "STORAGESTATE_AVAILABLE",
	}
}

// createExperimentV1Body is the request body; the key type may be an enum name or number.
type createExperimentV1Body struct {
	Name               string `json:"name"`
	Description        string `json:"description"`
	ResourceReferences []struct {
		Key struct {
			Type json.RawMessage `json:"type"`
			ID   string          `json:"id"`
		} `json:"key"`
	} `json:"resource_references"`
}

// namespace is getNamespaceFromResourceReferenceV1: the first reference keyed NAMESPACE.
func (b createExperimentV1Body) namespace() (string, *userError) {
	for _, ref := range b.ResourceReferences {
		if len(ref.Key.Type) == 0 {
			continue
		}
		raw := string(ref.Key.Type)
		if unq, err := strconv.Unquote(raw); err == nil {
			raw = unq
		}
		typ, ok := parseResourceType(raw)
		if !ok {
			return "", newGatewayError(codeInvalidArgument, "unknown value "+string(ref.Key.Type)+" for enum api.ResourceType")
		}
		if typ == resourceTypeNamespace {
			return ref.Key.ID, nil
		}
	}
	return "", nil
}

// GET /apis/v1beta1/experiments?resource_reference_key.type=NAMESPACE&resource_reference_key.id=
func (s *Server) listExperimentsV1(w http.ResponseWriter, r *http.Request, _ []string) {
	key, present, uerr := queryResourceKey(r)
	if uerr != nil {
		s.writeError(w, uerr)
		return
	}
	namespace := ""
	if present {
		if uerr := validateFilterV1(key); uerr != nil {
			s.writeError(w, uerr.wrap("Validating v1beta1 filter failed"))
			return
		}
		if key.typ != resourceTypeNamespace {
			s.writeError(w, newInvalidInputError("Failed to list v1beta1 experiment due to invalid resource reference key. It must be of type 'Namespace' and contain an existing or empty namespace, but you provided %v of type %v", key.id, modelResourceType(key.typ)))
			return
		}
		namespace = key.id
	}
	opts, uerr := s.listOptionsFromQuery(r)
	if uerr != nil {
		s.writeError(w, uerr)
		return
	}
	exps, total, next, uerr := s.listExperiments(r, opts, namespace)
	if uerr != nil {
		s.writeError(w, uerr.wrap("List v1beta1 experiments failed"))
		return
	}
	resp := listExperimentsV1{TotalSize: total, NextPageToken: next}
	for _, e := range exps {
		resp.Experiments = append(resp.Experiments, toExperimentV1(e))
	}
	s.writeJSON(w, resp)
}

// modelResourceType is the model.ResourceType spelling the server prints in messages.
func modelResourceType(typ int) string {
	switch typ {
	case resourceTypeExperiment:
		return "Experiment"
	case 2:
		return "Job"
	case 3:
		return "pipeline"
	case 4:
		return "PipelineVersion"
	case resourceTypeNamespace:
		return "Namespace"
	}
	return ""
}

// POST /apis/v1beta1/experiments with the Experiment as the body.
func (s *Server) createExperimentV1(w http.ResponseWriter, r *http.Request, _ []string) {
	var in createExperimentV1Body
	if uerr := decodeBody(r, &in); uerr != nil {
		s.writeError(w, uerr)
		return
	}
	namespace, uerr := in.namespace()
	if uerr != nil {
		s.writeError(w, uerr)
		return
	}
	if in.Name == "" {
		s.writeError(w, emptyNameError().wrap("[ExperimentServer]: Failed to create a v1beta1 experiment due to conversion error"))
		return
	}
	e, uerr := s.createExperiment(r, in.Name, in.Description, namespace)
	if uerr != nil {
		s.writeError(w, uerr.wrap("Failed to create a v1beta1 experiment"))
		return
	}
	s.writeJSON(w, toExperimentV1(e))
}

// GET /apis/v1beta1/experiments/{id}
func (s *Server) getExperimentV1(w http.ResponseWriter, r *http.Request, vars []string) {
	e, uerr := s.getExperiment(r, vars[0])
	if uerr != nil {
		s.writeError(w, uerr.wrap("Failed to fetch v1beta1 experiment"))
		return
	}
	s.writeJSON(w, toExperimentV1(e))
}
