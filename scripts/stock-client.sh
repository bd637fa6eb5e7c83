#!/usr/bin/env bash
# A stock client (buf curl, via server reflection) against a running gateway:
# with the token it lists accounts over gRPC and over grpc-web; without it,
# and with a bad page size, it gets the documented errors.
#   TEZGRAM_SMOKE_ADDR=127.0.0.1:50051 TEZGRAM_SMOKE_TOKEN=<jwt> scripts/stock-client.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/sdk-env.sh
source scripts/sdk-env.sh
: "${TEZGRAM_SMOKE_ADDR:?}" "${TEZGRAM_SMOKE_TOKEN:?}"
url="http://$TEZGRAM_SMOKE_ADDR/tez.telegram.v1.AccountService/ListAccounts"
auth="authorization: Bearer $TEZGRAM_SMOKE_TOKEN"

expect_ok() {
  local out
  out="$(buf curl "$@" 2>&1)" || { echo "FAIL: buf curl $* -> $out"; exit 1; }
  echo "ok: ${out//$'\n'/ }"
}
expect_code() {
  local code="$1"; shift
  local out
  if out="$(buf curl "$@" 2>&1)"; then echo "FAIL: expected $code, got success: $out"; exit 1; fi
  grep -q "\"code\": \"$code\"" <<<"$out" || { echo "FAIL: expected $code, got: $out"; exit 1; }
  echo "ok: $code"
}

expect_ok --protocol grpc --http2-prior-knowledge -H "$auth" -d '{"page_size": 10}' "$url"
expect_ok --protocol grpcweb -H "$auth" -d '{"page_size": 10}' "$url"
expect_code unauthenticated --protocol grpc --http2-prior-knowledge -d '{}' "$url"
expect_code unauthenticated --protocol grpcweb -d '{}' "$url"
expect_code invalid_argument --protocol grpc --http2-prior-knowledge -H "$auth" -d '{"page_size": -5}' "$url"
