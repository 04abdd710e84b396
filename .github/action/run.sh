#!/usr/bin/env bash
# Run kfp-authcheck with the action's inputs (KFA_* variables, never interpolated into the script) and record its
# exit code as the step output "exit-code"; the step itself succeeds so that the summary and upload steps run.
set -uo pipefail
args=(run --format "$KFA_FORMATS" --out "$KFA_OUT" --fail-on "${KFA_FAIL_ON:-fail}" --progress always)
[ -n "${KFA_TARGET:-}" ] && args+=(--target "$KFA_TARGET")
[ -n "${KFA_PROFILE:-}" ] && args+=(--profile "$KFA_PROFILE")
[ -z "${KFA_TARGET:-}" ] && args+=(--tier "${KFA_TIER:-embedded}")
[ -n "${KFA_ONLY:-}" ] && args+=(--only "$KFA_ONLY")
[ -n "${KFA_EXPECTED:-}" ] && args+=(--expected "$KFA_EXPECTED")
[ -n "${KFA_LABEL:-}" ] && args+=(--label "$KFA_LABEL")
"${KFA_BIN:?}" "${args[@]}"
code=$?
echo "exit-code=$code" >> "${GITHUB_OUTPUT:?}"
exit 0
