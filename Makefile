# tezgram — the two commands a newcomer needs:
#   make run    build (release) and serve on the embedded default
#   make test   install/start what tests need and run every check
SHELL := /bin/bash
# Builds live outside the clone so repeated CI runs on one machine reuse them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/tezgram/target

.PHONY: run test build generate sdk-drift lint bench

run:
	@scripts/run.sh

test:
	@scripts/test.sh

build:
	cargo build --workspace

# Regenerate the SDKs and the descriptor set from proto/ (committed output).
generate:
	scripts/sdk-tools.sh
	scripts/generate.sh

sdk-drift:
	scripts/sdk-drift.sh

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p tezgram --no-default-features --all-targets -- -D warnings
	source scripts/sdk-env.sh && buf lint

# Benchmarks (results as tables in $(CARGO_TARGET_DIR)/bench/).
bench:
	@scripts/bench.sh
