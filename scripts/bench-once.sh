#!/usr/bin/env bash
# `--once` against the Python baseline (csv + prometheus_client), side by side in one run.
#
#   scripts/bench-once.sh [--users N] [--runs R] [--before BIN] [--keep]
#
#   --users N     report size (default 5000)
#   --runs R      timed runs per command (default 30; 3 warm-up runs each)
#   --before BIN  also time another exporter binary (e.g. a build of the previous commit)
#   --keep        keep the work directory (report, outputs, hyperfine JSON)
#
# What it does:
#   1. builds target/release/aws-iam-exporter if missing (cargo build --release);
#   2. generates the N-user report (scripts/gen-report.py, seed 1, fixed --now);
#   3. makes sure the baseline's prometheus_client is importable (pip install into .venv, or
#      into the interpreter given by PYTHON, when missing);
#   4. checks that both print an exposition of about the same size and series count;
#   5. times `aws-iam-exporter --once --credential-report.file REPORT` and
#      `python3 scripts/baseline_exporter.py REPORT` with hyperfine (stdout to /dev/null, no
#      shell), interleaved in one run, and prints a markdown table: mean, min, max, and how many
#      times faster than the baseline.
# Needs hyperfine (apt-get install hyperfine).
#
# Environment: EXPORTER_BIN (default target/release/aws-iam-exporter), PYTHON (default
# .venv/bin/python if present, else python3).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

USERS=5000
RUNS=30
BEFORE=
KEEP=0
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    --users) USERS=${2:?--users needs a number}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
    --before) BEFORE=${2:?--before needs a binary}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage ;;
    *) echo "bench-once: unknown argument: $1" >&2; usage ;;
  esac
done
[[ $USERS =~ ^[0-9]+$ && $RUNS =~ ^[0-9]+$ ]] || usage

log() { printf 'bench-once: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v hyperfine >/dev/null || die "hyperfine not found (apt-get install hyperfine)"
if [[ -n ${PYTHON:-} ]]; then
  PY=$PYTHON
elif [[ -x $ROOT/.venv/bin/python ]]; then
  PY=$ROOT/.venv/bin/python
else
  PY=python3
fi
if ! "$PY" -c 'import prometheus_client' 2>/dev/null; then
  log "installing prometheus_client for $PY"
  "$PY" -m pip install --quiet prometheus_client >&2 || die "pip install prometheus_client failed"
fi
BIN=${EXPORTER_BIN:-$ROOT/target/release/aws-iam-exporter}
if [[ ! -x $BIN ]]; then
  log "building $BIN (cargo build --release)"
  cargo build --release --bin aws-iam-exporter >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/aws-iam-exporter-once.XXXXXX")
cleanup() {
  local rc=$?
  if [[ $KEEP == 1 || $rc != 0 ]]; then log "files kept in $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT

log "generating a ${USERS}-user report"
"$PY" "$ROOT/scripts/gen-report.py" --users "$USERS" --seed 1 --now 1748736000 >"$WORK/report.csv"

RUST_CMD="$BIN --once --credential-report.file $WORK/report.csv --log.level error"
PY_CMD="$PY $ROOT/scripts/baseline_exporter.py $WORK/report.csv"
BEFORE_CMD=
[[ -z $BEFORE ]] || BEFORE_CMD="$BEFORE --once --credential-report.file $WORK/report.csv --log.level error"

# Same kind of output: the sizes and series counts must be close, or the comparison is unfair.
$RUST_CMD >"$WORK/rust.prom"
$PY_CMD >"$WORK/python.prom"
series() { grep -vc '^#' "$1"; }
log "rust: $(series "$WORK/rust.prom") series, $(wc -c <"$WORK/rust.prom") bytes; python: $(series "$WORK/python.prom") series, $(wc -c <"$WORK/python.prom") bytes"
if [[ -n $BEFORE_CMD ]]; then
  $BEFORE_CMD >"$WORK/before.prom"
  # The families both binaries write must be byte-equal, apart from what moves with the clock
  # or the build (age, refresh time and duration, revision); a family only one of them has
  # (an older build lacks newer families) is named and left out.
  moving='^aws_iam_(root_last_used_seconds|exporter_last_refresh_success_timestamp_seconds|exporter_refresh_duration_seconds|exporter_build_info)[{ ]'
  names() { grep -v '^#' "$1" | sed 's/[{ ].*//' | sort -u; }
  only=$(comm -3 <(names "$WORK/before.prom") <(names "$WORK/rust.prom") | tr -d '\t' | paste -sd' ')
  [[ -z $only ]] || log "families in one output only (left out of the comparison): $only"
  common="^($(comm -12 <(names "$WORK/before.prom") <(names "$WORK/rust.prom") | paste -sd'|'))[{ ]"
  diff <(grep -E "$common" "$WORK/before.prom" | grep -Ev "$moving") \
    <(grep -E "$common" "$WORK/rust.prom" | grep -Ev "$moving") >/dev/null ||
    die "--once output differs between $BEFORE and $BIN"
fi

ARGS=(-N --warmup 3 --runs "$RUNS" --export-json "$WORK/hyperfine.json" --style basic
  -n "aws-iam-exporter --once" "$RUST_CMD")
[[ -z $BEFORE_CMD ]] || ARGS+=(-n "aws-iam-exporter --once (before)" "$BEFORE_CMD")
ARGS+=(-n "python csv + prometheus_client" "$PY_CMD")
hyperfine "${ARGS[@]}" >&2

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
printf '\n`--once`, %s users (%s series, %s bytes), hyperfine %s runs each after 3 warm-ups; %s CPUs (%s); load average %s.\n\n' \
  "$USERS" "$(series "$WORK/rust.prom")" "$(wc -c <"$WORK/rust.prom")" "$RUNS" "$(nproc)" "$cpu" "$(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$WORK/hyperfine.json" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = next(r for r in results if r["command"].startswith("python"))
print("| command | mean | median | min | max | vs baseline (mean / median) |")
print("|---|---:|---:|---:|---:|---:|")
for r in results:
    ms = lambda s: f"{s * 1000:.1f} ms"
    print(f"| {r['command']} | {ms(r['mean'])} ± {r['stddev'] * 1000:.1f} | {ms(r['median'])} | {ms(r['min'])} | {ms(r['max'])} "
          f"| {base['mean'] / r['mean']:.1f}x / {base['median'] / r['median']:.1f}x |")
EOF
