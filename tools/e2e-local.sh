#!/usr/bin/env bash
# make e2e-local: the local tier end to end, against the real programs `make tools` built, with the real KFP API
# server (KFP_AUTHCHECK_LOCAL_KFP=real, MariaDB from `make mariadb`) behind the real oauth2-proxy and in-cluster;
# KFP_AUTHCHECK_LOCAL_KFP=stand-in runs it against the project's KFP API stand-in instead.
#   1. the tier's own tests (clusters/local, with kube-controller-manager beside kube-apiserver;
#      harness: the plan of every profile held to the started stack; start, stop, failed start, kube-apiserver TokenRequest/TokenReview/SAR,
#      misconfigurations caught by the real programs, RBAC-003's verb matrix diffed between mocks/kube and
#      kube-apiserver, the seed's cross-namespace RoleBinding scenario and the KFP API fidelity table against the
#      real server), and `run --target` against the tier's real kube-apiserver: nothing left after a run, an
#      interrupted run, SIGINT, and cleanup after a crash; the in_cluster_api forward
#   2. the ginkgo suites with KFP_AUTHCHECK_TIER=local
#   3. `kfp-authcheck run --tier local` over every profile (reports in out/e2e-local/), with etcd and
#      kube-apiserver for the multi-user ones; the SA and RBAC checks must have run there (not n/a)
#   4. `kfp-authcheck serve --tier local --kube`, stopped with SIGINT: the stack comes up, answers, and leaves
#      no process and no directory behind
#   5. `kfp-authcheck fidelity`: embedded against local, the differences table (fails on an unexplained one)
# and ends by printing the tier's start-up time and the whole run's time.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
BIN=./bin/kfp-authcheck
OUT=out/e2e-local
mkdir -p "$OUT"
export KFP_AUTHCHECK_REQUIRE_TOOLS=1
export KFP_AUTHCHECK_LOCAL_KFP=${KFP_AUTHCHECK_LOCAL_KFP:-real}
if [ "$KFP_AUTHCHECK_LOCAL_KFP" = real ] && ! { [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1; }; then
  echo "e2e-local: the real KFP API server needs MariaDB's server: make mariadb (or KFP_AUTHCHECK_LOCAL_KFP=stand-in)" >&2
  exit 1
fi
echo "e2e-local: KFP API: $KFP_AUTHCHECK_LOCAL_KFP"
begin=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

echo "== e2e-local: the tier's own tests"
$GO test -count=1 -timeout 10m ./clusters/local/ ./harness/fidelity/ ./harness/
$GO test -count=1 -timeout 10m -run 'LocalTier' ./cmd/kfp-authcheck/
# The KFP API fidelity table (the stand-in against the real server), printed for the log.
$GO test -count=1 -timeout 5m -run TestKFPAPIFidelity -v ./clusters/local/ | sed -n 's/^        //p' | tee "$OUT/kfp-api-fidelity.md"

echo "== e2e-local: the suites on the local tier"
KFP_AUTHCHECK_TIER=local $GO test -count=1 -timeout 15m ./suites/...

echo "== e2e-local: kfp-authcheck run --tier local"
rc=0
$BIN run --tier local --progress never --format text,json,junit --out "$OUT" 2>"$OUT/run.stderr" || rc=$?
cat "$OUT/run.stderr" >&2
cat "$OUT/kfp-authcheck.txt" 2>/dev/null || true
[ $rc -eq 0 ] || { echo "run --tier local exited $rc" >&2; exit $rc; }
startup=$(sed -n 's/^kfp-authcheck: local tier up in \([^ ]*\).*/\1/p' "$OUT/run.stderr")
# kubeflow, kubeflow-1.8 and deploykf run these against the real kube-apiserver; a tier that silently lost it
# would report them n/a and still exit 0.
for id in SA-001 RBAC-001 RBAC-003 RBAC-004; do
  n=$(grep -E "^$id " "$OUT/kfp-authcheck.txt" | grep -o pass | wc -l)
  [ "$n" -ge 3 ] || { echo "$id passed on $n profile(s) of the local tier, want 3 (is kube-apiserver started?)" >&2; exit 1; }
done

echo "== e2e-local: kfp-authcheck serve --tier local --kube, then SIGINT"
ready="$OUT/serve-ready.json"
rm -f "$ready"
$BIN serve --tier local --kube --profile deploykf --ready-file "$ready" >"$OUT/serve.stdout" 2>"$OUT/serve.stderr" &
serve_pid=$!
deadline=$((SECONDS + 120))
while [ ! -s "$ready" ]; do
  if ! kill -0 "$serve_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
    echo "serve --tier local did not become ready:" >&2
    cat "$OUT/serve.stderr" >&2
    kill -INT "$serve_pid" 2>/dev/null || true
    exit 1
  fi
  sleep 0.2
done
[ "$(stat -c %a "$ready")" = 600 ] || { echo "ready file is not mode 0600" >&2; exit 1; }
kubeconfig=$(sed -n 's/.*"kubeconfig": *"\([^"]*\)".*/\1/p' "$ready")
[ -n "$kubeconfig" ] && [ "$(stat -c %a "$kubeconfig")" = 600 ] || { echo "no kubeconfig, or not 0600: $kubeconfig" >&2; exit 1; }
stackdir=$(dirname "$kubeconfig")
serve_up=$(sed -n 's/.*stack up in \([^ ]*\) .*/\1/p' "$OUT/serve.stderr")
pids=$(pgrep -P "$serve_pid" || true)
kill -INT "$serve_pid"
wait "$serve_pid" || { echo "serve exited non-zero after SIGINT:" >&2; cat "$OUT/serve.stderr" >&2; exit 1; }
for p in $pids; do
  if kill -0 "$p" 2>/dev/null; then echo "program pid $p still running after serve stopped" >&2; exit 1; fi
done
[ ! -e "$stackdir" ] || { echo "stack directory $stackdir left behind" >&2; exit 1; }
echo "serve --tier local --kube (deploykf with etcd, kube-apiserver and KFP API $KFP_AUTHCHECK_LOCAL_KFP) up in $serve_up; stopped cleanly on SIGINT"

echo "== e2e-local: fidelity (embedded against local)"
$BIN fidelity | tee "$OUT/fidelity.md"

echo "e2e-local: tier start-up ${startup:-unknown} (every profile in parallel: Dex and oauth2-proxy, etcd and" \
  "kube-apiserver for the multi-user ones, KFP API $KFP_AUTHCHECK_LOCAL_KFP); serve with etcd and kube-apiserver" \
  "${serve_up:-unknown}; whole run $(elapsed "$begin")"
