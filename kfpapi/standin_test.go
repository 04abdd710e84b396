package kfpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/kfpapi"
	mock "github.com/kfp-authcheck/kfp-authcheck/mocks/kfpapi"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
	nsA   = "kubeflow-user-alice"
)

// stack serves the stand-in's API handler directly and its UI under /pipeline, as the Kubeflow gateway does.
type stack struct {
	srv     *mock.Server
	api, ui string
}

func newStack(t *testing.T, cfg mock.Config) stack {
	t.Helper()
	if cfg.Authorizer == nil {
		cfg.Authorizer = mock.ProfileAuthorizer{Members: map[string][]string{nsA: {alice}}}
	}
	srv, err := mock.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(srv.APIHandler())
	t.Cleanup(api.Close)
	mux := http.NewServeMux()
	mux.Handle("/pipeline/", http.StripPrefix("/pipeline", srv.UIHandler()))
	gw := httptest.NewServer(mux)
	t.Cleanup(gw.Close)
	return stack{srv: srv, api: api.URL, ui: gw.URL + "/pipeline"}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func as(base, user string) *kfpapi.Client {
	c := &kfpapi.Client{BaseURL: base}
	if user != "" {
		c.Header = http.Header{"Kubeflow-Userid": {user}}
	}
	return c
}

func TestClientAgainstStandIn(t *testing.T) {
	st := newStack(t, mock.Config{MultiUser: true})
	if exps, err := as(st.ui, alice).ListExperiments(ctx(t), nsA); err != nil || exps != nil {
		t.Fatalf("empty list = %v, %v", exps, err)
	}
	for _, base := range []string{st.api, st.ui} {
		c := as(base, alice)
		e, err := c.CreateExperiment(ctx(t), nsA, "v2-"+base)
		if err != nil || e.Namespace != nsA || e.ID == "" || e.CreatedAt.IsZero() {
			t.Fatalf("CreateExperiment = %+v, %v", e, err)
		}
		e1, err := c.CreateExperimentV1(ctx(t), nsA, "v1-"+base)
		if err != nil || e1.Namespace != nsA || e1.DisplayName != "v1-"+base {
			t.Fatalf("CreateExperimentV1 = %+v, %v", e1, err)
		}
	}
	c := as(st.api, alice)
	v2, err := c.ListExperiments(ctx(t), nsA)
	if err != nil || len(v2) != 4 {
		t.Fatalf("ListExperiments = %d, %v", len(v2), err)
	}
	v1, err := c.ListExperimentsV1(ctx(t), nsA)
	if err != nil || len(v1) != 4 || v1[0].Namespace != nsA {
		t.Fatalf("ListExperimentsV1 = %+v, %v", v1, err)
	}
	if _, err := st.srv.AddRun(nsA, v2[0].ID, "r", "RUNNING"); err != nil {
		t.Fatal(err)
	}
	runs, err := c.ListRuns(ctx(t), nsA)
	if err != nil || len(runs) != 1 || runs[0].State != "RUNNING" || runs[0].Namespace != nsA {
		t.Fatalf("ListRuns = %+v, %v", runs, err)
	}
	var raw map[string]any
	status, err := c.Do(ctx(t), "GET", "/apis/v2beta1/experiments/"+v2[0].ID, nil, &raw)
	if err != nil || status != 200 || raw["experiment_id"] != v2[0].ID {
		t.Fatalf("Do get = %d %v %v", status, raw, err)
	}
}

// TestClientErrorPaths checks that each error of the stand-in reaches the caller as an *APIError with the
// status, the gRPC code and the message, in both body formats.
func TestClientErrorPaths(t *testing.T) {
	for _, format := range []string{mock.ErrorFormatV1, mock.ErrorFormatV2} {
		st := newStack(t, mock.Config{MultiUser: true, ErrorFormat: format, UserIDPrefix: "accounts.google.com:"})
		cases := []struct {
			name       string
			call       func(c *kfpapi.Client) error
			user       string
			wantStatus int
			wantCode   int
			wantMsg    string
		}{
			{"empty namespace", func(c *kfpapi.Client) error { _, err := c.ListExperiments(ctx(t), ""); return err },
				"", 400, 3, "An experiment cannot have an empty namespace in multi-user mode"},
			{"empty namespace runs", func(c *kfpapi.Client) error { _, err := c.ListRuns(ctx(t), ""); return err },
				"", 400, 3, "A run cannot have an empty namespace in multi-user mode"},
			{"no identity", func(c *kfpapi.Client) error { _, err := c.ListExperimentsV1(ctx(t), nsA); return err },
				"", 401, 16, "Failed to check authorization. User identity is empty in the request header: Unauthenticated: Request header error: there is no user identity header."},
			{"wrong prefix", func(c *kfpapi.Client) error { _, err := c.ListExperiments(ctx(t), nsA); return err },
				alice, 401, 16, "Header 'kubeflow-userid' is incorrectly formatted. Expected prefix 'accounts.google.com:'"},
			{"denied", func(c *kfpapi.Client) error { _, err := c.CreateExperiment(ctx(t), nsA, "x"); return err },
				"accounts.google.com:" + bob, 403, 7, "User 'bob@example.com' is not authorized with reason:  (request: &ResourceAttributes{Namespace:" + nsA + ",Verb:create,"},
			{"unknown path", func(c *kfpapi.Client) error {
				_, err := c.Do(ctx(t), "GET", "/apis/v2beta1/nothing", nil, nil)
				return err
			},
				"", 404, map[string]int{mock.ErrorFormatV1: 0, mock.ErrorFormatV2: 5}[format], map[string]string{mock.ErrorFormatV1: "", mock.ErrorFormatV2: "Not Found"}[format]},
		}
		for _, tc := range cases {
			t.Run(format+" "+tc.name, func(t *testing.T) {
				for _, base := range []string{st.api, st.ui} {
					err := tc.call(as(base, tc.user))
					var apiErr *kfpapi.APIError
					if !errors.As(err, &apiErr) {
						t.Fatalf("%s: err = %v, want *APIError", base, err)
					}
					if apiErr.StatusCode != tc.wantStatus || apiErr.Code != tc.wantCode || !strings.Contains(apiErr.Message, tc.wantMsg) {
						t.Errorf("%s: got %d/%d %q, want %d/%d containing %q", base, apiErr.StatusCode, apiErr.Code, apiErr.Message, tc.wantStatus, tc.wantCode, tc.wantMsg)
					}
					if !strings.Contains(err.Error(), fmt.Sprintf("HTTP %d", tc.wantStatus)) {
						t.Errorf("Error() = %q", err)
					}
				}
			})
		}
	}
}

func TestClientHealthz(t *testing.T) {
	st := newStack(t, mock.Config{MultiUser: true, CommitSHA: "abc", TagName: "2.16.0", PipelineStore: "database", ErrorFormat: mock.ErrorFormatV2})
	c := &kfpapi.Client{BaseURL: st.api}
	h, err := c.Healthz(ctx(t), "v2beta1")
	if err != nil {
		t.Fatal(err)
	}
	if h.FromUI() || h.CommitSHA != "abc" || h.APITagName() != "2.16.0" || !h.IsMultiUser() || h.PipelineStore != "database" || h.Raw["multi_user"] != true {
		t.Errorf("API healthz = %+v", h)
	}
	c.BaseURL = st.ui
	for _, v := range []string{"v1beta1", "v2beta1"} {
		h, err = c.Healthz(ctx(t), v)
		if err != nil {
			t.Fatal(err)
		}
		if !h.FromUI() || *h.APIServerReady != true || h.APIServerCommitHash != "abc" || h.APITagName() != "2.16.0" || !h.IsMultiUser() || h.FrontendTagName != "2.16.0" {
			t.Errorf("UI %s healthz = %+v", v, h)
		}
	}
	if _, err := c.Healthz(ctx(t), "v3"); err == nil {
		t.Error("unknown version accepted")
	}
}
