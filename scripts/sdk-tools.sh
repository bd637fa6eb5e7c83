#!/usr/bin/env bash
# Installs every tool the SDK pipeline (scripts/generate.sh, scripts/sdk-drift.sh)
# and the SDK smoke tests (scripts/sdk-smoke.sh) need, at pinned versions.
#
# Idempotent and fast when everything is already there. Installs into places
# that survive between runs on the same machine:
#   tools/node_modules                        buf, protoc-gen-es (tools/package.json + lockfile)
#   sdk/typescript/node_modules               the TypeScript SDK's deps + tsc (its own lockfile)
#   $TEZGRAM_TOOLS/bin                        protoc-gen-go, protoc-gen-go-grpc, protoc-gen-prost, protoc-gen-tonic
#   $TEZGRAM_VENV                             grpcio, grpcio-tools, protobuf, grpcio-health-checking, pytest
#
# Prints `export PATH=...` hints at the end; scripts/generate.sh sources
# scripts/sdk-env.sh itself, so callers need not.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/sdk-env.sh
source "$ROOT/scripts/sdk-env.sh"

log() { printf '==> %s\n' "$*" >&2; }

mkdir -p "$TEZGRAM_TOOLS/bin"

# --- Node: buf + protoc-gen-es -------------------------------------------------
# `npm ci` only when the lockfile changed since the last install (stamp = lockfile copy).
npm_install() { # dir
  local dir="$1" stamp="$1/node_modules/.tezgram-lock-stamp"
  if [[ -f "$stamp" ]] && cmp -s "$dir/package-lock.json" "$stamp"; then
    return 0
  fi
  log "npm ci in ${dir#"$ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$stamp"
}
npm_install "$ROOT/tools"
npm_install "$ROOT/sdk/typescript"

# --- Go plugins ------------------------------------------------------------------
go_tool() { # binary module@version
  local bin="$1" pkg="$2" stamp="$TEZGRAM_TOOLS/bin/.$1.version"
  if [[ -x "$TEZGRAM_TOOLS/bin/$bin" && -f "$stamp" && "$(cat "$stamp")" == "$pkg" ]]; then
    return 0
  fi
  log "go install $pkg"
  GOBIN="$TEZGRAM_TOOLS/bin" GOFLAGS=-mod=mod go install "$pkg"
  echo "$pkg" >"$stamp"
}
go_tool protoc-gen-go "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
go_tool protoc-gen-go-grpc "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"

# --- Rust plugins (crates.io, generate prost 0.14 / tonic 0.14 + tonic-prost code) --
cargo_tool() { # crate version
  local crate="$1" version="$2"
  if [[ -x "$TEZGRAM_TOOLS/bin/$crate" ]] &&
    grep -qF "\"$crate $version " "$TEZGRAM_TOOLS/.crates.toml" 2>/dev/null; then
    return 0
  fi
  log "cargo install $crate@$version"
  # Own target dir: never contend with the workspace build's lock.
  CARGO_TARGET_DIR="$TEZGRAM_CACHE/cargo-install-target" \
    cargo install --locked --root "$TEZGRAM_TOOLS" "$crate@$version"
}
cargo_tool protoc-gen-prost "$PROTOC_GEN_PROST_VERSION"
cargo_tool protoc-gen-tonic "$PROTOC_GEN_TONIC_VERSION"

# --- Python venv -------------------------------------------------------------------
req="$ROOT/tools/requirements.txt"
stamp="$TEZGRAM_VENV/.tezgram-requirements"
if [[ ! -x "$TEZGRAM_VENV/bin/python" ]]; then
  log "python venv at $TEZGRAM_VENV"
  "${PYTHON:-python3}" -m venv "$TEZGRAM_VENV"
fi
if ! cmp -s "$req" "$stamp"; then
  log "pip install -r tools/requirements.txt"
  "$TEZGRAM_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
fi

# --- Check ------------------------------------------------------------------------
for t in buf protoc-gen-es protoc-gen-go protoc-gen-go-grpc protoc-gen-prost protoc-gen-tonic; do
  command -v "$t" >/dev/null || { echo "sdk-tools: $t not on PATH after install" >&2; exit 1; }
done
log "tools ready (buf $(buf --version), protoc-gen-go $PROTOC_GEN_GO_VERSION, protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC_VERSION, protoc-gen-prost $PROTOC_GEN_PROST_VERSION, protoc-gen-tonic $PROTOC_GEN_TONIC_VERSION, venv $TEZGRAM_VENV)"
