// Package versions records which versions of Dex, oauth2-proxy, the KFP API and Kubernetes a run talked to, for
// every report and the results archive: a matrix means little without them. It only reads: Dex's gRPC GetVersion
// or its discovery document, oauth2-proxy's sign-in page footer, KFP's healthz (without credentials where the API
// is reachable directly, else with one login through the gateway) and the Kubernetes API's /version. Where the
// target shows nothing, Runs falls back to the server profile's versions, marked as such.
package versions

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	dexapi "github.com/dexidp/dex/api/v2"

	"github.com/kfp-authcheck/kfp-authcheck/auth/targetclient"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Seen is what one target showed.
type Seen struct {
	Target      string    `json:"target"`
	Dex         Component `json:"dex"`
	OAuth2Proxy Component `json:"oauth2_proxy"`
	KFP         Component `json:"kfp"`
	Kubernetes  Component `json:"kubernetes"`
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
	s := Seen{Target: t.Name, Dex: dexVersion(ctx, t), OAuth2Proxy: oauth2ProxyVersion(ctx, t), KFP: kfpVersion(ctx, t),
		Kubernetes: kubeVersion(ctx, t)}
	if t.Redactor != nil {
		for _, c := range []*Component{&s.Dex, &s.OAuth2Proxy, &s.KFP, &s.Kubernetes} {
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

// footerVersion is the version oauth2-proxy prints in its sign-in page's footer ("Secured with OAuth2 Proxy version
// v7.8.1"), unless a custom template or --footer replaced it.
var footerVersion = regexp.MustCompile(`OAuth2 Proxy(?:</a>)?\s+version\s+(v?[0-9][0-9A-Za-z.+-]*)`)

func oauth2ProxyVersion(ctx context.Context, t *target.Target) Component {
	if !t.Has(target.CapGateway) || t.Profile == nil || t.Profile.Gateway == nil || t.Profile.Gateway.Kind != "oauth2-proxy" {
		return Component{Detail: "the target has no oauth2-proxy"}
	}
	url := strings.TrimRight(t.GatewayURL, "/") + t.Profile.Gateway.ProxyPrefix + "/sign_in"
	c := Component{Source: "sign-in page footer at " + url}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, url, nil)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	client := *targetclient.HTTPClient(t)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		c.Error = err.Error()
		return c
	}
	if m := footerVersion.FindSubmatch(b); m != nil {
		c.Version = string(m[1])
		return c
	}
	c.Detail = fmt.Sprintf("answered %d without a version footer (skip_provider_button or a custom template)", resp.StatusCode)
	return c
}

func kubeVersion(ctx context.Context, t *target.Target) Component {
	if t.Kube == nil {
		return Component{Detail: "the target has no kubeconfig"}
	}
	c := Component{Source: "the Kubernetes API's /version"}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := t.Kube.Discovery().RESTClient().Get().AbsPath("/version").Do(cctx).Raw()
	if err != nil {
		c.Error = err.Error()
		return c
	}
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		c.Error = fmt.Sprintf("decode /version: %v", err)
		return c
	}
	c.Version = v.GitVersion
	return c
}

// Run is what a run's JSON records (result.Run.Versions): each component the target shows, else the profile's
// version marked FromProfile, in the order dex, oauth2-proxy, kfp, kubernetes; a component neither knows is left
// out.
func Run(s Seen, p *profile.Profile) []result.Version {
	var profDex, profGateway, profKFP string
	gatewayName := "oauth2-proxy"
	if p != nil {
		if p.Dex != nil {
			profDex = p.Dex.Version
		}
		if p.Gateway != nil {
			profGateway = p.Gateway.Version
			if p.Gateway.Kind != "" {
				gatewayName = p.Gateway.Kind
			}
		}
		profKFP = p.KFP.Version
	}
	var out []result.Version
	add := func(name string, c Component, fromProfile string) {
		switch {
		case c.Version != "":
			out = append(out, result.Version{Component: name, Version: c.Version, Source: c.Source})
		case fromProfile != "":
			out = append(out, result.Version{Component: name, Version: fromProfile, Source: "the profile", FromProfile: true})
		}
	}
	add("dex", s.Dex, profDex)
	add(gatewayName, s.OAuth2Proxy, profGateway)
	add("kfp", s.KFP, profKFP)
	add("kubernetes", s.Kubernetes, "")
	return out
}
