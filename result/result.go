// Package result is the result model shared by every check, runner and report: a Result per check, a Run per
// target. JSON is the source of truth; every other format is a rendering of it.
package result

import (
	"encoding/json"
	"fmt"
	"time"
)

// Status is the verdict of one check. The JSON spellings are a contract (ARCHITECTURE.md).
type Status string

const (
	Pass  Status = "pass"
	Fail  Status = "fail"
	Warn  Status = "warn"
	Skip  Status = "skip"
	NA    Status = "n/a"
	Error Status = "error"
)

// Statuses lists every status in display order.
var Statuses = []Status{Pass, Warn, Fail, Error, Skip, NA}

// Valid reports whether s is one of the contract's spellings.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// UnmarshalJSON refuses statuses outside the contract, so a hand-edited run file cannot smuggle in "passed".
func (s *Status) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if !Status(v).Valid() {
		return fmt.Errorf("unknown status %q (want one of pass, fail, warn, skip, n/a, error)", v)
	}
	*s = Status(v)
	return nil
}

// Reason is a stable, machine-readable code that says why a check did not pass. Users act on it; never rename one.
type Reason string

const (
	ReasonNone               Reason = ""
	InvalidCredentials       Reason = "INVALID_CREDENTIALS"
	NoIdentity               Reason = "NO_IDENTITY"
	GatewayConfig            Reason = "GATEWAY_CONFIG"
	K8sRBAC                  Reason = "K8S_RBAC"
	Audience                 Reason = "AUDIENCE"
	VersionMismatch          Reason = "VERSION_MISMATCH"
	Unreachable              Reason = "UNREACHABLE"
	Unsecured                Reason = "UNSECURED"
	TLSError                 Reason = "TLS_ERROR"
	TLSSelfSigned            Reason = "TLS_SELF_SIGNED"
	RedirectLoop             Reason = "REDIRECT_LOOP"
	UnexpectedResponse       Reason = "UNEXPECTED_RESPONSE"
	LoginFlow                Reason = "LOGIN_FLOW"
	ApprovalScreen           Reason = "APPROVAL_SCREEN"
	CookieFlags              Reason = "COOKIE_FLAGS"
	ServerError              Reason = "SERVER_ERROR"
	Timeout                  Reason = "TIMEOUT"
	NotSupported             Reason = "NOT_SUPPORTED"
	MissingCapability        Reason = "MISSING_CAPABILITY"
	ConfigError              Reason = "CONFIG_ERROR"
	NoCredentials            Reason = "NO_CREDENTIALS"
	MeshAuthz                Reason = "MESH_AUTHZ"
	ExpectedDeviation        Reason = "EXPECTED_DEVIATION"
	UnexpectedPass           Reason = "UNEXPECTED_PASS"
	Internal                 Reason = "INTERNAL"
	Interrupted              Reason = "INTERRUPTED"
	ResponseTooLarge         Reason = "RESPONSE_TOO_LARGE"
	NotHTML                  Reason = "NOT_HTML"
	SessionNotAccepted       Reason = "SESSION_NOT_ACCEPTED"
	IdentityMismatch         Reason = "IDENTITY_MISMATCH"
	UnclassifiedGatewayReply Reason = "UNCLASSIFIED_GATEWAY_REPLY"
	// OpenRedirect: the gateway sends the browser to a host its rd parameter names (OAUTH2P-006).
	OpenRedirect Reason = "OPEN_REDIRECT"
	// DirectoryUnreachable: Dex could not reach the connector's directory (LDAP server down or silent) and
	// answered the login with 500.
	DirectoryUnreachable Reason = "DIRECTORY_UNREACHABLE"
	// ConnectorError: Dex's connector failed for another reason (service-account bind refused, an entry
	// missing a mapped attribute) and Dex answered the login with 500.
	ConnectorError Reason = "CONNECTOR_ERROR"
	// PKCEDowngrade: the server accepts code_challenge_method=plain (OOB-011).
	PKCEDowngrade Reason = "PKCE_DOWNGRADE"
	// ProbeError: the in-cluster probe Job gave no result (its image was not pulled, its pod never ran, its log
	// held no run); the message carries the pod's state.
	ProbeError Reason = "PROBE_ERROR"
	// NoReadyPod: the port-forward to the target file's in_cluster_api found no ready pod behind the Service.
	NoReadyPod Reason = "NO_READY_POD"
	// PortForward: the Kubernetes API refused or broke the port-forward to the in-cluster API's pod.
	PortForward Reason = "PORT_FORWARD"
	// PodDefaultMissing: a profile namespace has no PodDefault that projects KFP's token (or the cluster has no
	// PodDefault kind at all), so notebooks and Jobs get no credentials (SA-007).
	PodDefaultMissing Reason = "PODDEFAULT_MISSING"
	// PodDefaultNotApplied: the PodDefault exists and selects the pod, but the pod the API server admits lacks
	// its volume, mount or env: the admission webhook did not run or did not mutate (SA-007).
	PodDefaultNotApplied Reason = "PODDEFAULT_NOT_APPLIED"
)

// Exchange is one HTTP request and its answer, kept as evidence. Secrets are redacted before it is stored.
type Exchange struct {
	Method   string            `json:"method"`
	URL      string            `json:"url"`
	Status   int               `json:"status,omitempty"`
	Location string            `json:"location,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	Note     string            `json:"note,omitempty"`
}

// Result is the outcome of one check against one target.
type Result struct {
	ID         string     `json:"id"`
	Title      string     `json:"title,omitempty"`
	Family     string     `json:"family,omitempty"`
	Severity   string     `json:"severity,omitempty"`
	Status     Status     `json:"status"`
	Reason     Reason     `json:"reason,omitempty"`
	Message    string     `json:"message,omitempty"`
	Expected   string     `json:"expected,omitempty"`
	Actual     string     `json:"actual,omitempty"`
	References []string   `json:"references,omitempty"`
	Evidence   []Exchange `json:"evidence,omitempty"`
	DurationMS int64      `json:"duration_ms"`
	// Deviation is set when an expected-deviation entry matched this check: the reason given in that file.
	Deviation string `json:"deviation,omitempty"`
	// Logs is the end of each real program's log when the check failed on a tier that runs programs (local),
	// redacted: what Dex or oauth2-proxy said about it.
	Logs string `json:"logs,omitempty"`
	// Audit is the isolation audit's matrix (kfp-authcheck audit, ISO-009): every cross-namespace grant found.
	Audit *Audit `json:"audit,omitempty"`
	// Timing says where the check's time went: its round trips and its waits.
	Timing *Timing `json:"timing,omitempty"`
}

// Timing is one check's time breakdown: Requests round trips (HTTP to the target and the Kubernetes API) took
// RequestMS in all (overlapping ones add up) and kept the check waiting on the wire for BusyMS (the time at least
// one was in flight: overlapping ones count once), and waits for the cluster to settle WaitMS.
type Timing struct {
	Requests  int   `json:"requests"`
	RequestMS int64 `json:"request_ms"`
	BusyMS    int64 `json:"request_busy_ms,omitempty"`
	Waits     int   `json:"waits,omitempty"`
	WaitMS    int64 `json:"wait_ms"`
}

// Audit is the isolation audit of a cluster's profile namespaces: which identities of one namespace can do what
// on KFP's resources in another, from the cluster's RBAC objects, with a sample checked against the cluster's
// own SubjectAccessReviews.
type Audit struct {
	Namespaces int `json:"namespaces"`
	// Pairs are the ordered pairs of distinct profile namespaces; Cells the (identity, namespace) questions asked.
	Pairs       int          `json:"pairs"`
	Identities  int          `json:"identities"`
	Cells       int          `json:"cells"`
	Grants      []AuditGrant `json:"grants,omitempty"`
	Unexplained int          `json:"unexplained"`
	// Sampled SubjectAccessReviews were sent; Disagreements lists those whose answer differs from the evaluation.
	Sampled       int      `json:"sampled"`
	Disagreements []string `json:"disagreements,omitempty"`
	// Errors are bindings whose role could not be resolved (kube-apiserver ignores those as well).
	Errors []string `json:"errors,omitempty"`
	// ReadMS, EvalMS and ReviewMS: reading the RBAC objects, evaluating the matrix, the SubjectAccessReviews.
	ReadMS   int64 `json:"read_ms"`
	EvalMS   int64 `json:"eval_ms"`
	ReviewMS int64 `json:"review_ms"`
}

// AuditGrant is one binding that lets an identity of one profile namespace act on KFP's resources in another.
type AuditGrant struct {
	Identity string `json:"identity"`
	// Kind is default-editor, default-viewer, owner or contributor; Home the namespace it belongs to (empty for a
	// contributor who owns none).
	Kind      string `json:"kind"`
	Home      string `json:"home,omitempty"`
	Namespace string `json:"namespace"` // "*" for a ClusterRoleBinding: every namespace
	Binding   string `json:"binding"`
	// Verbs are the KFP requests the binding allows there, as "verb resource[/subresource]".
	Verbs     []string `json:"verbs"`
	Explained bool     `json:"explained"`
	// Explanation names what the profile declares that explains the grant (a KFAM contributor binding).
	Explanation string `json:"explanation,omitempty"`
}

// Run is one execution of the catalogue against one target.
type Run struct {
	// SchemaVersion is the version of this JSON contract (SchemaVersion; report/schema/run.schema.json).
	SchemaVersion int `json:"schema_version"`
	// Label names the run's column in a matrix (run --label); empty: "<profile>/<tier>".
	Label       string `json:"label,omitempty"`
	ToolVersion string `json:"tool_version"`
	Target      string `json:"target"`
	Profile     string `json:"profile"`
	// ProfileDescription is the server profile's own description.
	ProfileDescription string    `json:"profile_description,omitempty"`
	Tier               string    `json:"tier"`
	Started            time.Time `json:"started"`
	Finished           time.Time `json:"finished"`
	// Aborted says why the run stopped before every check ran (interrupt, deadline); an aborted run is never a pass.
	Aborted string   `json:"aborted,omitempty"`
	Results []Result `json:"results"`
	// Fixtures says what became of the Kubernetes objects the run created; nil when it created none.
	Fixtures *FixtureCleanup `json:"fixtures,omitempty"`
	// Versions are the versions of the programs the run judged: observed where the target shows them, else the
	// profile's, marked so.
	Versions []Version `json:"versions,omitempty"`
	// FailOn is "warn" when warnings count as failures (run --fail-on warn); empty: only failures and errors do.
	FailOn string `json:"fail_on,omitempty"`
}

// SchemaVersion is the version of the run and matrix JSON contract. It grows when a field changes meaning or goes
// away; new optional fields do not change it.
const SchemaVersion = 1

// Version is one program's version as a run saw it.
type Version struct {
	// Component is "dex", "oauth2-proxy", "kfp" or "kubernetes".
	Component string `json:"component"`
	Version   string `json:"version,omitempty"`
	// Source says where the version was read ("Dex gRPC GetVersion at ...", "the profile").
	Source string `json:"source,omitempty"`
	// FromProfile is true when the target did not show the version and it is the server profile's.
	FromProfile bool `json:"from_profile,omitempty"`
}

// FailsOnWarn reports whether a warning counts against this run.
func (r *Run) FailsOnWarn() bool { return r.FailOn == "warn" }

// FixtureCleanup is the end of a run's Kubernetes fixtures: each check removes its own; at the end of the run
// (also after an interrupt) everything still carrying the run's label is removed.
type FixtureCleanup struct {
	// RunID is the value of the run label; `kfp-authcheck cleanup --run RunID` removes what Left names.
	RunID string `json:"run_id"`
	Label string `json:"label"`
	// Swept are objects the end-of-run sweep removed (a check cut off by an interrupt, or one that failed to
	// clean up); empty when every check cleaned up after itself.
	Swept []string `json:"swept,omitempty"`
	// Left are objects still there because their removal failed; Error says why.
	Left  []string `json:"left,omitempty"`
	Error string   `json:"error,omitempty"`
	// DurationMS is how long the end of the run took to remove its fixtures (waiting for the checks' own
	// removals in the background, then the sweep): round trips to the cluster after the last check.
	DurationMS int64 `json:"duration_ms,omitempty"`
}

// Counts tallies the results of a run by status.
func (r *Run) Counts() map[Status]int {
	c := map[Status]int{}
	for _, res := range r.Results {
		c[res.Status]++
	}
	return c
}

// Unexpected reports how many results count against the exit code: fail and error that no expected-deviation
// entry covers, and passes that an entry expected to fail.
func (r *Run) Unexpected() int {
	n := 0
	for _, res := range r.Results {
		if res.Unexpected() || (r.FailsOnWarn() && res.Status == Warn) {
			n++
		}
	}
	return n
}

// Unexpected says whether this result counts against the exit code.
func (r Result) Unexpected() bool {
	switch r.Status {
	case Fail, Error:
		return r.Deviation == ""
	case Pass:
		return r.Deviation != ""
	}
	return false
}

// Verdict rolls a run up to one status the way Sonobuoy does: empty or aborted is never a pass.
func (r *Run) Verdict() Status {
	if len(r.Results) == 0 || r.Aborted != "" {
		return Error
	}
	if r.Unexpected() > 0 {
		return Fail
	}
	for _, res := range r.Results {
		if res.Status == Warn {
			return Warn
		}
	}
	return Pass
}
