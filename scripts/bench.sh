#!/usr/bin/env bash
# make bench: installs and starts what the benchmarks need (h2load, psql,
# PostgreSQL on loopback), runs them, writes their tables to
# $CARGO_TARGET_DIR/bench/, and stops what it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tezgram/target}"

if ! command -v h2load >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nghttp2-client
fi
trap 'scripts/services.sh stop || true' EXIT
scripts/services.sh start
eval "$(scripts/services.sh env)"

cargo bench --locked --bench accounts
cargo bench --locked --bench messages
cargo bench --locked --bench updates
cargo bench --locked --bench media
echo
echo "tables: $CARGO_TARGET_DIR/bench/"
