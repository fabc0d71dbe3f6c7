#!/usr/bin/env bash
# Validate the Prometheus rules shipped in alerts/ and the monitoring mixin they come from:
#   1. promtool check rules   alerts/*.yml         (syntax, templates, duplicate rules)
#   2. promtool test rules    alerts/tests/*.yml   (unit tests)
#   3. coverage: every alert has at least one test where it fires and one where it stays
#      quiet, and every recording rule is exercised by a promql_expr_test.
#   4. scripts/check_mixin.py: mixin/ formatted and unit-tested, alerts/ and dashboards/ equal
#      to what it renders, and the import example of docs/alerts.md rendered and checked.
# Exit code is non-zero if any step fails. Runs from any directory.
#
# Environment: PROMTOOL=/path/to/promtool (default: promtool on PATH); JSONNET=/path/to/jsonnet
# (default: jsonnet on PATH, Debian package jsonnet); PYTHON (default: .venv/bin/python when
# there, else python3; needs PyYAML).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
PROMTOOL=${PROMTOOL:-promtool}

if ! command -v "$PROMTOOL" >/dev/null 2>&1; then
  echo "check-alerts: '$PROMTOOL' not found (apt-get install prometheus, or set PROMTOOL=...)" >&2
  exit 2
fi

shopt -s nullglob
rule_files=(alerts/*.yml)
test_files=(alerts/tests/*.yml)
if [ ${#rule_files[@]} -eq 0 ] || [ ${#test_files[@]} -eq 0 ]; then
  echo "check-alerts: no rule files (alerts/*.yml) or no tests (alerts/tests/*.yml)" >&2
  exit 2
fi

passed=0
failed=0
step() { # step NAME CMD...
  local name=$1
  shift
  echo "==> $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "FAILED: $name" >&2
    failed=$((failed + 1))
  fi
  echo
}

coverage() {
  local problems=0 name fire quiet
  # Alerts defined in the rule files.
  local alerts
  alerts=$(sed -n 's/^[[:space:]]*-[[:space:]]*alert:[[:space:]]*\([A-Za-z0-9_]*\).*/\1/p' "${rule_files[@]}" | sort -u)
  # For each alert_rule_test entry, classify as "fire" or "quiet". Handles block style
  #   alertname: X            and flow style   {eval_time: 1m, alertname: X, exp_alerts: []}
  #   exp_alerts: [] | exp_alerts:
  local cases
  cases=$(awk '
    /alertname:[[:space:]]*[A-Za-z0-9_]+/ {
      match($0, /alertname:[[:space:]]*[A-Za-z0-9_]+/)
      cur = substr($0, RSTART, RLENGTH); sub(/alertname:[[:space:]]*/, "", cur)
    }
    /exp_alerts:/ && cur != "" {
      if ($0 ~ /exp_alerts:[[:space:]]*\[[[:space:]]*\]/) print cur, "quiet"; else print cur, "fire"
      cur = ""
    }' "${test_files[@]}")
  for name in $alerts; do
    fire=$(printf '%s\n' "$cases" | grep -c "^$name fire$")
    quiet=$(printf '%s\n' "$cases" | grep -c "^$name quiet$")
    if [ "$fire" -eq 0 ] || [ "$quiet" -eq 0 ]; then
      echo "  $name: $fire firing case(s), $quiet quiet case(s): need at least one of each"
      problems=$((problems + 1))
    else
      echo "  $name: $fire firing, $quiet quiet"
    fi
  done
  local records rec
  records=$(sed -n 's/^[[:space:]]*-[[:space:]]*record:[[:space:]]*\([A-Za-z0-9_:]*\).*/\1/p' "${rule_files[@]}" | sort -u)
  for rec in $records; do
    if grep -qE "^[[:space:]]*-?[[:space:]]*expr:.*\b${rec}\b" "${test_files[@]}"; then
      echo "  $rec: tested"
    else
      echo "  $rec: recording rule has no promql_expr_test"
      problems=$((problems + 1))
    fi
  done
  [ "$problems" -eq 0 ]
}

step "promtool check rules ${rule_files[*]}" "$PROMTOOL" check rules --lint=all --lint-fatal "${rule_files[@]}"
step "promtool test rules ${test_files[*]}" "$PROMTOOL" test rules "${test_files[@]}"
step "test coverage (every alert fires and stays quiet somewhere; every recording rule tested)" coverage
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
step "the monitoring mixin (scripts/check_mixin.py)" "$PYTHON" scripts/check_mixin.py --promtool "$(command -v "$PROMTOOL")"

echo "alerts: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
