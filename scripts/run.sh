#!/usr/bin/env bash
# make run: build release and serve on the embedded default (SQLite in ./data,
# in-process cache, sandbox DC), printing the address, a dev token and the
# inbox page's address.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tezgram/target}"

cargo build --release --bin tezgram
bin="$CARGO_TARGET_DIR/release/tezgram"
listen="${TEZGRAM_LISTEN:-127.0.0.1:50051}"
metrics="${TEZGRAM_METRICS_LISTEN:-127.0.0.1:9464}"
inbox="${TEZGRAM_INBOX_LISTEN:-127.0.0.1:50080}"
export TEZGRAM_INBOX_LISTEN="$inbox"
# Signed download links of media (Media.download_url) are served here.
links="${TEZGRAM_MEDIA__LINKS_LISTEN:-127.0.0.1:50082}"
export TEZGRAM_MEDIA__LINKS_LISTEN="$links"
token="$("$bin" token 2>/dev/null | tail -n 1)"

cat <<MSG

tezgram — gRPC and grpc-web on http://$listen, metrics on http://$metrics/metrics,
media download links on http://$links
dev token (tenant "dev", role admin, valid 24h; get another with: $bin token):

$token

inbox (a live inbox page; log an account in first, e.g. a sandbox user):
  http://$inbox/#gateway=http://$listen&token=$token

try:  buf curl --protocol grpc --http2-prior-knowledge \\
        -H "authorization: Bearer \$TOKEN" http://$listen/tez.telegram.v1.AccountService/ListAccounts

MSG
exec "$bin" serve
