#!/usr/bin/env bash
# Fails when the committed SDK code is not what scripts/generate.sh produces
# from proto/ now: regenerates everything, then checks the generated paths with
# `git status --porcelain` (modified or deleted tracked files, and untracked new
# ones, against HEAD). CI runs this after scripts/sdk-tools.sh.
#
#   scripts/sdk-drift.sh             compare with git HEAD (+ untracked files)
#   scripts/sdk-drift.sh --worktree  compare with the work tree as it was before
#                                    (for before-commit checks; nothing staged needed)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

GENERATED=(
  sdk/rust/src/gen
  sdk/typescript/src/gen
  sdk/python/src/tez
  sdk/go/tez
  sdk/go/go.mod
  sdk/go/go.sum
)

snapshot() {
  find "${GENERATED[@]}" -type f -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 sha256sum 2>/dev/null || true
}

mode="${1:-git}"
before="$(snapshot)"
bash scripts/generate.sh >/dev/null
after="$(snapshot)"

if [[ "$mode" == "--worktree" ]]; then
  if [[ "$before" != "$after" ]]; then
    echo "sdk-drift: generated SDK code differed from the work tree (now regenerated):" >&2
    diff <(echo "$before") <(echo "$after") >&2 || true
    exit 1
  fi
  echo "sdk-drift: ok (work tree matches generation)"
  exit 0
fi

changes="$(git status --porcelain --untracked-files=all -- "${GENERATED[@]}")"
if [[ -n "$changes" ]]; then
  echo "sdk-drift: generated SDK code is not up to date with proto/ (regenerate with scripts/generate.sh and commit):" >&2
  git status --porcelain --untracked-files=all -- sdk/ >&2
  exit 1
fi
echo "sdk-drift: ok (generated SDK code matches git HEAD)"
