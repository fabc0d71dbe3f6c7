#!/usr/bin/env python3
"""The Python baseline of `aws-iam-exporter --once`: csv + prometheus_client.

    python3 scripts/baseline_exporter.py REPORT.csv [ACCOUNT_ID] > metrics.prom

Reads a credential report with the csv module and prints, in the classic text format
(prometheus_client.generate_latest), the same kind of exposition as `--once`: root credential
gauges, account aggregates, and the per-user series (one per user, or per active key), labelled
like the exporter's. The idiomatic fast way: one custom collector yielding metric families, not a
Gauge child per label set. Used by scripts/bench-once.sh as the baseline to compare against.
"""

import csv
import datetime as dt
import sys

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

NA = ("N/A", "no_information", "not_supported", "")


def ts(value):
    """RFC 3339 -> epoch seconds, or None for N/A and friends."""
    if value in NA:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class ReportCollector:
    def __init__(self, path, account):
        with open(path, newline="") as f:
            self.rows = list(csv.DictReader(f))
        self.account = account

    def collect(self):
        acct = self.account
        root = next((r for r in self.rows if r["user"] == "<root_account>"), None)
        users = [r for r in self.rows if r["user"] != "<root_account>"]

        def g(name, doc, labels=()):
            return GaugeMetricFamily("aws_iam_" + name, doc, labels=["account_id", *labels])

        if root is not None:
            keys = g("root_access_key_active", "1 if root access key N is active.", ["key"])
            for n in ("1", "2"):
                keys.add_metric([acct, n], root[f"access_key_{n}_active"] == "true")
            yield keys
            mfa = g("root_mfa_enabled", "1 if the root user has MFA.")
            mfa.add_metric([acct], root["mfa_active"] == "true")
            yield mfa
            used = g("root_last_used_timestamp_seconds", "When a root credential was last used.", ["credential"])
            for cred, col in (("password", "password_last_used"), ("access_key_1", "access_key_1_last_used_date"),
                              ("access_key_2", "access_key_2_last_used_date")):
                t = ts(root[col])
                if t is not None:
                    used.add_metric([acct, cred], t)
            yield used

        active = [(u, n) for u in users for n in ("1", "2") if u[f"access_key_{n}_active"] == "true"]
        console = [u for u in users if u["password_enabled"] == "true"]
        for name, doc, value in (
            ("users", "IAM users in the credential report.", len(users)),
            ("console_users", "IAM users with a console password.", len(console)),
            ("console_users_without_mfa", "Console users without MFA.",
             sum(1 for u in console if u["mfa_active"] != "true")),
            ("active_access_keys", "Active access keys of IAM users.", len(active)),
            ("active_access_keys_never_used", "Active access keys never used.",
             sum(1 for u, n in active if ts(u[f"access_key_{n}_last_used_date"]) is None)),
        ):
            m = g(name, doc)
            m.add_metric([acct], value)
            yield m

        per_user = {
            "user_active_access_keys": g("user_active_access_keys", "Active access keys of the user.", ["user"]),
            "user_password_enabled": g("user_password_enabled", "1 if the user has a console password.", ["user"]),
            "user_password_last_used": g("user_password_last_used_timestamp_seconds",
                                         "When the user's password was last used.", ["user"]),
            "user_mfa_active": g("user_mfa_active", "1 if the user has an MFA device.", ["user"]),
            "user_created": g("user_created_timestamp_seconds", "When the user was created.", ["user"]),
        }
        key_rotated = g("access_key_last_rotated_timestamp_seconds", "When the key was last rotated.", ["user", "key"])
        key_used = g("access_key_last_used_timestamp_seconds", "When the key was last used.", ["user", "key"])
        key_never = g("access_key_never_used", "1 if the active key has no recorded use.", ["user", "key"])
        for u in users:
            labels = [acct, u["user"]]
            keys = [n for n in ("1", "2") if u[f"access_key_{n}_active"] == "true"]
            per_user["user_active_access_keys"].add_metric(labels, len(keys))
            per_user["user_password_enabled"].add_metric(labels, u["password_enabled"] == "true")
            t = ts(u["password_last_used"])
            if t is not None:
                per_user["user_password_last_used"].add_metric(labels, t)
            per_user["user_mfa_active"].add_metric(labels, u["mfa_active"] == "true")
            t = ts(u["user_creation_time"])
            if t is not None:
                per_user["user_created"].add_metric(labels, t)
            for n in keys:
                key_labels = [acct, u["user"], n]
                t = ts(u[f"access_key_{n}_last_rotated"])
                if t is not None:
                    key_rotated.add_metric(key_labels, t)
                t = ts(u[f"access_key_{n}_last_used_date"])
                if t is not None:
                    key_used.add_metric(key_labels, t)
                key_never.add_metric(key_labels, t is None)
        yield from per_user.values()
        yield key_rotated
        yield key_used
        yield key_never


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReportCollector(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "123456789012"))
    sys.stdout.buffer.write(generate_latest(registry))


if __name__ == "__main__":
    main()
