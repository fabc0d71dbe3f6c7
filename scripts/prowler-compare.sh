#!/usr/bin/env bash
# Runs Prowler (PyPI `prowler`) and this exporter against the same moto IAM
# scenario and prints, per control, Prowler's verdicts next to ours.
# Results and explanations: docs/prowler-comparison.md. Not part of CI.
#
#   scripts/prowler-compare.sh            # both runs: no password policy, then CIS policy 14/24
#
# Environment:
#   EXPORTER      exporter binary        (default target/debug/aws-iam-exporter, else target/release)
#   PROWLER       prowler executable     (default target/prowler-venv/bin/prowler, created if missing)
#   PROWLER_VERSION  version pip installs into target/prowler-venv (default 5.46.0)
#   PYTHON        python with boto3 + moto[server] (default .venv/bin/python; scripts/setup-test-env.sh makes it)
#   STRACE=1      run Prowler and the exporter under `strace -e connect` and list every
#                 connect() to an address other than 127.0.0.1 (there should be none)
#   KEEP_WORK=1   keep the work directory (Prowler's json-ocsf/csv, our metrics) and print its path
#
# Everything talks to 127.0.0.1 only: moto binds 127.0.0.1, both tools get
# AWS_ENDPOINT_URL, instance metadata is disabled, and HTTP(S)_PROXY points at
# a closed loopback port (NO_PROXY=127.0.0.1) so any call to a real AWS (or
# other) host fails at once instead of leaving the machine.
#
# moto cannot back-date users or keys, so moto is started through a small
# wrapper that shifts moto's clock (moto.core.utils.utcnow) by the number of
# seconds in a file: the scenario creates "old" users with the clock 120 days
# back, then puts it back to now.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
log() { printf 'prowler-compare: %s\n' "$*" >&2; }

PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PYTHON ]] || { log "no $PYTHON (run scripts/setup-test-env.sh)"; exit 1; }
if [[ -z ${EXPORTER:-} ]]; then
  for EXPORTER in target/debug/aws-iam-exporter target/release/aws-iam-exporter; do
    [[ -x $EXPORTER ]] && break
  done
fi
[[ -x $EXPORTER ]] || { log "no exporter binary (cargo build)"; exit 1; }
EXPORTER=$(realpath "$EXPORTER")

PROWLER_VERSION=${PROWLER_VERSION:-5.46.0}
if [[ -z ${PROWLER:-} ]]; then
  PROWLER=$ROOT/target/prowler-venv/bin/prowler
  if [[ ! -x $PROWLER ]]; then
    log "installing prowler==$PROWLER_VERSION into target/prowler-venv (needs Python >= 3.10, takes a few minutes)"
    python3 -m venv "$ROOT/target/prowler-venv"
    "$ROOT/target/prowler-venv/bin/pip" install -q "prowler==$PROWLER_VERSION"
  fi
fi
PVER=$("$PROWLER" --version 2>/dev/null | tail -1 | awk '{print $NF}')

WORK=$(mktemp -d /tmp/prowler-compare.XXXXXX)
MOTO_PID=
cleanup() {
  [[ -n $MOTO_PID ]] && kill "$MOTO_PID" 2>/dev/null && wait "$MOTO_PID" 2>/dev/null
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
E=http://127.0.0.1:$PORT
echo 0 >"$WORK/clock-offset"

# --- moto with a shiftable clock ---------------------------------------------
cat >"$WORK/moto_shifted.py" <<'EOF'
# moto_server whose clock (moto.core.utils.utcnow, used for every IAM date) is
# shifted by the seconds in $MOTO_CLOCK_OFFSET_FILE, re-read at every call.
import sys
import moto.core.utils as u

def _shifted_utcnow():
    import datetime, os
    try:
        with open(os.environ["MOTO_CLOCK_OFFSET_FILE"]) as f:
            off = float(f.read().strip() or 0)
    except (OSError, ValueError, KeyError):
        off = 0.0
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return now + datetime.timedelta(seconds=off)

# Replace the code object so that every `from moto.core.utils import utcnow` sees it.
u.utcnow.__code__ = _shifted_utcnow.__code__
from moto.server import main
sys.argv[0] = "moto_server"
sys.exit(main())
EOF
MOTO_CLOCK_OFFSET_FILE=$WORK/clock-offset "$PYTHON" "$WORK/moto_shifted.py" -H 127.0.0.1 -p "$PORT" \
  >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
for _ in $(seq 100); do
  "$PYTHON" -c "import urllib.request; urllib.request.urlopen('$E/moto-api/')" 2>/dev/null && break
  sleep 0.1
done

# --- the scenario --------------------------------------------------------------
cat >"$WORK/scenario.py" <<'EOF'
import sys, boto3
E, OFFSET_FILE, POLICY = sys.argv[1], sys.argv[2], sys.argv[3]
def c(svc, ak="testing", sk="testing"):
    return boto3.client(svc, endpoint_url=E, region_name="us-east-1",
                        aws_access_key_id=ak, aws_secret_access_key=sk)
def clock(days):
    with open(OFFSET_FILE, "w") as f:
        f.write(str(days * 86400))
iam = c("iam")
def user(name, password=False, mfa=False, keys=(), inactive=()):
    """keys: for each key, None (never used) or True (used now)."""
    iam.create_user(UserName=name)
    if password:
        iam.create_login_profile(UserName=name, Password="Passw0rd!xyz-long")
    if mfa:
        d = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
        iam.enable_mfa_device(UserName=name, SerialNumber=d["SerialNumber"],
                              AuthenticationCode1="123456", AuthenticationCode2="654321")
    for i, use in enumerate(keys):
        k = iam.create_access_key(UserName=name)["AccessKey"]
        if use:
            c("sts", k["AccessKeyId"], k["SecretAccessKey"]).get_caller_identity()  # stamps last use
        if i in inactive:
            iam.update_access_key(UserName=name, AccessKeyId=k["AccessKeyId"], Status="Inactive")

clock(-120)   # --- users created 120 days ago
user("old-console-never-signed-in", password=True, mfa=True)
user("old-key-never-used", keys=[None])
user("old-key-used-120d-ago", keys=[True])
clock(-2)     # --- a console user created 2 days ago ...
user("console-key-added-later", password=True, mfa=True)
clock(0)      # ... who gets a (never used) key today, not at set-up
iam.create_access_key(UserName="console-key-added-later")      # --- users created now
user("console-mfa", password=True, mfa=True)
user("console-no-mfa", password=True)
user("console-initial-key", password=True, mfa=True, keys=[None])
user("two-active-keys", keys=[True, True])
user("key-never-used", keys=[None])
user("key-active-plus-inactive", keys=[True, None], inactive=(1,))
user("no-credentials")
if POLICY == "cis":
    iam.update_account_password_policy(MinimumPasswordLength=14, PasswordReusePrevention=24,
                                       MaxPasswordAge=90, RequireSymbols=True, RequireNumbers=True,
                                       RequireUppercaseCharacters=True, RequireLowercaseCharacters=True,
                                       AllowUsersToChangePassword=True)
iam.generate_credential_report(); iam.generate_credential_report()
EOF

# --- the comparison --------------------------------------------------------------
cat >"$WORK/compare.py" <<'EOF'
import glob, json, re, sys
prowler_dir, metrics_file, title = sys.argv[1], sys.argv[2], sys.argv[3]
# control -> (CIS v1.4-v4.0, Prowler checks)
MAP = [
    ("root_access_key", "1.4", ["iam_no_root_access_key"]),
    ("root_mfa", "1.5", ["iam_root_mfa_enabled"]),
    ("root_hardware_mfa", "1.6", ["iam_root_hardware_mfa_enabled"]),
    ("root_recent_use", "1.7", ["iam_avoid_root_usage"]),
    ("password_policy_length", "1.8", ["iam_password_policy_minimum_length_14"]),
    ("password_policy_reuse", "1.9", ["iam_password_policy_reuse_24"]),
    ("console_user_mfa", "1.10", ["iam_user_mfa_enabled_console_access"]),
    ("initial_access_key", "1.11", ["iam_user_no_setup_initial_access_key"]),
    ("unused_credentials_45d", "1.12", ["iam_user_accesskey_unused", "iam_user_console_access_unused"]),
    ("multiple_active_keys", "1.13", ["iam_user_two_active_access_key"]),
    ("access_key_rotation", "1.14", ["iam_rotate_access_key_90_days"]),
]
findings = {}
for path in glob.glob(f"{prowler_dir}/*.ocsf.json"):
    for f in json.load(open(path)):
        check = f["metadata"]["event_code"]
        res = f["resources"][0] if f.get("resources") else {}
        name = res.get("name") or res.get("uid") or "?"
        findings.setdefault(check, []).append((f["status_code"], name))
ours = {}
for line in open(metrics_file):
    m = re.match(r'(aws_iam_control_failing(?:_resources)?)\{([^}]*)\} (\S+)', line)
    if m:
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        ours.setdefault(labels["control"], {})[m.group(1)] = float(m.group(3))
def short(name):
    return re.sub(r"^arn:aws:iam::\d+:user/", "", name)
print(f"\n### {title}\n")
print("| control | CIS | Prowler check | Prowler FAIL (resources) | Prowler PASS | Prowler verdict | ours (failing resources) | agree |")
print("|---|---|---|---|---|---|---|---|")
for control, cis, checks in MAP:
    fails, passes = [], 0
    for ch in checks:
        for status, name in findings.get(ch, []):
            if status == "FAIL":
                fails.append(short(name) + (f" ({ch})" if len(checks) > 1 else ""))
            elif status == "PASS":
                passes += 1
    got = sum(len(findings.get(ch, [])) for ch in checks)
    pv = "no finding" if got == 0 else ("FAIL" if fails else "PASS")
    o = ours.get(control)
    if o is None or "aws_iam_control_failing" not in o:
        ov = "absent"
    else:
        ov = ("FAIL" if o["aws_iam_control_failing"] == 1 else "PASS") + \
             f" ({int(o.get('aws_iam_control_failing_resources', 0))})"
    pres = {re.sub(r"(/AccessKey\d|-access-key-\d)$", "", f.split(" (")[0]) for f in fails}
    if control.startswith("root_") and got == 0:
        agree = "n/a (moto: no root row)"
    elif pv != ov.split()[0]:
        agree = "**no**"
    elif o and len(pres) != int(o.get("aws_iam_control_failing_resources", 0)):
        agree = f"verdict yes, resources **no** ({len(pres)} vs {int(o.get('aws_iam_control_failing_resources', 0))})"
    else:
        agree = "yes"
    print(f"| `{control}` | {cis} | {', '.join('`'+c+'`' for c in checks)} | {', '.join(sorted(fails)) or '-'} | {passes} | {pv} | {ov} | {agree} |")
EOF

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=$E AWS_EC2_METADATA_DISABLED=true
export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

CHECKS=(iam_no_root_access_key iam_root_mfa_enabled iam_root_hardware_mfa_enabled iam_avoid_root_usage
  iam_password_policy_minimum_length_14 iam_password_policy_reuse_24 iam_user_mfa_enabled_console_access
  iam_user_no_setup_initial_access_key iam_user_accesskey_unused iam_user_console_access_unused
  iam_user_two_active_access_key iam_rotate_access_key_90_days)

echo "Prowler $PVER vs aws-iam-exporter $("$EXPORTER" --version | awk '{print $2}') on moto ($("$PYTHON" -c 'import moto; print(moto.__version__)')), $(date -u +%F)"
for run in none cis; do
  "$PYTHON" -c "import urllib.request; urllib.request.urlopen(urllib.request.Request('$E/moto-api/reset', method='POST'))"
  "$PYTHON" "$WORK/scenario.py" "$E" "$WORK/clock-offset" "$run"
  mkdir -p "$WORK/$run"
  rc=0
  TRACE=()
  [[ ${STRACE:-0} == 1 ]] && TRACE=(strace -f -qq -e trace=connect -o "$WORK/$run/connect.trace")
  "${TRACE[@]}" "$PROWLER" aws --region us-east-1 --checks "${CHECKS[@]}" -M json-ocsf csv \
    --output-directory "$WORK/$run" --output-filename prowler --no-banner --no-color \
    --log-level ERROR --log-file "$WORK/$run/prowler.log" >"$WORK/$run/prowler.out" 2>&1 || rc=$?
  # 3 = some check failed (expected); anything else is an error.
  if [[ $rc != 0 && $rc != 3 ]]; then
    log "prowler exited $rc; its output:"; cat "$WORK/$run/prowler.out" >&2; exit 1
  fi
  # Prowler's IAM service also calls APIs moto does not implement (none of them feeds these
  # 12 checks); list them instead of Prowler's 500-error log lines.
  if [[ -s $WORK/$run/prowler.log ]]; then
    log "prowler: $(grep -c . "$WORK/$run/prowler.log") error lines; moto 'not implemented': $(grep -o 'The [a-z_]* action has not been implemented' "$WORK/moto.log" | awk '{print $2}' | sort -u | paste -sd' ')"
  fi
  if grep -qiE 'ProxyError|Could not connect|amazonaws\.com' "$WORK/$run/prowler.out"; then
    log "prowler tried a non-loopback host:"; grep -iE 'ProxyError|Could not connect|amazonaws\.com' "$WORK/$run/prowler.out" >&2
  fi
  [[ ${STRACE:-0} == 1 ]] && TRACE=(strace -f -qq -e trace=connect -o "$WORK/$run/connect-exporter.trace")
  "${TRACE[@]}" "$EXPORTER" --once --log.level warn >"$WORK/$run/exporter.prom" 2>"$WORK/$run/exporter.err"
  if [[ ${STRACE:-0} == 1 ]]; then
    n=$(cat "$WORK/$run"/connect*.trace | grep -E 'AF_INET6?' | grep -vcE '127\.0\.0\.1|::1"|::ffff:127\.0\.0\.1' || true)
    log "strace ($run): $(cat "$WORK/$run"/connect*.trace | grep -cE 'AF_INET6?') inet connect() calls, $n to a non-loopback address"
    cat "$WORK/$run"/connect*.trace | grep -E 'AF_INET6?' | grep -vE '127\.0\.0\.1|::1"|::ffff:127\.0\.0\.1' >&2 || true
  fi
  case $run in
    none) title="Run 1: no password policy" ;;
    cis) title="Run 2: CIS password policy (length 14, reuse 24)" ;;
  esac
  "$PYTHON" "$WORK/compare.py" "$WORK/$run" "$WORK/$run/exporter.prom" "$title"
done

# --- part 3: root rows (moto has none) -------------------------------------------
# Prowler's own root check classes run in-process on hand-written <root_account>
# rows (its iam_client replaced by a stub holding the rows), and the exporter reads
# the same rows with --credential-report.file (offline: no summary, no MFA-device list).
cat >"$WORK/root_rows.py" <<'EOF'
import csv, datetime, importlib, re, sys, types
now = datetime.datetime.now(datetime.timezone.utc)
iso = lambda d: (now - datetime.timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
H = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
     "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
     "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
     "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
     "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
     "cert_1_last_rotated,cert_2_active,cert_2_last_rotated").split(",")
def root(**kw):
    # As AWS writes it: password_enabled is always not_supported for root.
    r = {h: "N/A" for h in H}
    r.update(user="<root_account>", arn="arn:aws:iam::123456789012:root", user_creation_time=iso(900),
             password_enabled="not_supported", password_last_changed="not_supported",
             password_next_rotation="not_supported", mfa_active="false", access_key_1_active="false",
             access_key_2_active="false", cert_1_active="false", cert_2_active="false")
    r.update(kw)
    return r
CASES = {
    "A": ("root signs in with its password (today), no MFA, no keys",
          root(password_last_used=iso(0))),
    "B": ("root has MFA, password last used 400 days ago, access key 2 active and used today",
          root(password_last_used=iso(400), mfa_active="true", access_key_2_active="true",
               access_key_2_last_rotated=iso(500), access_key_2_last_used_date=iso(0))),
}
CHECKS = ["iam_no_root_access_key", "iam_root_mfa_enabled", "iam_root_hardware_mfa_enabled", "iam_avoid_root_usage"]
OURS = dict(zip(CHECKS, ["root_access_key", "root_mfa", "root_hardware_mfa", "root_recent_use"]))
if sys.argv[1] == "csv":
    w = csv.DictWriter(sys.stdout, H, lineterminator="\n"); w.writeheader(); w.writerow(CASES[sys.argv[2]][1])
elif sys.argv[1] == "prowler":   # run with Prowler's python; prints case<TAB>check<TAB>verdict
    stub = types.SimpleNamespace(credential_report=[], region="us-east-1", audited_partition="aws",
        account_summary={"SummaryMap": {}}, virtual_mfa_devices=[], users=[], organization_features=None,
        mfa_arn_template="arn:aws:iam:us-east-1:123456789012:mfa", audit_config={})
    mod = types.ModuleType("prowler.providers.aws.services.iam.iam_client"); mod.iam_client = stub
    sys.modules[mod.__name__] = mod
    for case, (_, row) in CASES.items():
        stub.credential_report = [row]
        stub.account_summary["SummaryMap"]["AccountMFAEnabled"] = int(row["mfa_active"] == "true")
        for c in CHECKS:
            fs = getattr(importlib.import_module(f"prowler.providers.aws.services.iam.{c}.{c}"), c)().execute()
            print(f"{case}\t{c}\t" + ("; ".join(f"{f.status}: {f.status_extended}" for f in fs) or "no finding"))
else:   # table PROWLER_TSV METRICS_A METRICS_B
    pv = {}
    for line in open(sys.argv[2]):
        case, c, v = line.rstrip("\n").split("\t"); pv[(case, c)] = v
    ours = {}
    for case, path in (("A", sys.argv[3]), ("B", sys.argv[4])):
        for line in open(path):
            m = re.match(r'aws_iam_control_failing\{[^}]*control="(\w+)"[^}]*\} (\S+)', line)
            if m:
                ours[(case, m.group(1))] = "FAIL" if float(m.group(2)) == 1 else "PASS"
    print("\n### Root rows (Prowler's check code in-process; exporter with --credential-report.file)\n")
    for case, (title, _) in CASES.items():
        print(f"- **{case}**: {title}")
    print("\n| case | Prowler check | Prowler | control | ours |\n|---|---|---|---|---|")
    for case in CASES:
        for c in CHECKS:
            print(f"| {case} | `{c}` | {pv.get((case, c), '?')} | `{OURS[c]}` | {ours.get((case, OURS[c]), 'absent')} |")
EOF
"$(dirname "$PROWLER")/python" "$WORK/root_rows.py" prowler >"$WORK/root-prowler.tsv"
for case in A B; do
  "$PYTHON" "$WORK/root_rows.py" csv $case >"$WORK/root-$case.csv"
  "$EXPORTER" --once --log.level warn --credential-report.file "$WORK/root-$case.csv" >"$WORK/root-$case.prom"
done
"$PYTHON" "$WORK/root_rows.py" table "$WORK/root-prowler.tsv" "$WORK/root-A.prom" "$WORK/root-B.prom"
