# Sourced by the SDK scripts: tool locations and pinned versions.
# (Node tool versions are pinned in tools/package.json + tools/package-lock.json,
#  Python ones in tools/requirements.txt.)
TEZGRAM_CACHE="${TEZGRAM_CACHE:-$HOME/.cache/tezgram}"
TEZGRAM_TOOLS="${TEZGRAM_TOOLS:-$TEZGRAM_CACHE/tools}"
TEZGRAM_VENV="${TEZGRAM_VENV:-$TEZGRAM_CACHE/venv}"

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
PROTOC_GEN_PROST_VERSION=0.5.0
PROTOC_GEN_TONIC_VERSION=0.5.0

_tezgram_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$_tezgram_root/scripts/bin:$_tezgram_root/tools/node_modules/.bin:$TEZGRAM_TOOLS/bin:$TEZGRAM_VENV/bin:$PATH"
export TEZGRAM_CACHE TEZGRAM_TOOLS TEZGRAM_VENV
unset _tezgram_root
