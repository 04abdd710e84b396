#!/usr/bin/env bash
# make e2e-kind: a kind cluster per profile, made and deleted by the harness through sigs.k8s.io/kind's Go API,
# on a node image built here without any registry (make kind-node-image), then the kind suite's prerequisite test
# (suites/kind, e2e-framework) on a cluster of its own.
#
# Where no Docker engine answers, it starts one (tools/kind-node/docker.sh: Debian's docker.io, through the runc
# wrapper where privileged containers would fail) and stops it at the end. KFP_AUTHCHECK_KIND_NODE_IMAGE set to a
# node image (for example the pinned kind release's, where its registry is reachable) skips the build.
#
# What runs: the whole catalogue against the cluster's real kube-apiserver, the project's KFP API stand-in deployed
# into it as ml-pipeline.kubeflow:8888 from the project's image (bin/kfp-authcheck-image.tar, built by make image and
# loaded into the nodes), SA-001 in a pod through the probe Job, SA-007 through the PodDefault webhook stand-in with
# real pods, and the login families through the pinned Dex and oauth2-proxy (bin/dex-image.tar,
# bin/oauth2-proxy-image.tar, static builds of the pins) behind the gateway stand-in, reached through a
# port-forward. The clock-moving checks are n/a (real programs keep real time), as on the local tier, and
# SA-009/ISO-003 (no Argo). Reports land in out/e2e-kind/.
# KFP_AUTHCHECK_KIND_PROFILES picks the profiles (default kubeflow,kubeflow-1.8,deploykf; the clusters come up in
# parallel); KFP_AUTHCHECK_KIND_KEEP=1 keeps the clusters; KFP_AUTHCHECK_KIND_SUITE=0 skips the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=./bin/kfp-authcheck
OUT=out/e2e-kind
mkdir -p "$OUT"
begin=$SECONDS
phases=()
phase() { phases+=("$1 $(($SECONDS - $2))s"); echo "e2e-kind: $1 in $(($SECONDS - $2))s"; }

started_docker=
t=$SECONDS
if ! timeout 10 docker info >/dev/null 2>&1; then
  bash tools/kind-node/docker.sh start
  started_docker=1
fi
cleanup() {
  local left
  left=$(docker ps -a --filter label=io.x-k8s.kind.cluster --format '{{.Names}}' 2>/dev/null | grep '^kfp-authcheck-' || true)
  if [ -n "$left" ] && [ "${KFP_AUTHCHECK_KIND_KEEP:-}" != 1 ]; then
    echo "e2e-kind: kind nodes left behind: $left" >&2
    leftover=1
  fi
  [ -n "$started_docker" ] && bash tools/kind-node/docker.sh stop
  return 0
}
leftover=
trap cleanup EXIT
phase "docker engine" $t

node=${KFP_AUTHCHECK_KIND_NODE_IMAGE:-}
if [ -z "$node" ]; then
  t=$SECONDS
  GO=${GO:-go} bash tools/kind-node/build.sh
  node=$(cat bin/kind-node/image)
  phase "node image" $t
fi

keep=()
[ "${KFP_AUTHCHECK_KIND_KEEP:-}" = 1 ] && keep=(--keep)
t=$SECONDS
rc=0
$BIN run --tier kind --profile "${KFP_AUTHCHECK_KIND_PROFILES:-kubeflow,kubeflow-1.8,deploykf}" \
  --kind-image "${KFP_AUTHCHECK_KIND_IMAGE:-bin/kfp-authcheck-image.tar}" --kind-node-image "$node" \
  --progress always --format text,json,junit,html --out "$OUT" "${keep[@]}" || rc=$?
phase "run (clusters up, checks, clusters deleted)" $t
if [ $rc -eq 2 ]; then
  echo "e2e-kind: not run (exit 2): see the line above" >&2
  exit 2
fi
cat "$OUT/kfp-authcheck.txt" 2>/dev/null || true

src=0
if [ "${KFP_AUTHCHECK_KIND_SUITE:-1}" != 0 ]; then
  t=$SECONDS
  KFP_AUTHCHECK_KIND=1 KFP_AUTHCHECK_KIND_NODE_IMAGE=$node ${GO:-go} test -count=1 -v -timeout 20m \
    -run TestPrerequisites ./suites/kind 2>&1 | tee "$OUT/suite.log" || src=$?
  phase "kind suite (prerequisites)" $t
fi
trap - EXIT
cleanup
if [ -n "$leftover" ] && [ $rc -eq 0 ]; then rc=1; fi
echo "e2e-kind: phases: $(IFS=';'; echo "${phases[*]}" | sed 's/;/; /g')"
echo "e2e-kind: $((SECONDS - begin))s in all, run exit $rc, suite exit $src; reports in $OUT/"
[ $rc -ne 0 ] && exit $rc
exit $src
