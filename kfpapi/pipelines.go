package kfpapi

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/url"
)

// Pipeline is a stored pipeline; an empty Namespace is a shared pipeline.
type Pipeline struct{ ID, DisplayName, Namespace string }

type wirePipeline struct {
	PipelineID  string `json:"pipeline_id"`
	DisplayName string `json:"display_name"`
	Namespace   string `json:"namespace"`
}

func (w wirePipeline) pipeline() Pipeline {
	return Pipeline{ID: w.PipelineID, DisplayName: w.DisplayName, Namespace: w.Namespace}
}

// UploadPipeline uploads a pipeline package (IR YAML) as the SDK's upload_pipeline does: multipart field
// "uploadfile" to /apis/v2beta1/pipelines/upload, name and namespace in the query ("" for a shared pipeline).
func (c *Client) UploadPipeline(ctx context.Context, namespace, name string, spec []byte) (*Pipeline, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("uploadfile", name+".yaml")
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(spec); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	q := url.Values{"name": {name}}
	if namespace != "" {
		q.Set("namespace", namespace)
	}
	var w wirePipeline
	if _, err := c.DoRaw(ctx, "POST", "/apis/v2beta1/pipelines/upload?"+q.Encode(), mw.FormDataContentType(), buf.Bytes(), &w); err != nil {
		return nil, err
	}
	p := w.pipeline()
	return &p, nil
}

// ListPipelines lists the pipelines of a namespace with v2beta1 ("" lists the shared ones).
func (c *Client) ListPipelines(ctx context.Context, namespace string) ([]Pipeline, error) {
	query := url.Values{}
	if namespace != "" {
		query.Set("namespace", namespace)
	}
	var out []Pipeline
	for range maxPages {
		var p struct {
			Pipelines     []wirePipeline `json:"pipelines"`
			NextPageToken string         `json:"next_page_token"`
		}
		if _, err := c.Do(ctx, "GET", "/apis/v2beta1/pipelines?"+query.Encode(), nil, &p); err != nil {
			return nil, err
		}
		for _, w := range p.Pipelines {
			out = append(out, w.pipeline())
		}
		if p.NextPageToken == "" {
			return out, nil
		}
		query.Set("page_token", p.NextPageToken)
	}
	return nil, fmt.Errorf("kfp api list pipelines: more than %d pages", maxPages)
}

// GetPipeline reads one pipeline with v2beta1.
func (c *Client) GetPipeline(ctx context.Context, id string) (*Pipeline, error) {
	var w wirePipeline
	if _, err := c.Do(ctx, "GET", "/apis/v2beta1/pipelines/"+url.PathEscape(id), nil, &w); err != nil {
		return nil, err
	}
	p := w.pipeline()
	return &p, nil
}

// DeletePipeline deletes a pipeline and, first, its versions (KFP refuses to delete a pipeline that has any).
func (c *Client) DeletePipeline(ctx context.Context, id string) error {
	var vs struct {
		PipelineVersions []struct {
			ID string `json:"pipeline_version_id"`
		} `json:"pipeline_versions"`
	}
	base := "/apis/v2beta1/pipelines/" + url.PathEscape(id)
	if _, err := c.Do(ctx, "GET", base+"/versions?page_size=200", nil, &vs); err != nil {
		return err
	}
	for _, v := range vs.PipelineVersions {
		if _, err := c.Do(ctx, "DELETE", base+"/versions/"+url.PathEscape(v.ID), nil, nil); err != nil {
			return err
		}
	}
	_, err := c.Do(ctx, "DELETE", base, nil, nil)
	return err
}

// RunRequest is a v2beta1 CreateRun: an inline pipeline spec, or a stored pipeline (its latest version).
type RunRequest struct {
	DisplayName  string
	ExperimentID string
	PipelineSpec map[string]any
	PipelineID   string
	// ServiceAccount is the run's serviceAccountName; empty for the namespace's default.
	ServiceAccount string
}

type wireRun struct {
	RunID       string `json:"run_id"`
	DisplayName string `json:"display_name"`
	State       string `json:"state"`
	// ServiceAccount is the serviceAccountName the server stored for the run.
	ServiceAccount string `json:"service_account"`
}

// CreateRun creates a run with v2beta1.
func (c *Client) CreateRun(ctx context.Context, req RunRequest) (*Run, error) {
	body := map[string]any{"display_name": req.DisplayName, "experiment_id": req.ExperimentID}
	if req.PipelineSpec != nil {
		body["pipeline_spec"] = req.PipelineSpec
	}
	if req.PipelineID != "" {
		body["pipeline_version_reference"] = map[string]string{"pipeline_id": req.PipelineID}
	}
	if req.ServiceAccount != "" {
		body["service_account"] = req.ServiceAccount
	}
	var w wireRun
	if _, err := c.Do(ctx, "POST", "/apis/v2beta1/runs", body, &w); err != nil {
		return nil, err
	}
	return &Run{ID: w.RunID, DisplayName: w.DisplayName, State: w.State, ServiceAccount: w.ServiceAccount}, nil
}

// GetRun reads one run with v2beta1.
func (c *Client) GetRun(ctx context.Context, id string) (*Run, error) {
	var w wireRun
	if _, err := c.Do(ctx, "GET", "/apis/v2beta1/runs/"+url.PathEscape(id), nil, &w); err != nil {
		return nil, err
	}
	return &Run{ID: w.RunID, DisplayName: w.DisplayName, State: w.State, ServiceAccount: w.ServiceAccount}, nil
}

// RunAction posts a run's custom method with v2beta1: "archive", "unarchive", "terminate" or "retry".
func (c *Client) RunAction(ctx context.Context, id, action string) error {
	_, err := c.Do(ctx, "POST", "/apis/v2beta1/runs/"+url.PathEscape(id)+":"+action, nil, nil)
	return err
}

// DeleteRun deletes a run with v2beta1.
func (c *Client) DeleteRun(ctx context.Context, id string) error {
	_, err := c.Do(ctx, "DELETE", "/apis/v2beta1/runs/"+url.PathEscape(id), nil, nil)
	return err
}
