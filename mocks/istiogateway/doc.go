// Package istiogateway is an in-process stand-in for the Istio ingress gateway of kubeflow/manifests 1.9 and
// later (WIRE-FACTS.md 1.3 and 1.4), the part of it that decides who a request is:
//
//   - the CUSTOM AuthorizationPolicy istio-ingressgateway-oauth2-proxy: ext-authz to oauth2-proxy only for
//     requests without an Authorization header, outside the exempt paths (/dex/, /oauth2/);
//   - jwt_authn from the RequestAuthentications (dex-jwt, m2m-token-issuer): a "Bearer " JWT of a configured
//     issuer is verified against that issuer's JWKS (no audience check where none is configured) and its claims
//     are copied into headers (kubeflow-userid, kubeflow-groups), replacing the client's; a JWT of any other
//     issuer, a bad signature or an expired token gets Envoy's 401 text/plain answer;
//   - the DENY AuthorizationPolicy istio-ingressgateway-require-jwt: a request without a request principal (no
//     verified JWT) outside the exempt paths gets 403 "RBAC: access denied".
//
// It holds no routing of its own: the caller passes the ext-authz provider (the oauth2-proxy stand-in) and the
// VirtualService routes. The embedded tier runs it in front of the oauth2-proxy stand-in; the local tier can put it
// in front of the real oauth2-proxy the same way.
package istiogateway
