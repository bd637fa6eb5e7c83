#!/usr/bin/env bash
# Installs what the browser test (scripts/browser-test.sh) needs:
#   /usr/bin/chromium                        Debian's chromium package (apt)
#   sdk/typescript/browser-test/node_modules playwright-core + esbuild (its own lockfile)
#   sdk/typescript/node_modules              the SDK's deps, which the page bundles
# With --node-only, just the node packages (scripts/inbox-build.sh bundles the
# inbox page with the same esbuild and needs no browser).
#
# Idempotent and fast when everything is there. playwright-core downloads no
# browser; the test drives Debian's chromium.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '==> %s\n' "$*" >&2; }
node_only=false
[[ "${1:-}" == "--node-only" ]] && node_only=true

# --- chromium (Debian) ------------------------------------------------------------
if ! $node_only && [[ ! -x /usr/bin/chromium ]]; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  # apt-get update only when the package lists do not know chromium yet.
  if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    log "apt-get update"
    $sudo apt-get update -qq
  fi
  log "apt-get install chromium"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
$node_only || [[ -x /usr/bin/chromium ]] || { echo "browser-tools: /usr/bin/chromium missing after install" >&2; exit 1; }

# --- node packages (npm ci only when a lockfile changed; same stamp as sdk-tools.sh) --
# The page bundles the SDK from sdk/typescript/src, whose imports (@bufbuild/protobuf,
# @connectrpc/*) resolve from sdk/typescript/node_modules: install that too.
npm_install() { # dir
  local dir="$1" stamp="$1/node_modules/.tezgram-lock-stamp"
  if [[ -f "$stamp" ]] && cmp -s "$dir/package-lock.json" "$stamp"; then
    return 0
  fi
  log "npm ci in ${dir#"$ROOT"/}"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$stamp"
}
npm_install "$ROOT/sdk/typescript"
npm_install "$ROOT/sdk/typescript/browser-test"

$node_only || log "browser tools ready ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
