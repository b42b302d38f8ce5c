# Every target is a one-liner that delegates to `cargo xtask` (or to cargo itself): the logic
# lives in xtask/, in Rust, so it runs the same on Linux, macOS and Windows. GNU make only; no
# shell syntax in the recipes. Pass extra flags with ARGS, e.g. `make info ARGS=--json`.

CARGO ?= cargo
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help build check test fmt clippy info clean-shared-target ci-full

help:
	$(info make help      List these targets)
	$(info make build     Build the workspace)
	$(info make check     Type-check every crate, target and feature)
	$(info make test      Run the workspace's tests)
	$(info make fmt       Format the code)
	$(info make clippy    Lint with clippy, warnings as errors)
	$(info make info      Show what the tasks see: members, target dirs, tools)
	$(info make clean-shared-target  Free disk in the target dir after safety checks; ARGS=--dry-run to preview)
	$(info make ci-full   Install what the checks need, then run every check CI runs)
	$(info Extra flags go in ARGS, e.g. make info ARGS=--json. Cargo in use, set with CARGO=...:)
	@$(CARGO) --version

build:
	$(CARGO) build --workspace $(ARGS)

check:
	$(CARGO) check --workspace --all-targets --all-features $(ARGS)

test:
	$(CARGO) test --workspace --all-features $(ARGS)

fmt:
	$(CARGO) fmt --all $(ARGS)

clippy:
	$(CARGO) clippy --workspace --all-targets --all-features $(ARGS) -- -D warnings

info:
	$(CARGO) xtask info $(ARGS)

clean-shared-target:
	$(CARGO) xtask clean-shared-target $(ARGS)

ci-full:
	$(CARGO) xtask ci $(ARGS)
