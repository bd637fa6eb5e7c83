#!/usr/bin/env bash
# Builds the live inbox page (sdk/typescript/inbox) into sdk/typescript/inbox/dist:
# index.html and a minified inbox.js, which are committed and embedded into the
# gateway binary. Type-checks the page first (esbuild does not).
#
#   scripts/inbox-build.sh            build into sdk/typescript/inbox/dist
#   scripts/inbox-build.sh OUT_DIR    build elsewhere (scripts/inbox-drift.sh)
#
# Installs the node packages it needs first (scripts/browser-tools.sh --node-only).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-}"
[[ -z "$out" ]] || out="$(mkdir -p "$out" && cd "$out" && pwd)"

bash "$ROOT/scripts/browser-tools.sh" --node-only
cd "$ROOT/sdk/typescript/inbox"
../node_modules/.bin/tsc -p tsconfig.json
node build.mjs ${out:+"$out"}
