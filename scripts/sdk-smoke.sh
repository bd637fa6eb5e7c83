#!/usr/bin/env bash
# Runs the four SDK smoke tests against a running tezgram server:
#
#   TEZGRAM_SMOKE_ADDR=127.0.0.1:50051 TEZGRAM_SMOKE_TOKEN=<jwt> scripts/sdk-smoke.sh
#
# The server must serve gRPC and grpc-web (plaintext) on that address. Each SDK
# checks: health Check("") = SERVING; ListAccounts(page_size 10) with the token
# succeeds; without it = UNAUTHENTICATED; page_size -5 = INVALID_ARGUMENT.
# TypeScript goes over grpc-web, the others over gRPC. Fails if any fails.
# Needs scripts/sdk-tools.sh to have run. Pick SDKs with SDKS="go python".
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/sdk-env.sh
source scripts/sdk-env.sh

: "${TEZGRAM_SMOKE_ADDR:?set TEZGRAM_SMOKE_ADDR=host:port of a running server}"
: "${TEZGRAM_SMOKE_TOKEN:?set TEZGRAM_SMOKE_TOKEN to a JWT the server accepts}"
export TEZGRAM_SMOKE_ADDR TEZGRAM_SMOKE_TOKEN

smoke_typescript() { (cd sdk/typescript && npx --no-install tsc -p tsconfig.test.json && node --test build/test/smoke.test.js build/test/media.test.js); }
smoke_python() { (cd sdk/python && "$TEZGRAM_VENV/bin/python" -m pytest -q -p no:cacheprovider); }
smoke_go() { (cd sdk/go && go test -count=1 -v ./smoke/); }
smoke_rust() { cargo run -q -p tezgram-sdk --example smoke; }

failed=()
passed=()
for sdk in ${SDKS:-typescript python go rust}; do
  echo "=== smoke: $sdk ($TEZGRAM_SMOKE_ADDR)"
  if "smoke_$sdk"; then passed+=("$sdk"); else failed+=("$sdk"); fi
done
echo "sdk-smoke: ${#passed[@]} passed, ${#failed[@]} failed${failed:+ (${failed[*]})}"
[[ ${#failed[@]} -eq 0 ]]
