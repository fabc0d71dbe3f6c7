#!/usr/bin/env bash
# The project's test command (README, CI). Sets up its own environment via
# scripts/setup-test-env.sh, then runs every stage in order, stopping at the
# first failing stage (TEST_SH_KEEP_GOING=1 runs all stages regardless).
# Last line: "test.sh: N passed, M failed[, K skipped]"; exit 1 if any failed.
#
# Environment:
#   TEST_SH_KEEP_GOING=1               run every stage even after a failure
#   AWS_IAM_EXPORTER_SKIP_MISSING_TOOLS=1  skip, instead of fail, the tests whose tools
#                                      (moto, prometheus, alertmanager, promtool) are missing
#   TEST_SH_STAGE_TIMEOUT=SECONDS      per-stage time limit (default 2700)
#   TEST_SH_SEPARATE_CLIPPY=1          plain `cargo clippy --all-targets` (its own check build)
#
# Builds, on 2 cores (a cold run: ~17 minutes before these two, ~11 estimated after):
#   - the dependencies are compiled once in debug, for the tests; clippy lints the crate while
#     it is built for them (no second, check-mode build of every dependency);
#   - the release binary is built once, by the Dockerfile's own commands, in the background
#     while the tests run, and the load test reuses it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

bash scripts/setup-test-env.sh

# Tools for the tests (tests/it/common/tools.rs reads these variables).
export MOTO_SERVER=$ROOT/.venv/bin/moto_server
export PROMETHEUS_BIN=${PROMETHEUS_BIN:-$(command -v prometheus || true)}
export ALERTMANAGER_BIN=${ALERTMANAGER_BIN:-$(command -v prometheus-alertmanager || command -v alertmanager || true)}
export PROMTOOL=${PROMTOOL:-$(command -v promtool || true)}
export WRK_BIN=${WRK_BIN:-$(command -v wrk || true)}
# A test whose tool is missing fails, unless this asks to skip it (never set by this script).
if [[ ${AWS_IAM_EXPORTER_SKIP_MISSING_TOOLS:-} =~ ^(1|true|yes)$ ]]; then
  printf 'test.sh: AWS_IAM_EXPORTER_SKIP_MISSING_TOOLS=%s: tests whose tools are missing are SKIPPED, not failed\n' \
    "$AWS_IAM_EXPORTER_SKIP_MISSING_TOOLS"
fi
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

# bg_start NAME COMMAND [ARGS...]: starts a later stage now, in the background, niced, its output
# to a file; bg_stage NAME is that stage: it waits for it, prints its output and its exit status.
declare -A bg_log=()
bg_start() {
  local name=$1
  shift
  [[ $stop == 1 ]] && return 0
  bg_log[$name]=$(mktemp "${TMPDIR:-/tmp}/test-sh-bg.XXXXXX")
  # `timeout` leads its own process group: its pid (in $log.pid) is what bg_kill_all stops.
  bash -c 'start=$(date +%s) rc=0
    nice -n 10 timeout --kill-after=30 "$@" >"$0" 2>&1 &
    echo $! >"$0.pid"
    wait $! || rc=$?
    printf "(ran in the background for %ss)\n" "$(($(date +%s) - start))" >>"$0"
    echo "$rc" >"$0.rc"' "${bg_log[$name]}" "$STAGE_TIMEOUT" "$@" &
}
bg_stage() {
  local name=$1
  local log=${bg_log[$name]:-}
  if [[ -z $log ]]; then
    run_stage "$name" false
    return 0
  fi
  run_stage "$name" bash -c 'while [[ ! -e $0.rc ]]; do sleep 1; done; cat "$0"; exit "$(cat "$0.rc")"' "$log"
  # Skipped after an earlier failure: still running, the EXIT trap stops it.
  [[ -e $log.rc ]] || return 0
  rm -f "$log" "$log.pid" "$log.rc"
  unset "bg_log[$name]"
}
bg_kill_all() {
  local log
  for log in "${bg_log[@]}"; do
    if [[ -e $log.pid && ! -e $log.rc ]]; then
      kill -- "-$(cat "$log.pid")" 2>/dev/null || true
    fi
  done
}
trap bg_kill_all EXIT

# --- a) style and lints ---
run_stage "cargo fmt" cargo fmt --all -- --check
# Clippy as cargo's workspace wrapper while every target is built for the tests: what `cargo
# clippy` does during a `cargo check`, the same lints on the same targets (--all-targets) with
# -D warnings, but the dependencies are compiled once (for the tests) instead of a second time
# in check mode, which took ~5 of the ~17 minutes of a cold run. Every `cargo test` below keeps
# the wrapper so nothing is rebuilt; the release build does not use it.
CLIPPY_DRIVER=$(command -v clippy-driver || true)
if [[ -n $CLIPPY_DRIVER && ${TEST_SH_SEPARATE_CLIPPY:-0} != 1 ]]; then
  export RUSTC_WORKSPACE_WRAPPER=$CLIPPY_DRIVER
  # cargo-clippy's way of passing `-- -D warnings` to clippy-driver.
  export CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
  run_stage "cargo clippy (while building the tests)" cargo test --all-targets --no-run
else
  run_stage "cargo clippy" cargo clippy --all-targets -- -D warnings
fi

# The release binary: the Dockerfile's own build commands, started now so that they compile
# while the tests below mostly wait on servers (niced: the tests come first). Its stage comes
# later, where it always ran; the load test reuses the binary.
bg_start "dockerfile build commands" \
  env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS bash scripts/dockerfile-build-check.sh

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
# The Dockerfile's own build commands (release build), run outside Docker (started above).
bg_stage "dockerfile build commands"
# Concurrent scrapes while refreshes run every second, 5,000 users: zero errors, flat memory.
# It reuses the Dockerfile's binary above (profile dist: the shipped one), and builds a release
# binary, without the clippy wrapper, only if that one is missing.
LOAD_BIN=$ROOT/target/dist/aws-iam-exporter
[[ -x $LOAD_BIN ]] || LOAD_BIN=$ROOT/target/release/aws-iam-exporter
run_stage "load test (quick)" env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS \
  EXPORTER_BIN="$LOAD_BIN" bash scripts/load-test.sh --quick
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
