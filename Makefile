# Every target is a one-liner that delegates to `cargo xtask` (or to cargo itself): the logic
# lives in xtask/, in Rust, so it runs the same on Linux, macOS and Windows. GNU make only; no
# shell syntax in the recipes. Pass extra flags with ARGS, e.g. `make info ARGS=--json`.

CARGO ?= cargo
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help build check test fmt clippy info ci-full sccache-setup sccache-status sccache-start sccache-stop sccache-stats sccache-clear sccache-env bench
.PHONY: test-coverage-open test-coverage-html test-coverage-lcov test-coverage-text test-coverage-fast coverage-clean
.PHONY: clean-shared-target doctor

help:
	$(info make help                 List these targets)
	$(info make build                Build the workspace)
	$(info make check                Type-check every crate, target and feature)
	$(info make test                 Run the workspace's tests)
	$(info make fmt                  Format the code)
	$(info make clippy               Lint with clippy, warnings as errors)
	$(info make info                 Show what the tasks see: members, target dirs, tools)
	$(info make ci-full              Install what the checks need, then run every check CI runs)
	$(info make sccache-setup        Install, configure and start sccache (idempotent))
	$(info make sccache-status       Show sccache's binary, server, wrapper, cache and problems)
	$(info make sccache-start        Start the sccache server with the configured cache)
	$(info make sccache-stop         Stop the sccache server)
	$(info make sccache-stats        Show sccache's hit rate and cache size)
	$(info make sccache-clear        Stop the server and empty the local cache)
	$(info make sccache-env          Print the sccache variables for your shell)
	$(info make bench                Measure the speed claims side by side (slow))
	$(info make test-coverage-open   Coverage of the workspace as HTML, opened in the browser)
	$(info make test-coverage-html   The same, without opening it: target/llvm-cov/html/index.html)
	$(info make test-coverage-lcov   Coverage as lcov.info at the root, for Codecov)
	$(info make test-coverage-text   Coverage tables in the terminal, and target/llvm-cov/text/)
	$(info make test-coverage-fast   Coverage without the pyo3 crates and fast-exclude ones)
	$(info make coverage-clean       Remove the coverage build and reports)
	$(info make clean-shared-target  Free disk in the target dir after safety checks; ARGS=--dry-run previews)
	$(info make doctor               Check everything the tasks depend on, each finding with its fix)
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

ci-full:
	$(CARGO) dev ci $(ARGS)

sccache-setup:
	$(CARGO) xtask setup-sccache $(ARGS)

sccache-status:
	$(CARGO) xtask setup-sccache status $(ARGS)

sccache-start:
	$(CARGO) xtask setup-sccache start $(ARGS)

sccache-stop:
	$(CARGO) xtask setup-sccache stop $(ARGS)

sccache-stats:
	$(CARGO) xtask setup-sccache stats $(ARGS)

sccache-clear:
	$(CARGO) xtask setup-sccache clear $(ARGS)

sccache-env:
	$(CARGO) xtask setup-sccache env $(ARGS)

bench:
	$(CARGO) dev bench $(ARGS)

test-coverage-open:
	$(CARGO) xtask coverage --mode open $(ARGS)

test-coverage-html:
	$(CARGO) xtask coverage --mode html $(ARGS)

test-coverage-lcov:
	$(CARGO) xtask coverage --mode lcov $(ARGS)

test-coverage-text:
	$(CARGO) xtask coverage --mode text $(ARGS)

test-coverage-fast:
	$(CARGO) xtask coverage-fast $(ARGS)

coverage-clean:
	$(CARGO) xtask coverage --clean-only $(ARGS)

clean-shared-target:
	$(CARGO) xtask clean-shared-target $(ARGS)

doctor:
	$(CARGO) xtask doctor $(ARGS)
