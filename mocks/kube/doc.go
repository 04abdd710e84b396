// Package kube is a Kubernetes API stand-in for the embedded tier: a subset of kube-apiserver's REST API over
// HTTP on loopback that client-go, kubectl-style scripts and the project's fixtures use unchanged. It serves
// namespaces, ServiceAccounts, Roles, ClusterRoles (with aggregationRule, as the clusterrole-aggregation
// controller computes it), RoleBindings and ClusterRoleBindings; TokenRequest (RS256 JWTs shaped like
// kube-apiserver's bound ServiceAccount tokens), TokenReview and SubjectAccessReview (evaluated by RBAC the way
// kube-apiserver's RBAC authorizer does); and the service account issuer's OIDC discovery and JWKS.
//
// Every request is authenticated (the admin token of the kubeconfig, a ServiceAccount token, or anonymous) and
// authorized by the same RBAC evaluation, so the 401 and 403 Status bodies are the ones kube-apiserver writes.
// Differences from kube-apiserver, on purpose: storage is in memory; no watch, patch or update; a deleted
// namespace and its objects go at once (no Terminating phase); RBAC escalation checks on writes to roles and
// bindings are not made (the fixtures write as the admin, which kube-apiserver exempts anyway).
package kube
