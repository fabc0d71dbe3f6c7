#!/usr/bin/env python3
"""Generate a realistic, synthetic IAM credential report (for benchmarks and load tests).

    python3 scripts/gen-report.py --users N [--seed S] [--now TIME] [--account ID] [--json] > report.csv

Output: the CSV AWS returns from GetCredentialReport (the 22 documented columns, header exactly
as AWS writes it, one `<root_account>` row, then N IAM users), or with --json the document
`aws iam get-credential-report` prints (base64 `Content`, `ReportFormat`, `GeneratedTime`).

The users are a realistic mix: service users (access keys only) and console users (with and
without MFA, some never signed in), 0, 1 or 2 active access keys, keys used and never used,
inactive keys left behind by a rotation, keys created together with their user (CIS 1.11),
user paths, and names using every character IAM allows (`+=,.@_-`), so some need CSV quoting.
Dates lie within the 3 years before --now, RFC 3339 with `+00:00` as AWS writes them.

Deterministic: the same --seed, --users and --now give the same bytes. --now defaults to today
00:00 UTC (so a run is reproducible within a day); pass it for byte-for-byte reproducibility.
Standard library only.
"""

import argparse
import base64
import csv
import datetime as dt
import io
import json
import random
import sys

HEADER = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
]
assert len(HEADER) == 22

DAY = 86400
YEAR = 365 * DAY
NA = "N/A"

FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
         "yvonne", "zoe", "li", "mohammed", "sofia", "kenji", "amara", "lukas", "priya"]
LAST = ["smith", "jones", "garcia", "muller", "rossi", "tanaka", "nguyen", "kowalski", "silva",
        "dubois", "okafor", "hansen", "novak", "ivanova", "fischer", "larsen", "cohen", "patel"]
TEAMS = ["payments", "search", "platform", "data", "ml", "billing", "auth", "infra", "web",
         "mobile", "analytics", "security", "ops", "reporting"]
SERVICES_NAMES = ["ci", "deploy", "backup", "etl", "terraform", "exporter", "uploader", "sync",
                  "cron", "legacy-app", "batch", "jenkins", "gitlab-runner", "s3-reader"]
PATHS = ["/", "/", "/", "/", "/engineering/", "/contractors/", "/service/", "/org/team-a/"]
REGIONS = ["us-east-1", "us-east-1", "us-east-1", "us-west-2", "eu-west-1", "eu-central-1",
           "ap-southeast-2", "ap-northeast-1"]
KEY_SERVICES = ["s3", "sts", "iam", "ec2", "dynamodb", "lambda", "sqs", "logs", "ecr",
                "secretsmanager", "cloudformation", "kms"]


def iso(t):
    """RFC 3339 as AWS writes it in the report: seconds precision, `+00:00`."""
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_now(s):
    if s is None:
        today = dt.datetime.now(dt.timezone.utc).date()
        return int(dt.datetime(today.year, today.month, today.day, tzinfo=dt.timezone.utc).timestamp())
    if s.lstrip("-").isdigit():
        return int(s)
    t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return int(t.timestamp())


class Gen:
    def __init__(self, seed, now, account):
        self.r = random.Random(seed)
        self.now = now
        self.account = account

    def between(self, lo, hi):
        """A time in [lo, hi] (seconds)."""
        if hi <= lo:
            return lo
        return self.r.randint(lo, hi)

    def name(self, i):
        """A unique IAM user name; ~1.5% contain a comma (valid in IAM, quoted in CSV)."""
        r = self.r
        kind = r.random()
        if kind < 0.35:
            base = f"{r.choice(FIRST)}.{r.choice(LAST)}"
        elif kind < 0.55:
            base = f"{r.choice(FIRST)}.{r.choice(LAST)}@example.com"
        elif kind < 0.85:
            base = f"svc-{r.choice(TEAMS)}-{r.choice(SERVICES_NAMES)}"
        elif kind < 0.93:
            base = f"{r.choice(TEAMS)}_{r.choice(SERVICES_NAMES)}+{r.choice(['prod', 'staging', 'dev'])}"
        else:
            base = f"{r.choice(TEAMS)}={r.choice(FIRST)}"
        if r.random() < 0.015:
            base = f"{r.choice(LAST)},{r.choice(FIRST)}"
        # The index keeps names unique (IAM names are unique per account, case-insensitively).
        return f"{base}-{i}"[:64]

    def key(self, created, active, fresh_with_user=False):
        """Columns of one access key slot: active, last_rotated, last_used_date, region, service."""
        r = self.r
        if not active:
            if r.random() < 0.12:
                # An inactive key left behind by a rotation (slot keeps its dates).
                rotated = self.between(created, self.now - 30 * DAY)
                if r.random() < 0.6:
                    used = self.between(rotated, self.now - 30 * DAY)
                    return ["false", iso(rotated), iso(used), r.choice(REGIONS), r.choice(KEY_SERVICES)]
                return ["false", iso(rotated), NA, NA, NA]
            return ["false", NA, NA, NA, NA]
        if fresh_with_user:
            rotated = created + r.randint(0, 5)
        elif r.random() < 0.5:
            rotated = self.between(created, self.now)  # rotated since creation
        else:
            rotated = created + r.randint(0, 3600)
        rotated = min(rotated, self.now)
        never_used = fresh_with_user or r.random() < 0.15
        if never_used:
            return ["true", iso(rotated), NA, NA, NA]
        # Most used keys were used recently; some went stale.
        if r.random() < 0.7:
            used = self.between(max(rotated, self.now - 14 * DAY), self.now)
        else:
            used = self.between(rotated, self.now)
        return ["true", iso(rotated), iso(used), r.choice(REGIONS), r.choice(KEY_SERVICES)]

    def user(self, i):
        r = self.r
        name = self.name(i)
        path = r.choice(PATHS)
        arn = f"arn:aws:iam::{self.account}:user{path}{name}"
        created = self.between(self.now - 3 * YEAR, self.now - DAY)
        console = r.random() < 0.4
        if console:
            mfa = r.random() < 0.75
            changed = created + r.randint(0, 60) if r.random() < 0.6 else self.between(created, self.now)
            if r.random() < 0.1:
                last_used = "no_information"  # password set, never used
            elif r.random() < 0.75:
                last_used = iso(self.between(max(changed, self.now - 30 * DAY), self.now))
            else:
                last_used = iso(self.between(changed, self.now))
            next_rotation = iso(changed + 90 * DAY) if r.random() < 0.3 else NA
            pw = ["true", last_used, iso(changed), next_rotation]
            n_keys = r.choices([0, 1, 2], weights=[60, 30, 10])[0]
        else:
            mfa = r.random() < 0.02
            pw = ["false", NA, NA, NA]  # no password: N/A throughout, as documented
            n_keys = r.choices([0, 1, 2], weights=[10, 75, 15])[0]
        fresh = console and n_keys > 0 and r.random() < 0.05
        # When only one key is active it is usually slot 1, sometimes slot 2 (after a rotation).
        actives = [n_keys >= 1, n_keys == 2]
        if n_keys == 1 and r.random() < 0.2:
            actives = [False, True]
        k1 = self.key(created, actives[0], fresh and actives[0])
        k2 = self.key(created, actives[1])
        cert1 = ["true", iso(self.between(created, self.now))] if r.random() < 0.01 else ["false", NA]
        cert2 = ["false", NA]
        return [name, arn, iso(created), *pw, "true" if mfa else "false", *k1, *k2, *cert1, *cert2]

    def root(self):
        r = self.r
        created = self.now - 3 * YEAR - r.randint(DAY, 2 * YEAR)
        key1 = ["false", NA, NA, NA, NA]
        if r.random() < 0.3:
            rotated = self.between(created, self.now - 200 * DAY)
            key1 = ["false", iso(rotated), NA, NA, NA]
        return [
            "<root_account>",
            f"arn:aws:iam::{self.account}:root",
            iso(created),
            "not_supported",
            iso(self.between(self.now - 60 * DAY, self.now)),
            "not_supported",
            "not_supported",
            "true",
            *key1,
            "false", NA, NA, NA, NA,
            "false", NA, "false", NA,
        ]

    def csv(self, users):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(HEADER)
        w.writerow(self.root())
        for i in range(users):
            w.writerow(self.user(i))
        return buf.getvalue()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, required=True, help="IAM users (root excluded)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--now", help="reference time, RFC 3339 or epoch seconds (default: today 00:00 UTC)")
    p.add_argument("--account", default="123456789012", help="12-digit account id in the ARNs")
    p.add_argument("--json", action="store_true", help="wrap like `aws iam get-credential-report`")
    a = p.parse_args(argv)
    if a.users < 0:
        p.error("--users must be >= 0")
    if not (len(a.account) == 12 and a.account.isdigit()):
        p.error("--account must be 12 digits")
    try:
        now = parse_now(a.now)
    except ValueError as e:
        p.error(f"--now: {e}")
    body = Gen(a.seed, now, a.account).csv(a.users)
    out = sys.stdout
    if a.json:
        doc = {
            "Content": base64.b64encode(body.encode()).decode(),
            "ReportFormat": "text/csv",
            "GeneratedTime": iso(now),
        }
        out.write(json.dumps(doc, indent=4) + "\n")
    else:
        out.write(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
