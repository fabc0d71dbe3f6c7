#!/usr/bin/env bash
# Resident memory of the exporter holding one account, after serving every form of /metrics.
#
#   scripts/rss.sh [--users N] [--refreshes R] [--interval DUR] [--keep]
#
#   --users N      report size (default 50000)
#   --refreshes R  also wait for R more refreshes (each followed by the same four scrapes) before
#                  the last reading, so that re-publication (old and new body alive together)
#                  is in the peak (default 0: the first refresh only)
#   --interval D   --refresh.interval of the exporter (default 5m; use e.g. 15s with --refreshes)
#
# What it does, all on 127.0.0.1 and bounded in time:
#   1. builds target/release/aws-iam-exporter if missing;
#   2. generates the N-user report (scripts/gen-report.py, seed 1) and starts the exporter
#      offline on it (--credential-report.file, per-user series on) on a free port;
#   3. waits for /readyz, reads VmRSS ("ready");
#   4. GETs /metrics in the four forms (classic and OpenMetrics, each plain and gzip; checks that
#      gzip decodes to the plain body apart from the scrape-time age) and reads VmRSS
#      ("served", 2 s later);
#   5. with --refreshes R: waits for R more refreshes, scrapes the four forms after each;
#   6. prints one markdown row: users, series, body sizes, the last refresh's duration, CPU
#      seconds per interval (one refresh and the four scrapes, averaged over the R refreshes;
#      utime + stime from /proc), RSS ready, RSS served, RSS after R refreshes, peak (VmHWM).
# The exporter is killed by PID on exit.
#
# Environment: EXPORTER_BIN (default target/release/aws-iam-exporter), PYTHON (default python3).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

USERS=50000
REFRESHES=0
INTERVAL=5m
KEEP=0
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    --users) USERS=${2:?}; shift 2 ;;
    --refreshes) REFRESHES=${2:?}; shift 2 ;;
    --interval) INTERVAL=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage ;;
    *) echo "rss: unknown argument: $1" >&2; usage ;;
  esac
done
[[ $USERS =~ ^[0-9]+$ && $REFRESHES =~ ^[0-9]+$ ]] || usage

log() { printf 'rss: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

PY=${PYTHON:-python3}
BIN=${EXPORTER_BIN:-$ROOT/target/release/aws-iam-exporter}
if [[ ! -x $BIN ]]; then
  log "building $BIN (cargo build --release)"
  cargo build --release --bin aws-iam-exporter >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/aws-iam-exporter-rss.XXXXXX")
PID=
cleanup() {
  local rc=$?
  if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PID" 2>/dev/null || true
  fi
  if [[ $KEEP == 1 || $rc != 0 ]]; then log "files kept in $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "generating a ${USERS}-user report"
"$PY" "$ROOT/scripts/gen-report.py" --users "$USERS" --seed 1 >"$WORK/report.csv"
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
URL=http://127.0.0.1:$PORT
"$BIN" --web.listen-address "127.0.0.1:$PORT" --credential-report.file "$WORK/report.csv" \
  --refresh.interval "$INTERVAL" --metrics.per-user=true --log.level info \
  2>"$WORK/exporter.log" >/dev/null &
PID=$!

kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PID/status"; }
TICKS=$(getconf CLK_TCK)
# CPU seconds of the exporter so far (utime + stime; the command name has no spaces).
cpu_s() { awk -v t="$TICKS" '{printf "%.3f", ($14 + $15) / t}' "/proc/$PID/stat"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
mib1() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
refreshes() { grep -c 'refresh succeeded' "$WORK/exporter.log" || true; }

for _ in $(seq 600); do
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/exporter.log" >&2; die "exporter exited"; }
  curl -fsS -o /dev/null --max-time 2 "$URL/readyz" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null --max-time 2 "$URL/readyz" || die "exporter not ready after 60 s"
sleep 1
RSS_READY=$(kib VmRSS)

OM='Accept: application/openmetrics-text; version=1.0.0'
age='^aws_iam_root_last_used_seconds'
scrape_all() {
  curl -fsS --max-time 60 "$URL/metrics" >"$WORK/classic.prom"
  curl -fsS --max-time 60 -H 'Accept-Encoding: gzip' "$URL/metrics" | gzip -dc >"$WORK/classic.gz.prom"
  curl -fsS --max-time 60 -H "$OM" "$URL/metrics" >"$WORK/om.prom"
  curl -fsS --max-time 60 -H "$OM" -H 'Accept-Encoding: gzip' "$URL/metrics" | gzip -dc >"$WORK/om.gz.prom"
  cmp -s <(grep -v "$age" "$WORK/classic.prom") <(grep -v "$age" "$WORK/classic.gz.prom") || die "classic gzip differs"
  cmp -s <(grep -v "$age" "$WORK/om.prom") <(grep -v "$age" "$WORK/om.gz.prom") || die "OpenMetrics gzip differs"
}
scrape_all
sleep 2
RSS_SERVED=$(kib VmRSS)
RSS_LAST=$RSS_SERVED
CPU_SERVED=$(cpu_s)
for ((i = 0; i < REFRESHES; i++)); do
  before=$(refreshes)
  for _ in $(seq 1200); do
    (($(refreshes) > before)) && break
    sleep 0.5
  done
  (($(refreshes) > before)) || die "no refresh within 10 min"
  sleep 1
  scrape_all
  sleep 2
  RSS_LAST=$(kib VmRSS)
done
HWM=$(kib VmHWM)
CPU_PER_INTERVAL=-
if ((REFRESHES > 0)); then
  CPU_PER_INTERVAL=$(awk -v a="$CPU_SERVED" -v b="$(cpu_s)" -v n="$REFRESHES" 'BEGIN { printf "%.3f s", (b - a) / n }')
fi
REFRESH_S=$(grep -o 'duration_seconds=[0-9.]*' "$WORK/exporter.log" | tail -1 | cut -d= -f2)
REFRESH_S=$(awk -v s="${REFRESH_S:-0}" 'BEGIN { printf "%.0f ms", s * 1000 }')
series=$(grep -vc '^#' "$WORK/classic.prom")
plain=$(wc -c <"$WORK/classic.prom")
gz=$(curl -fsS --max-time 60 -H 'Accept-Encoding: gzip' "$URL/metrics" | wc -c)

printf '| %s | %s | %s MiB / %s MiB | %s | %s | %s MiB | %s MiB | %s MiB | %s MiB |\n' "$USERS" "$series" \
  "$(mib1 "$plain")" "$(mib1 "$gz")" "$REFRESH_S" "$CPU_PER_INTERVAL" \
  "$(mib "$RSS_READY")" "$(mib "$RSS_SERVED")" "$(mib "$RSS_LAST")" "$(mib "$HWM")"
log "columns: users | series | body plain / gzip | refresh | CPU per interval (refresh + four scrapes) | RSS ready | RSS after the four forms | RSS after $REFRESHES more refresh(es) | peak (VmHWM)"
