// Package components is what each component of a server profile's stack is configured with, for every tier:
// the stand-ins' configurations (the gateway, the Istio mesh, the KFP API and its in-cluster policies), the real
// programs' config files (Dex, oauth2-proxy), the ingress gateway front in front of them, the profile's RBAC and
// users, and how a stack serves its listeners. The embedded, local and kind tiers build their stacks from it.
package components
