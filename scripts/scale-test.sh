#!/usr/bin/env bash
# Scale test of multi-account mode (issue 6): N accounts (default 200) on the in-process IAM
# scenario server, refreshed with --refresh.concurrency 8 and 16. Prints a table: time until
# every account has aws_iam_exporter_refresh_success 1, the exporter's CPU seconds until then
# (start-up and one refresh of every account), its peak RSS (VmHWM)
# and RSS, the scrape size (plain and gzip) and scrape time. Everything runs on 127.0.0.1, no AWS.
#
# It is the test `scale_accounts_all_refresh` in tests/it/multi_account/scale.rs with
# AWS_IAM_EXPORTER_SCALE=1 (without it, `cargo test` runs a quick 20-account version); then
# `scale_root_audit_of_every_member`: 2,000 members read by a root audit through sts:AssumeRoot
# (organizations.root_audit, no role), the time for a full round, its AssumeRoot and IAM calls,
# CPU and RSS (docs/performance.md, "Root audit of 2,000 member accounts").
# Built with --release (exporter and scenario server), so the numbers are release numbers.
#
# Environment (all optional):
#   AWS_IAM_EXPORTER_SCALE_ACCOUNTS=200    accounts
#   AWS_IAM_EXPORTER_SCALE_ROOT_MEMBERS=2000  members of the root-audit run
#   AWS_IAM_EXPORTER_SCALE_USERS=20        IAM users per account (per-user series on)
#   AWS_IAM_EXPORTER_SCALE_LATENCY_MS=50   delay of every IAM answer (AWS is not instant)
#   AWS_IAM_EXPORTER_SCALE_INTERVAL=1s     --refresh.interval (1s: all accounts due at once, non-stop refreshing)
#   AWS_IAM_EXPORTER_SCALE_FAST=1m         --refresh.fast-interval (default: the exporter's, 1m; with
#                                          the 1s interval, fast checks are off)
#   AWS_IAM_EXPORTER_SCALE_CONCURRENCY=8,16  the --refresh.concurrency of each run
#   AWS_IAM_EXPORTER_SCALE_BIN=PATH        exporter binary (default: the release build of this run)
#   AWS_IAM_EXPORTER_SCALE_STEADY_SECS=0   also measure the steady state: the exporter's CPU over
#                                          this many seconds, from half an interval after the
#                                          first round (when refreshes come at their slots; one
#                                          scrape every 15 s), scaled to one interval; and the IAM
#                                          calls per second of that window, by action
#   SCALE_TEST_PROFILE=debug               build the test harness in debug instead (faster to
#                                          build; then set AWS_IAM_EXPORTER_SCALE_BIN to a
#                                          release binary, e.g. after `cargo build --release`)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export AWS_IAM_EXPORTER_SCALE=1
profile=(--release)
if [[ ${SCALE_TEST_PROFILE:-release} == debug ]]; then
  profile=()
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "revision: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')"

# --test-threads=1: the two runs (concurrency 8, 16) are sequential inside each test anyway;
# the filter `scale` selects scale_accounts_all_refresh and scale_root_audit_of_every_member.
exec cargo test "${profile[@]}" --test it multi_account::scale -- --nocapture --test-threads=1
