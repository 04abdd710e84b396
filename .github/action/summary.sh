#!/usr/bin/env bash
# Append the Markdown matrix to the job summary, or say why there is none.
set -euo pipefail
md="${KFA_OUT:?}/kfp-authcheck.md"
summary="${GITHUB_STEP_SUMMARY:?}"
if [ -f "$md" ]; then
  cat "$md" >> "$summary"
else
  echo "kfp-authcheck wrote no Markdown report (add md to formats)" >> "$summary"
fi
