#!/usr/bin/env bash
# make test: installs and starts what the tests need (SDK tools, PostgreSQL,
# Redis — on loopback), runs every check, and stops what it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tezgram/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

started=$SECONDS
declare -a timings=()
step() {
  local name="$1"; shift
  echo
  echo "==> $name"
  local t0=$SECONDS
  "$@"
  timings+=("$(printf '%-42s %4ds' "$name" $((SECONDS - t0)))")
}

smoke_dir=""
gateway_pid=""
cleanup() {
  if [[ -n "$gateway_pid" ]] && kill -0 "$gateway_pid" 2>/dev/null; then
    kill -TERM "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  [[ -n "$smoke_dir" ]] && rm -rf "$smoke_dir"
  scripts/services.sh stop || true
}
trap cleanup EXIT

rust_components() {
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
}

step "rust components" rust_components
step "sdk tools (node, go, python, rust plugins)" scripts/sdk-tools.sh
step "postgresql + redis on loopback" scripts/services.sh start
eval "$(scripts/services.sh env)"
# shellcheck source=scripts/sdk-env.sh
source scripts/sdk-env.sh

step "cargo fmt --check" cargo fmt --all --check
step "buf lint" buf lint
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets --locked -- -D warnings
# The gateway built without the sandbox DC (real Telegram only) must keep
# compiling, pass clippy, and refuse what needs the sandbox.
step "cargo clippy: gateway without sandbox" \
  cargo clippy -p tezgram --no-default-features --all-targets --locked -- -D warnings
step "rust tests: gateway without sandbox" \
  cargo test -p tezgram --no-default-features --lib --locked
step "sdk drift (regenerate, diff)" scripts/sdk-drift.sh
step "inbox drift (rebuild, diff)" scripts/inbox-drift.sh
step "rust tests: sqlite + in-process cache" \
  env -u TEZGRAM_TEST_DATABASE_URL -u TEZGRAM_TEST_REDIS_URL cargo test --workspace --locked
step "rust tests: postgresql + redis" cargo test --locked --test it

# The SDK smoke tests and a stock client (buf curl) run against the real
# binary on the embedded default, as `make run` serves it.
start_gateway() {
  cargo build --locked --bin tezgram
  smoke_dir="$(mktemp -d)"
  local ports
  ports="$(python3 -c 'import socket
s=[socket.socket() for _ in range(5)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')"
  read -r grpc_port metrics_port sandbox_port inbox_port links_port <<<"$ports"
  export TEZGRAM_SMOKE_ADDR="127.0.0.1:$grpc_port"
  # The inbox page as make run serves it; the browser test loads it there.
  export TEZGRAM_INBOX_URL="http://127.0.0.1:$inbox_port"
  (
    unset TEZGRAM_DATABASE_URL TEZGRAM_REDIS_URL
    export TEZGRAM_DATA_DIR="$smoke_dir" TEZGRAM_LISTEN="$TEZGRAM_SMOKE_ADDR" \
      TEZGRAM_METRICS_LISTEN="127.0.0.1:$metrics_port" TEZGRAM_SANDBOX__LISTEN="127.0.0.1:$sandbox_port" \
      TEZGRAM_INBOX_LISTEN="127.0.0.1:$inbox_port" TEZGRAM_EVENTS__HEARTBEAT_SECONDS=2 \
      TEZGRAM_MEDIA__LINKS_LISTEN="127.0.0.1:$links_port"
    exec "$CARGO_TARGET_DIR/debug/tezgram" serve >"$smoke_dir/gateway.log" 2>&1
  ) &
  gateway_pid=$!
  TEZGRAM_SMOKE_TOKEN="$(TEZGRAM_DATA_DIR="$smoke_dir" "$CARGO_TARGET_DIR/debug/tezgram" token 2>/dev/null | tail -n 1)"
  export TEZGRAM_SMOKE_TOKEN
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$grpc_port") 2>/dev/null; then return 0; fi
    kill -0 "$gateway_pid" 2>/dev/null || { cat "$smoke_dir/gateway.log"; return 1; }
    sleep 0.1
  done
  echo "gateway did not listen on $TEZGRAM_SMOKE_ADDR"; cat "$smoke_dir/gateway.log"; return 1
}
step "start the gateway binary (embedded default)" start_gateway
step "stock client: buf curl over grpc and grpc-web" scripts/stock-client.sh
step "sdk smoke: typescript (grpc-web), python, go, rust" scripts/sdk-smoke.sh
step "browser test: chromium over grpc-web" scripts/browser-test.sh

echo
echo "==> timings"
printf '  %s\n' "${timings[@]}"
printf '  %-42s %4ds\n' "total" $((SECONDS - started))
