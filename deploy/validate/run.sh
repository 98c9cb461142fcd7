#!/usr/bin/env bash
# CI entry point for deploy/: renders every overlay under deploy/overlays with `kubectl kustomize` and
# validates every object offline against the Kubernetes API schemas and every pod template against the Pod
# Security level its namespace enforces (validate.mjs says how), then checks that
# each deliberately broken kustomization under deploy/validate/testdata is rejected for the reasons in its
# EXPECT file. Exits non-zero when an overlay is invalid or a broken case is accepted. Ends with the line
# "validate: N passed, M failed".
#
# Needs kubectl (1.32 renders these; KUBECTL overrides the binary), node >= 18 and npm; installs the pinned
# validators from package-lock.json into deploy/validate/node_modules (npm ci) when they are missing or stale.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

for tool in "${KUBECTL:-kubectl}" node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "deploy/validate: $tool not found" >&2; exit 1; }
done

# npm ci records what it installed in node_modules/.package-lock.json; reinstall when any pinned version differs.
if ! node -e '
    const want = require("./package-lock.json").packages, have = require("./node_modules/.package-lock.json").packages;
    for (const k of Object.keys(want)) if (k && (!have[k] || have[k].version !== want[k].version)) process.exit(1);
  ' 2>/dev/null; then
  echo "deploy/validate: npm ci (pinned validators)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

overlays=(../overlays/*/)
broken=(testdata/*/)
exec node validate.mjs "${overlays[@]}" --expect-fail "${broken[@]}"
