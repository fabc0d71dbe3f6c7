#!/usr/bin/env bash
# The project's test command (README, CI). Sets up its own environment via
# scripts/setup-test-env.sh, then runs every stage in order, stopping at the
# first failing stage (TEST_SH_KEEP_GOING=1 runs all stages regardless).
# Last line: "test.sh: N passed, M failed[, K skipped]"; exit 1 if any failed.
#
# Environment:
#   TEST_SH_KEEP_GOING=1               run every stage even after a failure
#   AWS_IAM_EXPORTER_REQUIRE_TOOLS=0   let tests skip when moto/prometheus/... are missing
#   TEST_SH_STAGE_TIMEOUT=SECONDS      per-stage time limit (default 2700)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

bash scripts/setup-test-env.sh

# Tools for the tests (tests/it/common/mod.rs reads these variables).
export MOTO_SERVER=$ROOT/.venv/bin/moto_server
export PROMETHEUS_BIN=${PROMETHEUS_BIN:-$(command -v prometheus || true)}
export ALERTMANAGER_BIN=${ALERTMANAGER_BIN:-$(command -v prometheus-alertmanager || command -v alertmanager || true)}
export PROMTOOL=${PROMTOOL:-$(command -v promtool || true)}
export WRK_BIN=${WRK_BIN:-$(command -v wrk || true)}
export AWS_IAM_EXPORTER_REQUIRE_TOOLS=${AWS_IAM_EXPORTER_REQUIRE_TOOLS:-1}
# The venv first on PATH: python3 is the venv's (moto, checkers' packages).
export VIRTUAL_ENV=$ROOT/.venv
export PATH=$ROOT/.venv/bin:$PATH
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Keep the host's AWS settings out of the tests.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE || true

STAGE_TIMEOUT=${TEST_SH_STAGE_TIMEOUT:-2700}
KEEP_GOING=${TEST_SH_KEEP_GOING:-0}

passed=0
failed=0
skipped=0
failed_names=()
stop=0

# run_stage NAME COMMAND [ARGS...]
run_stage() {
  local name=$1
  shift
  if [[ $stop == 1 ]]; then
    printf '\n==> SKIPPED (earlier failure): %s\n' "$name"
    skipped=$((skipped + 1))
    return 0
  fi
  printf '\n==================================================================\n'
  printf '==> STAGE: %s\n==> $ %s\n' "$name" "$*"
  printf '==================================================================\n'
  local start rc=0
  start=$(date +%s)
  timeout --kill-after=30 "$STAGE_TIMEOUT" "$@" || rc=$?
  local secs=$(($(date +%s) - start))
  if [[ $rc == 0 ]]; then
    printf '==> PASSED: %s (%ss)\n' "$name" "$secs"
    passed=$((passed + 1))
  else
    [[ $rc == 124 ]] && printf '==> TIMED OUT after %ss\n' "$STAGE_TIMEOUT"
    printf '==> FAILED: %s (exit %s, %ss)\n' "$name" "$rc" "$secs"
    failed=$((failed + 1))
    failed_names+=("$name")
    [[ $KEEP_GOING == 1 ]] || stop=1
  fi
}

# --- a) style and lints ---
run_stage "cargo fmt" cargo fmt --all -- --check
run_stage "cargo clippy" cargo clippy --all-targets -- -D warnings

# --- b) tests (unit, proptest, integration, end-to-end) ---
run_stage "cargo test" cargo test --all-targets --no-fail-fast
if [[ -f src/lib.rs ]] || grep -q '^\[lib\]' Cargo.toml; then
  run_stage "cargo test --doc" cargo test --doc
else
  printf '\n==> (no library target: cargo test --doc not applicable)\n'
fi

# --- c) checks of the other deliverables, when present ---
if [[ -f scripts/check-alerts.sh ]]; then
  run_stage "check-alerts" bash scripts/check-alerts.sh
fi
if [[ -f scripts/check-deploy.sh ]]; then
  run_stage "check-deploy" bash scripts/check-deploy.sh
fi
if [[ -f scripts/check_dashboards.py ]]; then
  run_stage "check_dashboards" python3 scripts/check_dashboards.py --self-test
fi

# --- project checks ---
# Add further stages here, one line each:  run_stage "NAME" COMMAND ARGS...
# The Dockerfile's own build commands (release build), run outside Docker.
run_stage "dockerfile build commands" bash scripts/dockerfile-build-check.sh
# Concurrent scrapes while refreshes run every second, 5,000 users: zero errors, flat memory.
run_stage "load test (quick)" bash scripts/load-test.sh --quick
# --- end of project checks ---

printf '\n'
if ((failed)); then
  printf 'test.sh: failed stages: %s\n' "${failed_names[*]}"
fi
if ((skipped)); then
  printf 'test.sh: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
else
  printf 'test.sh: %d passed, %d failed\n' "$passed" "$failed"
fi
((failed == 0))
