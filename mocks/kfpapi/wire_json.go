package kfpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Error body formats, by the grpc-gateway major version the KFP release is built with.
const (
	// ErrorFormatV1 is grpc-gateway v1.16.0 (KFP <= 2.5, Kubeflow 1.8-1.10): "error", "code", "message", "details".
	ErrorFormatV1 = "grpc-gateway-v1"
	// ErrorFormatV2 is grpc-gateway v2 (KFP >= 2.14, Kubeflow 1.11+): google.rpc.Status without "error", and
	// WWW-Authenticate on 401.
	ErrorFormatV2 = "grpc-gateway-v2"
)

// statusDetailType is the type URL of the google.rpc.Status detail KFP attaches to every UserError.
const statusDetailType = "type.googleapis.com/google.rpc.Status"

type statusDetail struct {
	Type    string `json:"@type"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// errorBodyV1 is grpc-gateway v1's internal.Error in declaration order; empty details are not emitted.
type errorBodyV1 struct {
	Error   string         `json:"error"`
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Details []statusDetail `json:"details,omitempty"`
}

// errorBodyV2 is google.rpc.Status as protojson writes it.
type errorBodyV2 struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Details []statusDetail `json:"details,omitempty"`
}

// marshalWire encodes like the gateway's marshaler: golang/protobuf jsonpb (v1) escapes HTML characters as
// encoding/json does ("&ResourceAttributes" becomes "\u0026ResourceAttributes"); protojson (v2) does not.
func marshalWire(format string, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(format != ErrorFormatV2)
	if err := enc.Encode(v); err != nil {
		// Only plain structs of strings and numbers are encoded here.
		return []byte(`{"error": "failed to marshal error message"}`)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// writeJSON answers 200 with a gateway-marshalled message.
func (s *Server) writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(marshalWire(s.cfg.ErrorFormat, v))
}

// writeError answers as grpc-gateway's DefaultHTTPError (v1) or DefaultHTTPErrorHandler (v2).
func (s *Server) writeError(w http.ResponseWriter, e *userError) {
	var details []statusDetail
	if e.withDetail {
		details = []statusDetail{{Type: statusDetailType, Code: e.code, Message: e.external}}
	}
	var body any = errorBodyV1{Error: e.chain, Code: e.code, Message: e.chain, Details: details}
	if s.cfg.ErrorFormat == ErrorFormatV2 {
		body = errorBodyV2{Code: e.code, Message: e.chain, Details: details}
		if e.code == codeUnauthenticated {
			w.Header().Set("WWW-Authenticate", e.chain)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatusFromCode(e.code))
	_, _ = w.Write(marshalWire(s.cfg.ErrorFormat, body))
}
