package report

import (
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// twoRuns is the matrix every rendering test draws: dex/embedded has a warn, an expected deviation and a family
// outside the catalogue; standalone/embedded has an unexpected failure, two n/a and misses two checks.
func twoRuns() (*result.Run, *result.Run) {
	dex := &result.Run{
		SchemaVersion: result.SchemaVersion, ToolVersion: "v0.1.0", Target: "http://127.0.0.1:4180", Profile: "dex",
		ProfileDescription: "Dex and oauth2-proxy in front of KFP", Tier: "embedded",
		Started: t0, Finished: t0.Add(2500 * time.Millisecond),
		Versions: []result.Version{
			{Component: "dex", Version: "v2.41.1", Source: "Dex gRPC GetVersion"},
			{Component: "oauth2-proxy", Version: "v7.6.0", Source: "the profile", FromProfile: true},
		},
		Results: []result.Result{ // deliberately out of catalogue order
			{ID: "CUSTOM-001", Title: "a check of a family outside the catalogue", Family: "CUSTOM", Status: result.Pass, DurationMS: 1},
			{ID: "SA-001", Title: "ServiceAccount token with the pipelines audience", Family: "SA", Severity: "MUST",
				References: []string{"pipelines#8460", "manifests PR#2544", "KFPClientManager"},
				Status:     result.Fail, Reason: result.Audience, Message: "token with audience kubernetes accepted",
				Expected: "401", Actual: "200", Deviation: "KFP 2.0 ignores the audience", DurationMS: 40},
			{ID: "OAUTH2P-007", Title: "session cookie flags", Family: "OAUTH2P", Severity: "SHOULD",
				Status: result.Warn, Reason: result.CookieFlags, Message: "Secure not set on http", DurationMS: 12},
			{ID: "DEX-LOCAL-001", Title: "static password login | through the gateway", Family: "DEX-LOCAL", Severity: "MUST",
				Status: result.Pass, DurationMS: 300},
			{ID: "SETUP-001", Title: "the pipeline URL is reachable and its unauthenticated answer is classified",
				Family: "SETUP", Severity: "MUST", Status: result.Pass, DurationMS: 5},
		},
	}
	standalone := &result.Run{
		SchemaVersion: result.SchemaVersion, ToolVersion: "v0.1.0", Target: "http://127.0.0.1:8888", Profile: "standalone", Tier: "embedded",
		Started: t0, Finished: t0.Add(time.Second),
		Results: []result.Result{
			{ID: "SETUP-001", Title: "the pipeline URL is reachable and its unauthenticated answer is classified",
				Family: "SETUP", Severity: "MUST", Status: result.Fail, Reason: result.Unsecured,
				Message: "pipeline answered 200 without credentials", Expected: "302, 401 or 403", Actual: "200", DurationMS: 7},
			{ID: "DEX-LOCAL-001", Family: "DEX-LOCAL", Status: result.NA, Reason: result.MissingCapability,
				Message: "the target has no Dex users"},
			{ID: "OAUTH2P-007", Family: "OAUTH2P", Status: result.NA, Reason: result.MissingCapability,
				Message: "the target has no oauth2-proxy"},
		},
	}
	return dex, standalone
}
