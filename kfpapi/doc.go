// Package kfpapi is a small Kubeflow Pipelines REST client for checks and outside programs: healthz,
// experiments (v1beta1 and v2beta1) and runs, plus a generic Do. It speaks like the kfp SDK on the wire
// (Accept: application/json, the caller's Cookie or Authorization headers) but never follows redirects and
// never takes a non-JSON answer for data: a 302 to a login page or an HTML 200 is an *APIError.
package kfpapi
