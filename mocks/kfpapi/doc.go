// Package kfpapi is an in-process stand-in for the Kubeflow Pipelines API server (ml-pipeline, port 8888) in
// multi-user mode, and for the ml-pipeline-ui paths that sit in front of it. It follows
// backend/src/apiserver of github.com/kubeflow/pipelines@v0.0.0-20231208180049-c5658f09ec38 (KFP 2.0.5 era; the
// auth code is unchanged through 2.16): the empty-namespace check before authentication, the header and
// TokenReview authenticators tried in order, the SubjectAccessReview seam, the wrapped internal error chains,
// and grpc-gateway's error bodies in the v1.16.0 (KFP <= 2.5) or v2 (KFP >= 2.14) shape.
//
// Modelled: healthz, list/create/get experiments and list runs in v1beta1 and v2beta1. Not modelled: pipelines,
// jobs, run creation (runs are seeded with AddRun), filters and sort_by, MULTIUSER_SHARED_READ, and the upload
// endpoints' own error shape.
package kfpapi
