#!/usr/bin/env bash
# Bounded load test of /metrics (scrape throughput and latency, memory stays flat).
#
#   scripts/load-test.sh [--duration SECONDS] [--quick] [--users N] [--threads T]
#                        [--connections C] [--refresh-interval DUR] [--rss-only] [--keep]
#
#   --quick           5 s per run (CI)
#   --rss-only        no load: start, wait until ready (+3 s), print the RSS, stop. With
#                     --refresh-interval 5m (the default interval) this is the memory of an
#                     exporter holding the report.
#
# What it does, all on 127.0.0.1 and bounded in time:
#   1. builds target/release/aws-iam-exporter if missing (cargo build --release);
#   2. generates an N-user credential report (scripts/gen-report.py, default 5,000 users);
#   3. starts the exporter offline (--credential-report.file) on a free port with
#      --refresh.interval 1s, so it re-reads, re-renders and re-publishes the report every
#      second while it is being scraped; per-user series on;
#   4. waits for /readyz, then runs wrk (T threads, C connections, --latency) on /metrics for
#      D seconds with no Accept-Encoding (plain), then D seconds with Accept-Encoding: gzip,
#      then both again with 1 thread and 1 connection (one scraper: latency without queueing);
#   5. samples the exporter's RSS (/proc/PID/status VmRSS) every second into rss.tsv;
#   6. prints a markdown table (mode, requests/s, p50, p99, errors, RSS) on stdout.
# Exit status 1 when wrk saw any error (socket errors or non-2xx/3xx responses), when the
# RSS grew (end > start * 1.5 + 10 MiB), or when no refresh completed during the load.
# The exporter is killed by PID on exit (trap), whatever happens.
#
# Environment: WRK_BIN (default: wrk on PATH), EXPORTER_BIN (default:
# target/release/aws-iam-exporter), PYTHON (default python3).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

DURATION=20
USERS=5000
THREADS=2
CONNECTIONS=32
KEEP=0
RSS_ONLY=0
INTERVAL=1s
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    --duration) DURATION=${2:?--duration needs seconds}; shift 2 ;;
    --duration=*) DURATION=${1#*=}; shift ;;
    --quick) DURATION=5; shift ;;
    --users) USERS=${2:?--users needs a number}; shift 2 ;;
    --users=*) USERS=${1#*=}; shift ;;
    --threads) THREADS=${2:?}; shift 2 ;;
    --connections) CONNECTIONS=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --rss-only) RSS_ONLY=1; shift ;;
    --refresh-interval) INTERVAL=${2:?--refresh-interval needs a duration}; shift 2 ;;
    --refresh-interval=*) INTERVAL=${1#*=}; shift ;;
    -h | --help) usage ;;
    *) echo "load-test: unknown argument: $1" >&2; usage ;;
  esac
done
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 && $DURATION -le 600 ]] ||
  { echo "load-test: --duration must be 1..600 seconds" >&2; exit 2; }
[[ $USERS =~ ^[0-9]+$ ]] || { echo "load-test: --users must be a number" >&2; exit 2; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log() { printf 'load-test: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

WRK=${WRK_BIN:-$(command -v wrk || true)}
[[ -n $WRK && -x $WRK ]] || die "wrk not found (apt-get install wrk, or scripts/setup-test-env.sh; or set WRK_BIN)"
PY=${PYTHON:-python3}
BIN=${EXPORTER_BIN:-$ROOT/target/release/aws-iam-exporter}
if [[ ! -x $BIN ]]; then
  log "building $BIN (cargo build --release)"
  cargo build --release --bin aws-iam-exporter >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/aws-iam-exporter-load.XXXXXX")
EXPORTER_PID=
SAMPLER_PID=
cleanup() {
  local rc=$?
  if [[ -n $SAMPLER_PID ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
  if [[ -n $EXPORTER_PID ]] && kill -0 "$EXPORTER_PID" 2>/dev/null; then
    kill "$EXPORTER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$EXPORTER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$EXPORTER_PID" 2>/dev/null || true
  fi
  if [[ $KEEP == 1 || $rc != 0 ]]; then
    log "files kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "generating a ${USERS}-user report"
"$PY" "$ROOT/scripts/gen-report.py" --users "$USERS" --seed 1 >"$WORK/report.csv"

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
URL=http://127.0.0.1:$PORT
log "starting $BIN on 127.0.0.1:$PORT (refresh every $INTERVAL)"
"$BIN" --web.listen-address "127.0.0.1:$PORT" \
  --credential-report.file "$WORK/report.csv" \
  --refresh.interval "$INTERVAL" \
  --metrics.per-user=true \
  --log.level info 2>"$WORK/exporter.log" >/dev/null &
EXPORTER_PID=$!

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$EXPORTER_PID/status" 2>/dev/null || echo 0; }
refreshes() { grep -c 'refresh succeeded' "$WORK/exporter.log" || true; }

ready=0
for _ in $(seq 300); do
  kill -0 "$EXPORTER_PID" 2>/dev/null || { cat "$WORK/exporter.log" >&2; die "exporter exited during startup"; }
  if curl -fsS -o /dev/null --max-time 2 "$URL/readyz" 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
[[ $ready == 1 ]] || die "exporter not ready after 30s"
# Let a couple of refreshes go by so the start RSS includes a steady-state publish.
sleep 2

# Sanity: the body is the expected size, gzip decodes, and per-user series are there.
series=$(curl -fsS --max-time 10 "$URL/metrics" | grep -vc '^#' || true)
gz_bytes=$(curl -fsS --max-time 10 -H 'Accept-Encoding: gzip' "$URL/metrics" | wc -c)
plain_bytes=$(curl -fsS --max-time 10 "$URL/metrics" | wc -c)
curl -fsS --max-time 10 -H 'Accept-Encoding: gzip' "$URL/metrics" | gzip -t ||
  die "the gzip body does not decode"
((series > USERS)) || die "only $series series for $USERS users (per-user series missing?)"
log "body: $series series, $plain_bytes bytes plain, $gz_bytes bytes gzip"

RSS_READY=$(rss_kib)
if [[ $RSS_ONLY == 1 ]]; then
  sleep 3
  rss=$(rss_kib)
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$EXPORTER_PID/status")
  printf '| users | series | body plain / gzip | RSS after ready | peak RSS (VmHWM) |\n|---:|---:|---:|---:|---:|\n'
  printf '| %s | %s | %s | %s MiB | %s MiB |\n' "$USERS" "$series" "$((plain_bytes / 1024)) KiB / $((gz_bytes / 1024)) KiB" \
    "$((rss / 1024))" "$((hwm / 1024))"
  exit 0
fi
(
  while kill -0 "$EXPORTER_PID" 2>/dev/null; do
    printf '%s\t%s\n' "$(date +%s)" "$(rss_kib)"
    sleep 1
  done
) >"$WORK/rss.tsv" &
SAMPLER_PID=$!

cat >"$WORK/report.lua" <<'EOF'
-- One machine-readable line at the end of the run (latencies in microseconds).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%.0f duration_us=%.0f bytes=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f connect=%.0f read=%.0f write=%.0f status=%.0f timeout=%.0f\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
EOF

fmt_ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }
field() { sed -n "s/.*[[:space:]]$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

ROWS=()
FAILED=0
run_wrk() {
  local mode=$1
  shift
  local before after out line
  before=$(refreshes)
  log "wrk: $mode, ${THREADS} thread(s), ${CONNECTIONS} connection(s), ${DURATION}s"
  out=$("$WRK" -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
    -s "$WORK/report.lua" "$@" "$URL/metrics" 2>&1) || die "wrk failed: $out"
  printf '%s\n' "$out" >"$WORK/wrk-$mode.txt"
  after=$(refreshes)
  line=$(grep '^WRK_RESULT' <<<"$out") || die "no result line from wrk: $out"
  local req dur bytes p50 p99 errs rss
  req=$(field requests "$line")
  dur=$(field duration_us "$line")
  bytes=$(field bytes "$line")
  p50=$(field p50_us "$line")
  p99=$(field p99_us "$line")
  errs=$(($(field connect "$line") + $(field read "$line") + $(field write "$line") + $(field status "$line") + $(field timeout "$line")))
  rss=$(rss_kib)
  local rps mibs
  rps=$(awk -v r="$req" -v d="$dur" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
  mibs=$(awk -v b="$bytes" -v d="$dur" 'BEGIN { printf "%.0f", b / (d / 1e6) / 1048576 }')
  ROWS+=("| $mode (-t$THREADS -c$CONNECTIONS) | $rps | $(fmt_ms "$p50") | $(fmt_ms "$p99") | $errs | $mibs | $((after - before)) | $((rss / 1024)) MiB |")
  if ((errs > 0)); then
    log "FAIL: $mode: $errs errors ($line)"
    FAILED=1
  fi
  if ((req == 0)); then
    log "FAIL: $mode: no requests completed"
    FAILED=1
  fi
  if ((after - before == 0 && DURATION >= 3)); then
    log "FAIL: $mode: no refresh completed during the load"
    FAILED=1
  fi
}

run_wrk plain
run_wrk gzip -H 'Accept-Encoding: gzip'
# One scraper at a time (what Prometheus does): latency without queueing behind 31 others.
THREADS_SAVED=$THREADS CONNECTIONS_SAVED=$CONNECTIONS
THREADS=1 CONNECTIONS=1
run_wrk "plain, 1 connection"
run_wrk "gzip, 1 connection" -H 'Accept-Encoding: gzip'
THREADS=$THREADS_SAVED CONNECTIONS=$CONNECTIONS_SAVED

sleep 1
RSS_END=$(rss_kib)
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=
RSS_MAX=$(awk -v m="$RSS_END" '$2 > m { m = $2 } END { print m }' "$WORK/rss.tsv")
LIMIT=$((RSS_READY * 3 / 2 + 10 * 1024))

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
cat <<EOF

Load test: $USERS users ($series series; body $((plain_bytes / 1024)) KiB plain, $((gz_bytes / 1024)) KiB gzip), refresh every $INTERVAL, wrk --latency -d${DURATION}s per row; $(nproc) CPUs ($cpu), $mem; load average before: $LOAD_BEFORE.

| mode | requests/s | p50 | p99 | errors | MiB/s | refreshes during run | RSS after |
|---|---:|---:|---:|---:|---:|---:|---:|
EOF
printf '%s\n' "${ROWS[@]}"
cat <<EOF

RSS: $((RSS_READY / 1024)) MiB after ready, $((RSS_END / 1024)) MiB at the end, $((RSS_MAX / 1024)) MiB max (limit $((LIMIT / 1024)) MiB = start x 1.5 + 10 MiB).
EOF

if ((RSS_END > LIMIT)); then
  log "FAIL: RSS grew from $RSS_READY KiB to $RSS_END KiB (limit $LIMIT KiB)"
  FAILED=1
fi
if ((FAILED)); then
  log "FAILED (details in $WORK)"
  exit 1
fi
log "ok"
