#!/usr/bin/env bash
# make e2e-kind: a kind cluster per profile, made and deleted by the harness through sigs.k8s.io/kind's Go API.
# Needs a running Docker engine (GitHub Actions has one); without it the run says so and exits 2.
#
# What runs: the whole catalogue against the cluster's real kube-apiserver, the project's KFP API stand-in deployed
# into it as ml-pipeline.kubeflow:8888 from the project's image (bin/kfp-authcheck-image.tar, built by make image and
# loaded into the nodes), SA-001 in a pod through the probe Job, SA-007 through the PodDefault webhook stand-in, and
# the login families through the pinned Dex and oauth2-proxy (bin/dex-image.tar, bin/oauth2-proxy-image.tar, static
# builds of the pins) behind the gateway stand-in, reached through a port-forward. The clock-moving checks are n/a
# (real programs keep real time), as on the local tier, and SA-009/ISO-003 (no Argo). Reports land in out/e2e-kind/.
# KFP_AUTHCHECK_KIND_PROFILES picks the profiles (default kubeflow,kubeflow-1.8,deploykf); KFP_AUTHCHECK_KIND_KEEP=1 keeps
# the clusters.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=./bin/kfp-authcheck
OUT=out/e2e-kind
mkdir -p "$OUT"
keep=()
[ "${KFP_AUTHCHECK_KIND_KEEP:-}" = 1 ] && keep=(--keep)
begin=$SECONDS
rc=0
$BIN run --tier kind --profile "${KFP_AUTHCHECK_KIND_PROFILES:-kubeflow,kubeflow-1.8,deploykf}" \
  --kind-image "${KFP_AUTHCHECK_KIND_IMAGE:-bin/kfp-authcheck-image.tar}" \
  --progress always --format text,json,junit,html --out "$OUT" "${keep[@]}" || rc=$?
if [ $rc -eq 2 ]; then
  echo "e2e-kind: not run (exit 2): see the line above; on GitHub Actions the e2e-kind job runs it" >&2
  exit 2
fi
cat "$OUT/kfp-authcheck.txt" 2>/dev/null || true
echo "e2e-kind: $((SECONDS - begin))s in all, exit $rc; reports in $OUT/"
exit $rc
