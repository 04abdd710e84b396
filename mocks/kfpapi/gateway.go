package kfpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxRequestBody bounds what the stand-in reads from a request body.
const maxRequestBody = 1 << 20

// route is one grpc-gateway pattern: literal segments, "*" for a path variable, and the ":verb" suffix of the
// last segment where the method has one (runs/{id}:archive).
type route struct {
	method  string
	pattern []string
	handle  func(s *Server, w http.ResponseWriter, r *http.Request, vars []string)
	verb    string
}

var gatewayRoutes = []route{
	{http.MethodGet, []string{"apis", "v2beta1", "experiments"}, (*Server).listExperimentsV2, ""},
	{http.MethodPost, []string{"apis", "v2beta1", "experiments"}, (*Server).createExperimentV2, ""},
	{http.MethodGet, []string{"apis", "v2beta1", "experiments", "*"}, (*Server).getExperimentV2, ""},
	{http.MethodGet, []string{"apis", "v1beta1", "experiments"}, (*Server).listExperimentsV1, ""},
	{http.MethodPost, []string{"apis", "v1beta1", "experiments"}, (*Server).createExperimentV1, ""},
	{http.MethodGet, []string{"apis", "v1beta1", "experiments", "*"}, (*Server).getExperimentV1, ""},
	{http.MethodGet, []string{"apis", "v2beta1", "runs"}, (*Server).listRunsV2, ""},
	{http.MethodGet, []string{"apis", "v1beta1", "runs"}, (*Server).listRunsV1, ""},
	{http.MethodPost, []string{"apis", "v2beta1", "runs"}, (*Server).createRunV2, ""},
	{http.MethodGet, []string{"apis", "v2beta1", "runs", "*"}, (*Server).getRunV2, ""},
	{http.MethodDelete, []string{"apis", "v2beta1", "runs", "*"}, (*Server).deleteRunV2, ""},
	{http.MethodPost, []string{"apis", "v2beta1", "runs", "*"}, (*Server).archiveRunV2, "archive"},
	{http.MethodPost, []string{"apis", "v2beta1", "runs", "*"}, (*Server).unarchiveRunV2, "unarchive"},
	{http.MethodPost, []string{"apis", "v2beta1", "runs", "*"}, (*Server).terminateRunV2, "terminate"},
	{http.MethodPost, []string{"apis", "v2beta1", "runs", "*"}, (*Server).retryRunV2, "retry"},
	{http.MethodPost, []string{"apis", "v2beta1", "pipelines"}, (*Server).createPipelineV2, ""},
	{http.MethodGet, []string{"apis", "v2beta1", "pipelines"}, (*Server).listPipelinesV2, ""},
	{http.MethodGet, []string{"apis", "v2beta1", "pipelines", "*"}, (*Server).getPipelineV2, ""},
	{http.MethodDelete, []string{"apis", "v2beta1", "pipelines", "*"}, (*Server).deletePipelineV2, ""},
	{http.MethodGet, []string{"apis", "v2beta1", "pipelines", "*", "versions"}, (*Server).listPipelineVersionsV2, ""},
	{http.MethodDelete, []string{"apis", "v2beta1", "pipelines", "*", "versions", "*"}, (*Server).deletePipelineVersionV2, ""},
}

// match returns the path variables when components and verb fit the pattern.
func (rt route) match(components []string, verb string) ([]string, bool) {
	if verb != rt.verb || len(components) != len(rt.pattern) {
		return nil, false
	}
	var vars []string
	for i, p := range rt.pattern {
		switch {
		case p == "*":
			vars = append(vars, components[i])
		case p != components[i]:
			return nil, false
		}
	}
	return vars, true
}

// serveGateway is runtime.ServeMux.ServeHTTP: a pattern for the method, else 405 when another method has the
// pattern, else 404. grpc-gateway v1 answers those two with http.Error text; v2 with a JSON status
// (NotFound, and Unimplemented, which maps to 501).
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	components := strings.Split(r.URL.Path[1:], "/")
	last := components[len(components)-1]
	verb := ""
	if i := strings.LastIndex(last, ":"); i == 0 {
		s.routingError(w, http.StatusNotFound)
		return
	} else if i > 0 {
		components[len(components)-1], verb = last[:i], last[i+1:]
	}
	otherMethod := false
	for _, rt := range gatewayRoutes {
		vars, ok := rt.match(components, verb)
		if !ok {
			continue
		}
		if rt.method == r.Method {
			rt.handle(s, w, r, vars)
			return
		}
		otherMethod = true
	}
	if otherMethod {
		s.routingError(w, http.StatusMethodNotAllowed)
		return
	}
	s.routingError(w, http.StatusNotFound)
}

func (s *Server) routingError(w http.ResponseWriter, status int) {
	if s.cfg.ErrorFormat == ErrorFormatV1 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	code := codeNotFound
	if status == http.StatusMethodNotAllowed {
		code = codeUnimplemented
	}
	s.writeError(w, newGatewayError(code, http.StatusText(status)))
}

// queryInt32 parses an int32 query parameter as the gateway's query parser does; absent is 0.
func (s *Server) queryInt32(r *http.Request, name string) (int, *userError) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		msg := err.Error()
		if s.cfg.ErrorFormat == ErrorFormatV2 {
			msg = fmt.Sprintf("type mismatch, parameter: %s, error: %v", name, err)
		}
		return 0, newGatewayError(codeInvalidArgument, msg)
	}
	return int(n), nil
}

// decodeBody reads the request body into v like the gateway's JSON decoder: unknown fields are ignored and
// an empty body leaves v empty.
func decodeBody(r *http.Request, v any) *userError {
	err := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody)).Decode(v)
	if err != nil && !errors.Is(err, io.EOF) {
		return newGatewayError(codeInvalidArgument, err.Error())
	}
	return nil
}

// v1beta1 ResourceType enum.
var resourceTypes = map[string]int{
	"UNKNOWN_RESOURCE_TYPE": 0, "EXPERIMENT": 1, "JOB": 2, "PIPELINE": 3, "PIPELINE_VERSION": 4, "NAMESPACE": 5,
}

const (
	resourceTypeExperiment = 1
	resourceTypeNamespace  = 5
)

var resourceTypeNames = map[int]string{0: "UNKNOWN_RESOURCE_TYPE", 1: "EXPERIMENT", 2: "JOB", 3: "PIPELINE", 4: "PIPELINE_VERSION", 5: "NAMESPACE"}

// parseResourceType accepts an enum name or number, as both gateway decoders do.
func parseResourceType(v string) (int, bool) {
	if n, ok := resourceTypes[v]; ok {
		return n, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	if _, ok := resourceTypeNames[n]; !ok {
		return 0, false
	}
	return n, true
}

// resourceKey is v1beta1 ResourceKey, from a query or a body.
type resourceKey struct {
	typ int
	id  string
}

// queryResourceKey reads resource_reference_key.{type,id}; present is false when neither is set (a nil key).
func queryResourceKey(r *http.Request) (key resourceKey, present bool, uerr *userError) {
	q := r.URL.Query()
	typ, hasType := q["resource_reference_key.type"]
	id, hasID := q["resource_reference_key.id"]
	if !hasType && !hasID {
		return resourceKey{}, false, nil
	}
	if hasID {
		key.id = id[0]
	}
	if hasType {
		n, ok := parseResourceType(typ[0])
		if !ok {
			return key, true, newGatewayError(codeInvalidArgument, fmt.Sprintf("%q is not a valid ResourceType", typ[0]))
		}
		key.typ = n
	}
	return key, true, nil
}

// validateFilterV1 is the server's validateFilterV1 for keys that list.go understands.
func validateFilterV1(key resourceKey) *userError {
	switch key.typ {
	case 1, 2, 3, 4, 5:
		return nil
	}
	return newInvalidInputError("Failed to convert unsupported v1beta1 API resource type %s", resourceTypeNames[key.typ]).
		wrap("Unrecognized resource reference type")
}
