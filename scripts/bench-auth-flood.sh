#!/usr/bin/env bash
# A flood of distinct wrong passwords against basic auth: how long a right password seen for
# the first time waits, how fast /healthz stays, and how the flood is answered.
#
#   scripts/bench-auth-flood.sh [--before BIN] [--connections N] [--scenario NAME]...
#
#   --before BIN     also run another exporter binary (e.g. a release build of the previous
#                    commit: git worktree add /tmp/before COMMIT && cargo build --release)
#   --connections N  flood connections (default 1000)
#   --scenario NAME  one, several or shared (default: all three; see scripts/auth_flood.py)
#
# What it does:
#   1. builds target/release/aws-iam-exporter if missing (nice cargo build --release);
#   2. raises the open-file limit to 8192 (the flood and the exporter each hold N sockets);
#   3. for each binary and scenario, starts the exporter afresh with one user (bcrypt cost
#      10), floods it from 127.0.0.x addresses (scripts/auth_flood.py) and prints a markdown
#      table row: time to the right password's answer, /healthz median and max, /metrics
#      with the right password once checked (median, max), the flood's 401 (checked) and
#      429 (unchecked) answers.
# Needs python3 (standard library only) and Linux (127.0.0.0/8 local).
#
# Environment: EXPORTER_BIN (default target/release/aws-iam-exporter), TIMEOUT (seconds the
# right password may wait, default 120).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

BEFORE=
CONNECTIONS=1000
SCENARIOS=()
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    --before) BEFORE=${2:?--before needs a binary}; shift 2 ;;
    --connections) CONNECTIONS=${2:?--connections needs a number}; shift 2 ;;
    --scenario) SCENARIOS+=(--scenario "${2:?--scenario needs a name}"); shift 2 ;;
    -h | --help) usage ;;
    *) echo "bench-auth-flood: unknown argument: $1" >&2; usage ;;
  esac
done
[[ $CONNECTIONS =~ ^[0-9]+$ ]] || usage

log() { printf 'bench-auth-flood: %s\n' "$*" >&2; }

BIN=${EXPORTER_BIN:-$ROOT/target/release/aws-iam-exporter}
if [[ ! -x $BIN ]]; then
  log "building $BIN (nice cargo build --release)"
  nice cargo build --release --bin aws-iam-exporter >&2
fi
ulimit -n 8192 2>/dev/null || log "cannot raise the open-file limit ($(ulimit -n)); lower --connections if connections fail"

log "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
args=(--connections "$CONNECTIONS" --timeout "${TIMEOUT:-120}" "${SCENARIOS[@]}")
python3 "$ROOT/scripts/auth_flood.py" --bin "$BIN" --label after --header "${args[@]}"
if [[ -n $BEFORE ]]; then
  python3 "$ROOT/scripts/auth_flood.py" --bin "$BEFORE" --label before "${args[@]}"
fi
