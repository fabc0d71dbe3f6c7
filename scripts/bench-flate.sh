#!/usr/bin/env bash
# flate2's backends (miniz_oxide, the default, and zlib-rs) on this exporter's gzip head.
#
#   scripts/bench-flate.sh [--users N]... [--keep]
#
# For each size (default 5000 and 50000 users): generates the report, writes the classic
# exposition with `aws-iam-exporter --once`, then compresses it the way Precompressed::new does
# (DeflateEncoder, write_all of the body in pieces, then a sync flush) with each backend at
# levels 1, 2 and 6. Two throw-away binaries are built in a temporary directory (cargo
# --offline, flate2 pinned to the version in Cargo.lock), one per backend, because flate2
# picks its backend at compile time. Prints CPU time per compression (perf stat task-clock
# over 5 compressions, less robust to a busy machine than min wall time but fairer) and the
# compressed size (each stream is decoded and compared once, untimed).
#
# Environment: EXPORTER_BIN (default target/release/aws-iam-exporter), PYTHON (default python3).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SIZES=()
KEEP=0
while (($#)); do
  case $1 in
    --users) SIZES+=("${2:?}"); shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
((${#SIZES[@]})) || SIZES=(5000 50000)
command -v perf >/dev/null || { echo "bench-flate: perf not found" >&2; exit 1; }
PY=${PYTHON:-python3}
BIN=${EXPORTER_BIN:-$ROOT/target/release/aws-iam-exporter}
[[ -x $BIN ]] || cargo build --release --bin aws-iam-exporter >&2
FLATE=$(awk -F'"' '/^name = "flate2"/ { getline; print $2; exit }' "$ROOT/Cargo.lock")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/aws-iam-exporter-flate.XXXXXX")
cleanup() { local rc=$?; if [[ $KEEP == 1 || $rc != 0 ]]; then echo "bench-flate: files kept in $WORK" >&2; else rm -rf "$WORK"; fi; exit "$rc"; }
trap cleanup EXIT

for backend in miniz_oxide zlib-rs; do
  mkdir -p "$WORK/$backend/src"
  if [[ $backend == zlib-rs ]]; then
    dep="flate2 = { version = \"=$FLATE\", default-features = false, features = [\"zlib-rs\"] }"
  else
    dep="flate2 = \"=$FLATE\""
  fi
  printf '[package]\nname = "flate-bench"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\n%s\n[profile.release]\ncodegen-units = 4\n' "$dep" >"$WORK/$backend/Cargo.toml"
  cat >"$WORK/$backend/src/main.rs" <<'EOF'
use std::io::Write;
fn main() {
    let level: u32 = std::env::var("LEVEL").unwrap().parse().unwrap();
    let body = std::fs::read(std::env::args().nth(1).unwrap()).unwrap();
    let mut len = 0;
    for _ in 0..5 {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::with_capacity(body.len() / 6), flate2::Compression::new(level));
        for piece in body.chunks(256 * 1024) {
            enc.write_all(piece).unwrap();
        }
        enc.flush().unwrap();
        len = enc.get_ref().len();
        if std::env::var_os("CHECK").is_some() {
            let mut dec = flate2::write::DeflateDecoder::new(Vec::new());
            dec.write_all(enc.get_ref()).unwrap();
            dec.flush().unwrap();
            assert!(dec.get_ref()[..] == body[..], "round trip");
            break;
        }
    }
    println!("{len}");
}
EOF
  (cd "$WORK/$backend" && CARGO_TARGET_DIR="$WORK/$backend/target" cargo build --release --offline -q >&2)
done

printf '| users | body | backend | level | CPU per compression | compressed | ratio |\n|---:|---:|---|---:|---:|---:|---:|\n'
for users in "${SIZES[@]}"; do
  "$PY" "$ROOT/scripts/gen-report.py" --users "$users" --seed 1 --now 1748736000 >"$WORK/report.csv"
  "$BIN" --once --credential-report.file "$WORK/report.csv" --log.level error >"$WORK/body.prom"
  size=$(wc -c <"$WORK/body.prom")
  for backend in miniz_oxide zlib-rs; do
    for level in 1 2 6; do
      CHECK=1 LEVEL=$level "$WORK/$backend/target/release/flate-bench" "$WORK/body.prom" >/dev/null
      out=$(LEVEL=$level perf stat -x, -e task-clock -r 3 "$WORK/$backend/target/release/flate-bench" "$WORK/body.prom" 2>"$WORK/stat")
      ms=$(awk -F, '/task-clock/ { printf "%.1f ms", $1 / 5 }' "$WORK/stat")
      len=$(tail -1 <<<"$out")
      printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$users" "$size" "$backend" "$level" "$ms" "$len" \
        "$(awk -v a="$len" -v b="$size" 'BEGIN { printf "%.2f%%", 100 * a / b }')"
    done
  done
done
