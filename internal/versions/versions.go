// Package versions records which versions of Dex and the KFP API a run talked to, for the results archive: a
// matrix means little without them. It only reads: Dex's gRPC GetVersion or its discovery document, and KFP's
// healthz (without credentials where the API is reachable directly, else with one login through the gateway).
package versions

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	dexapi "github.com/dexidp/dex/api/v2"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/targetclient"
	"github.com/kfp-authcheck/kfp-authcheck/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Seen is what one target showed.
type Seen struct {
	Target string    `json:"target"`
	Dex    Component `json:"dex"`
	KFP    Component `json:"kfp"`
}

// Component is one program's version and where it came from. Version is empty when the program does not publish
// it where we looked; Error says why nothing was learned.
type Component struct {
	Version string `json:"version,omitempty"`
	Source  string `json:"source,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Error   string `json:"error,omitempty"`
}

// timeout bounds each question; the collector runs after the checks and must not hold the run up for long.
const timeout = 10 * time.Second

// Collect asks t's Dex and KFP API for their versions. Failures are recorded in the result, never returned: a
// missing version must not fail a run that already has its verdict. Secrets never reach the result (errors pass
// through the target's redactor).
func Collect(ctx context.Context, t *target.Target) Seen {
	s := Seen{Target: t.Name, Dex: dexVersion(ctx, t), KFP: kfpVersion(ctx, t)}
	if t.Redactor != nil {
		for _, c := range []*Component{&s.Dex, &s.KFP} {
			c.Error = t.Redactor.String(c.Error)
			c.Detail = t.Redactor.String(c.Detail)
		}
	}
	return s
}

func dexVersion(ctx context.Context, t *target.Target) Component {
	if t.DexGRPCAddr != "" {
		c := Component{Source: "Dex gRPC GetVersion at " + t.DexGRPCAddr}
		dex, closeConn, err := fixtures.DialDex(t.DexGRPCAddr)
		if err != nil {
			c.Error = err.Error()
			return c
		}
		defer closeConn()
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		v, err := dex.GetVersion(cctx, &dexapi.VersionReq{})
		if err != nil {
			c.Error = fmt.Sprintf("GetVersion: %v", err)
			return c
		}
		c.Version, c.Detail = v.Server, fmt.Sprintf("gRPC API version %d", v.Api)
		return c
	}
	if !t.Has(target.CapDex) {
		return Component{Detail: "the target has no Dex"}
	}
	// Without the gRPC API, the discovery document proves Dex answers at the issuer; Dex publishes no version in
	// it nor in its login pages, so the version stays unknown rather than guessed.
	url := t.IssuerURL + "/.well-known/openid-configuration"
	c := Component{Source: "discovery at " + url}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	status, err := getJSON(ctx, t, url, &doc)
	switch {
	case err != nil:
		c.Error = err.Error()
	case status != http.StatusOK:
		c.Error = fmt.Sprintf("discovery answered %d", status)
	default:
		c.Detail = fmt.Sprintf("issuer %s answers; Dex publishes no version there (give dex_grpc_addr to read it)", doc.Issuer)
	}
	return c
}

func kfpVersion(ctx context.Context, t *target.Target) Component {
	var base, via string
	var header http.Header
	switch {
	case t.InClusterAPIURL != "":
		base, via = t.InClusterAPIURL, "healthz at in_cluster_api_url "+t.InClusterAPIURL
	case !t.Has(target.CapGateway):
		base, via = t.PipelineURL, "healthz at "+t.PipelineURL+" without credentials"
	default:
		us := t.UsersFor("local")
		if len(us) == 0 {
			return Component{Source: "healthz through the gateway", Error: "a login is needed and the target has no local user"}
		}
		u := us[0]
		lctx, cancel := context.WithTimeout(ctx, 3*timeout)
		defer cancel()
		s, _, err := targetclient.Login(lctx, t, u)
		if err != nil {
			return Component{Source: "healthz through the gateway", Error: fmt.Sprintf("login as %s: %v", u.Email, err)}
		}
		base, via, header = t.PipelineURL, "healthz at "+t.PipelineURL+" logged in as "+u.Email, http.Header{"Cookie": {s.CookieHeader()}}
	}
	client := &kfpapi.Client{BaseURL: base, HTTP: targetclient.HTTPClient(t), Header: header}
	c := Component{Source: via}
	var errs []string
	for _, v := range []string{"v2beta1", "v1beta1"} {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		h, err := client.Healthz(cctx, v)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", v, err))
			continue
		}
		c.Version, c.Detail = h.APITagName(), fmt.Sprintf("%s: %s", v, h.Summary())
		return c
	}
	c.Error = fmt.Sprint(errs)
	return c
}

// getJSON GETs url with the target's TLS settings, reads at most 1 MiB and decodes it.
func getJSON(ctx context.Context, t *target.Target, url string, into any) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := targetclient.HTTPClient(t).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, into); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", url, err)
		}
	}
	return resp.StatusCode, nil
}
