#!/usr/bin/env bash
# Browser test: Debian's chromium loads a page from another origin than the
# gateway's and calls it over grpc-web with the TypeScript SDK (health, an
# authenticated ListAccounts, UNAUTHENTICATED without a token, INVALID_ARGUMENT
# with ErrorInfo + BadRequest details read from grpc-status-details-bin); then
# drives the live inbox page (sdk/typescript/inbox: from TEZGRAM_INBOX_URL when
# set, else the committed inbox/dist) while sandbox customers write to a
# sandbox agent.
#
#   TEZGRAM_SMOKE_ADDR=127.0.0.1:50051 TEZGRAM_SMOKE_TOKEN=<jwt> scripts/browser-test.sh
#
# Installs what it needs first (scripts/browser-tools.sh). Set
# TEZGRAM_BROWSER_SCREENSHOT=/tmp/page.png to keep a screenshot of the result page;
# the inbox's last screen goes to TEZGRAM_INBOX_SCREENSHOT (default
# sdk/typescript/browser-test/artifacts/inbox.png).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

: "${TEZGRAM_SMOKE_ADDR:?set TEZGRAM_SMOKE_ADDR=host:port of a running server}"
: "${TEZGRAM_SMOKE_TOKEN:?set TEZGRAM_SMOKE_TOKEN to a JWT the server accepts}"
export TEZGRAM_SMOKE_ADDR TEZGRAM_SMOKE_TOKEN

bash "$ROOT/scripts/browser-tools.sh"
cd "$ROOT/sdk/typescript/browser-test"
node --test --test-reporter=spec test/
