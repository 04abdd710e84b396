package kfpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"
)

// maxPages bounds how many pages a list call follows.
const maxPages = 50

// Healthz reads /apis/<version>/healthz, version "v1beta1" or "v2beta1".
func (c *Client) Healthz(ctx context.Context, version string) (*Healthz, error) {
	if version != "v1beta1" && version != "v2beta1" {
		return nil, fmt.Errorf("kfp api healthz: unknown API version %q (want v1beta1 or v2beta1)", version)
	}
	var raw json.RawMessage
	if _, err := c.Do(ctx, "GET", "/apis/"+version+"/healthz", nil, &raw); err != nil {
		return nil, err
	}
	h := &Healthz{}
	if err := json.Unmarshal(raw, h); err != nil {
		return nil, fmt.Errorf("kfp api healthz: decode: %w", err)
	}
	if err := json.Unmarshal(raw, &h.Raw); err != nil {
		return nil, fmt.Errorf("kfp api healthz: decode: %w", err)
	}
	return h, nil
}

// wireExperiment is the union of v1beta1 and v2beta1 experiments.
type wireExperiment struct {
	ExperimentID       string    `json:"experiment_id"`
	ID                 string    `json:"id"`
	DisplayName        string    `json:"display_name"`
	Name               string    `json:"name"`
	Namespace          string    `json:"namespace"`
	CreatedAt          time.Time `json:"created_at"`
	ResourceReferences []struct {
		Key struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"key"`
	} `json:"resource_references"`
}

func (w wireExperiment) experiment() Experiment {
	e := Experiment{ID: w.ExperimentID, DisplayName: w.DisplayName, Namespace: w.Namespace, CreatedAt: w.CreatedAt}
	if e.ID == "" {
		e.ID = w.ID
	}
	if e.DisplayName == "" {
		e.DisplayName = w.Name
	}
	for _, ref := range w.ResourceReferences {
		if e.Namespace == "" && ref.Key.Type == "NAMESPACE" {
			e.Namespace = ref.Key.ID
		}
	}
	return e
}

type experimentPage struct {
	Experiments   []wireExperiment `json:"experiments"`
	NextPageToken string           `json:"next_page_token"`
}

// listExperiments follows next_page_token from query, which selects the namespace.
func (c *Client) listExperiments(ctx context.Context, version string, query url.Values) ([]Experiment, error) {
	var out []Experiment
	for range maxPages {
		var p experimentPage
		if _, err := c.Do(ctx, "GET", "/apis/"+version+"/experiments?"+query.Encode(), nil, &p); err != nil {
			return nil, err
		}
		for _, w := range p.Experiments {
			out = append(out, w.experiment())
		}
		if p.NextPageToken == "" {
			return out, nil
		}
		query.Set("page_token", p.NextPageToken)
	}
	return nil, fmt.Errorf("kfp api list %s experiments: more than %d pages", version, maxPages)
}

// ListExperiments lists a namespace's experiments with v2beta1 (?namespace=).
func (c *Client) ListExperiments(ctx context.Context, namespace string) ([]Experiment, error) {
	return c.listExperiments(ctx, "v2beta1", url.Values{"namespace": {namespace}})
}

// ListExperimentsV1 lists a namespace's experiments with v1beta1 (a NAMESPACE resource reference key).
func (c *Client) ListExperimentsV1(ctx context.Context, namespace string) ([]Experiment, error) {
	return c.listExperiments(ctx, "v1beta1", url.Values{
		"resource_reference_key.type": {"NAMESPACE"}, "resource_reference_key.id": {namespace},
	})
}

// CreateExperiment creates an experiment with v2beta1.
func (c *Client) CreateExperiment(ctx context.Context, namespace, name string) (*Experiment, error) {
	body := map[string]string{"display_name": name, "namespace": namespace}
	var w wireExperiment
	if _, err := c.Do(ctx, "POST", "/apis/v2beta1/experiments", body, &w); err != nil {
		return nil, err
	}
	e := w.experiment()
	return &e, nil
}

// CreateExperimentV1 creates an experiment with v1beta1, the namespace as an OWNER NAMESPACE reference.
func (c *Client) CreateExperimentV1(ctx context.Context, namespace, name string) (*Experiment, error) {
	body := map[string]any{
		"name": name,
		"resource_references": []any{map[string]any{
			"key": map[string]string{"type": "NAMESPACE", "id": namespace}, "relationship": "OWNER",
		}},
	}
	var w wireExperiment
	if _, err := c.Do(ctx, "POST", "/apis/v1beta1/experiments", body, &w); err != nil {
		return nil, err
	}
	e := w.experiment()
	return &e, nil
}

type runPage struct {
	Runs []struct {
		RunID       string `json:"run_id"`
		DisplayName string `json:"display_name"`
		State       string `json:"state"`
	} `json:"runs"`
	NextPageToken string `json:"next_page_token"`
}

// ListRuns lists a namespace's runs with v2beta1 (?namespace=).
func (c *Client) ListRuns(ctx context.Context, namespace string) ([]Run, error) {
	query := url.Values{"namespace": {namespace}}
	var out []Run
	for range maxPages {
		var p runPage
		if _, err := c.Do(ctx, "GET", "/apis/v2beta1/runs?"+query.Encode(), nil, &p); err != nil {
			return nil, err
		}
		for _, r := range p.Runs {
			out = append(out, Run{ID: r.RunID, DisplayName: r.DisplayName, Namespace: namespace, State: r.State})
		}
		if p.NextPageToken == "" {
			return out, nil
		}
		query.Set("page_token", p.NextPageToken)
	}
	return nil, fmt.Errorf("kfp api list runs: more than %d pages", maxPages)
}
