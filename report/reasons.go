package report

import "github.com/kfp-authcheck/kfp-authcheck/result"

// ReasonDoc says what a reason code means and what to do about it: list --reasons, the README table and the JSON
// schema's reason list come from here (a test keeps all three and result's constants in step).
type ReasonDoc struct {
	Code    result.Reason `json:"code"`
	Meaning string        `json:"meaning"`
	Fix     string        `json:"fix"`
}

// Reasons lists every reason code a result may carry, in the order result declares them.
var Reasons = []ReasonDoc{
	{result.InvalidCredentials, "the identity provider refused the user's password", "check the target file's user password (password_env, password_file) against Dex's users or the directory"},
	{result.NoIdentity, "KFP received the request without a user identity header", "make the gateway pass kubeflow-userid (oauth2-proxy --set-xauthrequest, the mesh's header rules)"},
	{result.GatewayConfig, "the gateway in front of KFP is configured in a way that breaks this path", "compare the gateway's options with the server profile (docs/profiles.md); the message names the option"},
	{result.K8sRBAC, "Kubernetes RBAC refused (or wrongly allowed) the user or ServiceAccount", "check the Kubeflow Profile's RoleBindings and the ClusterRoles kubeflow-edit/kubeflow-view"},
	{result.Audience, "a token's audience was refused, or a wrong audience was accepted", "request the token with audience pipelines.kubeflow.org and configure the gateway's jwt rules for it"},
	{result.VersionMismatch, "the server speaks another KFP API version than the check needs", "use the server profile of the deployed KFP release, or --only the checks of that release"},
	{result.Unreachable, "the address did not answer at all (refused, no route, DNS)", "check gateway_url, the port-forward or ingress, and that the deployment is up"},
	{result.Unsecured, "the pipelines API answered without any credentials", "put an authenticating gateway in front of KFP (oauth2-proxy, the mesh's AuthorizationPolicy)"},
	{result.TLSError, "the TLS handshake failed (unknown authority, wrong name, expired)", "give the CA with tls.ca_file in the target file (or --ca-file to login)"},
	{result.TLSSelfSigned, "the server's certificate is self-signed and was accepted only because verification is off", "issue a certificate from a CA the clients trust; meanwhile tls.ca_file instead of skip_verify"},
	{result.RedirectLoop, "the login bounced between the gateway and Dex without ending", "check the redirect URL and cookie domain of oauth2-proxy against the address clients use"},
	{result.UnexpectedResponse, "an answer the check could not classify", "read the evidence in the JSON or HTML report; report it if the setup is a known distribution"},
	{result.LoginFlow, "the browser-style login did not reach a session", "follow the evidence's redirects; compare the gateway's start and callback paths with the profile"},
	{result.ApprovalScreen, "Dex shows its grant approval screen, which scripted clients cannot pass", "set Dex's oauth2.skipApprovalScreen: true"},
	{result.CookieFlags, "the session cookie lacks Secure, HttpOnly or SameSite", "set oauth2-proxy's cookie_secure, cookie_httponly and cookie_samesite"},
	{result.ServerError, "the server answered 5xx", "read the program's log (the local tier attaches it to the result)"},
	{result.Timeout, "no answer within the check's time limit", "raise --check-timeout for a slow deployment, or look for a hung component"},
	{result.NotSupported, "the setup does not offer what the check exercises", "nothing to fix when the profile says so; otherwise enable the feature"},
	{result.MissingCapability, "the target lacks a capability the check needs (n/a)", "declare the capability in the target file, or give what it needs (kubeconfig, users)"},
	{result.ConfigError, "the target file or profile is inconsistent for this check", "fix the file the message names; kfp-authcheck run --dry-run shows the effective configuration"},
	{result.NoCredentials, "no user or token of the kind the check needs was given", "add the user (connector local or ldap) or the ServiceAccount to the target file"},
	{result.MeshAuthz, "the service mesh's authorization policy refused the request", "check the AuthorizationPolicy in the profile namespace and kubeflow for the caller's principal"},
	{result.ExpectedDeviation, "a failure the expected-deviation file covers (xfail)", "none needed now; remove the entry once the deviation is fixed"},
	{result.UnexpectedPass, "a check passed that the expected-deviation file says fails (XPASS)", "remove the stale entry from the expected-deviation file"},
	{result.Internal, "kfp-authcheck itself failed", "report it with the run JSON; it is a bug in the tool"},
	{result.Interrupted, "the run was stopped (Ctrl-C, deadline) before the check finished", "run again; kfp-authcheck cleanup removes fixtures left behind"},
	{result.ResponseTooLarge, "an answer exceeded the size the check reads", "look at what the endpoint returns; a gateway error page or a loop may be the cause"},
	{result.NotHTML, "a login page was expected and something else came back", "check that the issuer URL points at Dex and not at the gateway or the UI"},
	{result.SessionNotAccepted, "a session obtained at login was not accepted by the gateway", "check oauth2-proxy's cookie name, secret and domain across replicas"},
	{result.IdentityMismatch, "KFP saw a different user than the one that logged in", "check the userid header and prefix (kubeflow-userid, accounts.google.com:) the gateway sets"},
	{result.UnclassifiedGatewayReply, "the gateway answered in a way no known gateway does", "read the evidence; describe the gateway with a server profile (docs/profiles.md)"},
	{result.OpenRedirect, "the gateway redirects to a host its rd parameter names", "set oauth2-proxy's whitelist_domains to the deployment's own hosts"},
	{result.DirectoryUnreachable, "Dex could not reach the LDAP directory", "check the LDAP connector's host, port, TLS settings and the directory's health"},
	{result.ConnectorError, "Dex's connector failed (bind refused, missing attribute)", "check the connector's bindDN/bindPW and the attribute mapping in Dex's config"},
	{result.PKCEDowngrade, "the server accepts code_challenge_method=plain", "Dex supports plain PKCE; clients should send S256, and a policy at the gateway can refuse plain where it matters"},
	{result.ProbeError, "the in-cluster probe Job gave no result", "check the probe image is pullable (probe_image) and the pod's events"},
	{result.NoReadyPod, "the port-forward to in_cluster_api found no ready pod", "check the Service's selector and that ml-pipeline's pods are Ready"},
	{result.PortForward, "the Kubernetes API refused or broke the port-forward", "check the kubeconfig's permission pods/portforward in the namespace"},
	{result.PodDefaultMissing, "a profile namespace has no PodDefault projecting KFP's token", "install the access-ml-pipeline PodDefault (Kubeflow's profile resources)"},
	{result.PodDefaultNotApplied, "the PodDefault exists but admission did not apply it", "check the admission-webhook Deployment and its MutatingWebhookConfiguration"},
}

// RetiredChecks are check IDs that once existed and are reserved: never reused for another check. They are listed
// in the run schema and by list (DECISIONS: retired checks keep their IDs). Retirement says why each went and
// what guards its property now.
var RetiredChecks = []string{"SA-006", "SA-008", "OOB-008", "OOB-009", "OOB-012"}

// Retirement says, for each retired check ID, why it was retired and where its guarantee lives now.
var Retirement = map[string]string{
	"SA-006": "judged the harness's own token-file client, never the target: a missing file failing before any request " +
		"is a unit test of auth/satoken; a request without credentials being refused is SA-003",
	"SA-008": "judged the harness's own token-file client, never the target: the file re-read on every request is a " +
		"unit test of auth/satoken; an API accepting a default-audience token is SA-005",
	"OOB-008": "judged the harness's own credential cache file, never the target: other issuers kept, mode 0600 and " +
		"concurrent writers are unit tests of auth/tokencache; the issuer the cache is keyed by is OOB-001",
	"OOB-009": "judged the harness's own refresh locking, never the target: one refresh for two processes is a unit " +
		"test of auth/oob against a Dex with rotation and no reuse interval; the rotation itself is OOB-006",
	"OOB-012": "judged the harness's own cache policy, never the target: cached above 300 s, else refresh, else the " +
		"interactive login is a unit test of auth/oob",
}
