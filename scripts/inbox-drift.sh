#!/usr/bin/env bash
# Fails when the committed inbox page (sdk/typescript/inbox/dist) is not what
# its sources build to now: rebuilds into a temp dir and compares file by file
# (the build is deterministic). Fix with scripts/inbox-build.sh and commit dist/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="$ROOT/sdk/typescript/inbox/dist"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

bash "$ROOT/scripts/inbox-build.sh" "$tmp" >/dev/null
if ! diff -r -q "$DIST" "$tmp" >&2; then
  echo "inbox-drift: sdk/typescript/inbox/dist is not what its sources build to (rebuild with scripts/inbox-build.sh and commit)" >&2
  exit 1
fi
echo "inbox-drift: ok (dist matches a fresh build)"
