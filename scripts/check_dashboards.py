#!/usr/bin/env python3
"""Check Grafana dashboards and Prometheus rule files against a real exporter exposition.

Usage:
  check_dashboards.py --metrics-file EXPOSITION.txt [--metrics-file MORE.txt ...]
                      [--prometheus-url http://127.0.0.1:9090] dashboards/*.json alerts/*.yml
  check_dashboards.py --self-test [--prometheus-url URL]

What it checks
  * every dashboard parses as JSON and is importable as shipped: schemaVersion >= 39, no
    __inputs, a stable uid, a `datasource` variable (type datasource, query prometheus), every
    panel, target and query variable uses {"type": "prometheus", "uid": "${datasource}"}, no
    hard-coded datasource uids, a multi-select `account_id` variable with "All", unique panel ids;
  * every PromQL expression (panel targets, panels nested in rows, template variable queries,
    annotation queries, rule `expr:` fields) after substituting Grafana variables ($var, ${var},
    ${var:format}, [[var]], $__rate_interval, $__interval, $__range, ...): every `aws_iam_*`
    metric name must appear in the exposition (# HELP / # TYPE lines or samples; for counters
    both `x` and `x_total` are accepted) and every recording-rule name (`level:metric:op`) must
    be defined by a `record:` in the given rule files; variables must be defined;
  * with --prometheus-url, every expression is sent to /api/v1/query; any error status fails
    (an empty result is fine).

Exit status: 0 all good, 1 problems found (all listed), 2 usage error.
Generate the exposition with e.g.  aws-iam-exporter --once ... > /tmp/exposition.txt
(use a scenario with per-user metrics on and data for every metric family). Python 3 stdlib only.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

DS_UID = "${datasource}"
EXPECTED_DS = {"type": "prometheus", "uid": DS_UID}
METRIC_PREFIX = "aws_iam_"

# Values substituted for Grafana's built-in variables.
BUILTINS = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__auto": "1m",
    "__from": "1700000000000",
    "__to": "1700003600000",
    "__dashboard": "dashboard",
    "__name": "name",
    "__org": "1",
    "__user": "user",
    "__timezone": "utc",
}
VAR_RE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")


# ------------------------------------------------------------------------------ exposition
def parse_exposition(paths):
    """Return (metric names, {label: [values]}) from one or more text expositions."""
    names, label_values = set(), {}
    sample_re = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s")
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.startswith("#"):
                    parts = line.split(None, 3)
                    if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                        name = parts[2]
                        names.add(name)
                        mtype = parts[3].strip() if parts[1] == "TYPE" and len(parts) > 3 else ""
                        if mtype == "counter":
                            if name.endswith("_total"):
                                names.add(name[: -len("_total")])
                            else:
                                names.add(name + "_total")
                            names.add(name + "_created")
                        elif mtype in ("histogram", "gaugehistogram"):
                            names.update(name + s for s in ("_bucket", "_sum", "_count", "_created", "_gsum", "_gcount"))
                        elif mtype == "summary":
                            names.update(name + s for s in ("_sum", "_count", "_created"))
                    continue
                m = sample_re.match(line + " ")
                if not m:
                    continue
                names.add(m.group(1))
                for k, v in label_re.findall(m.group(2) or ""):
                    vals = label_values.setdefault(k, [])
                    if v not in vals:
                        vals.append(v)
    return names, label_values


# ------------------------------------------------------------------------------ rule files
RULE_KEY_RE = re.compile(r"^(\s*)(?:-\s+)?(expr|record|alert):(?:\s+(.*?))?\s*$")


def _yaml_scalar(first, cont):
    """Decode the scalar value of a key from its first line and continuation lines."""
    first = first or ""
    if first[:1] in ("|", ">") and re.fullmatch(r"[|>][+-]?\d*[+-]?(\s+#.*)?", first):
        sep = "\n" if first[0] == "|" else " "
        return sep.join(l.strip() for l in cont).strip()
    text = " ".join([first] + [l.strip() for l in cont if l.strip()]).strip()
    if text.startswith('"'):
        end = text.rfind('"')
        try:
            return json.loads(text[: end + 1])
        except ValueError:
            return text[1:end]
    if text.startswith("'"):
        end = text.rfind("'")
        return text[1:end].replace("''", "'")
    return re.split(r"\s+#", text, maxsplit=1)[0].strip()


def parse_rules(path):
    """Line-based reader for Prometheus rule files (block style YAML).

    Returns (recording rule names, [(location, expr)])."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    records, exprs = set(), []
    current = None
    i = 0
    while i < len(lines):
        m = RULE_KEY_RE.match(lines[i])
        if not m:
            i += 1
            continue
        key_col = m.start(2)
        j = i + 1
        cont = []
        while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > key_col):
            cont.append(lines[j])
            j += 1
        while cont and not cont[-1].strip():
            cont.pop()
        value = _yaml_scalar(m.group(3), cont)
        key = m.group(2)
        if key == "record":
            records.add(value)
            current = f"record {value}"
        elif key == "alert":
            current = f"alert {value}"
        else:
            exprs.append((f"{path}:{i + 1} ({current or 'expr'})", value))
        i = j
    return records, exprs


# ------------------------------------------------------------------------------ PromQL
def string_end(expr, i):
    """Index just past the PromQL string literal ("...", '...' or `...`) starting at expr[i]."""
    c, j, n = expr[i], i + 1, len(expr)
    while j < n and expr[j] != c:
        j += 2 if expr[j] == "\\" and c != "`" else 1
    return j + 1


def strip_strings_and_comments(expr):
    out, i, n = [], 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            out.append('""')
            i = string_end(expr, i)
        elif c == "#":
            while i < n and expr[i] != "\n":
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


GROUPING_RE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
IDENT_RE = re.compile(r"(?<![\w:.])([a-zA-Z_][\w:]*)(?!\s*(?:=~|!~|!=|=(?!=)))")


def metric_names(expr):
    """Identifiers in metric-name position that look like ours (aws_iam_* or recording rules)."""
    s = strip_strings_and_comments(expr)
    s = GROUPING_RE.sub(lambda m: m.group(1) + "()", s)
    found = set()
    for m in IDENT_RE.finditer(s):
        tok = m.group(1)
        if ":" in tok or tok.startswith(METRIC_PREFIX):
            found.add(tok)
    return found


def split_first_arg(s):
    depth = 0
    for i, c in enumerate(s):
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == "," and depth == 0:
            return s[:i], s[i + 1:]
    return s, ""


def variable_query(q):
    """Translate a Grafana Prometheus variable query into (promql or None, description)."""
    q = q.strip()
    m = re.fullmatch(r"label_values\((.*)\)", q, re.S)
    if m:
        first, rest = split_first_arg(m.group(1))
        if not rest.strip():  # label_values(label): no metric
            return None
        return first.strip()
    m = re.fullmatch(r"query_result\((.*)\)", q, re.S)
    if m:
        return m.group(1).strip()
    if re.fullmatch(r"(label_names|metrics)\(.*\)", q, re.S):
        return None
    return q  # a plain PromQL query


# ------------------------------------------------------------------------------ dashboards
def _var_values(dash, label_values, resolver=None):
    values = {}
    for v in (dash.get("templating") or {}).get("list") or []:
        name, vtype = v.get("name"), v.get("type")
        if not name:
            continue
        val = None
        cur = (v.get("current") or {}).get("value")
        if isinstance(cur, list):
            cur = cur[0] if cur else None
        if vtype == "query":
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else (q or "")
            m = re.search(r",\s*([a-zA-Z_]\w*)\s*\)\s*$", q)
            label = m.group(1) if m else name
            cands = list(label_values.get(label, []))
            if not cands and resolver and m:
                # e.g. `job`, a target label that is not in the exposition: ask Prometheus.
                promql = variable_query(substitute(q, values)[0])
                if promql:
                    cands = resolver(promql, label)
            for cand in cands:
                if '"' not in cand and "\\" not in cand and "$" not in cand:
                    val = cand
                    break
        elif vtype in ("custom", "interval"):
            opts = [o.strip() for o in str(v.get("query") or "").split(",") if o.strip()]
            opts = [o.split(" : ")[-1] for o in opts if o != "auto"]
            val = opts[0] if opts else None
        elif vtype in ("constant", "textbox"):
            val = str(v.get("query") or "")
        elif vtype == "datasource":
            val = "prometheus"
        if val is None:
            val = cur if isinstance(cur, str) and cur and not cur.startswith("$") else None
        if val is None:
            val = {"interval": "1m"}.get(vtype, "placeholder")
        values[name] = val
    return values


def substitute(expr, values):
    undefined = []

    def rep(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTINS:
            return BUILTINS[name]
        if name in values:
            return values[name]
        undefined.append(name)
        return "placeholder"

    return VAR_RE.sub(rep, expr), undefined


def _walk_panels(panels, trail=()):
    for p in panels or []:
        yield p, trail
        yield from _walk_panels(p.get("panels"), trail + (p.get("title") or "",))


def _panel_label(p, trail):
    where = " > ".join(t for t in trail if t)
    title = p.get("title") or "(untitled)"
    return f'panel "{where + " > " if where else ""}{title}" (id {p.get("id")}, {p.get("type")})'


def _bad_datasources(obj, path="$"):
    """Yield (json path, value) for every datasource reference that is not ${datasource}."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{path}.{k}"
            if k == "datasource":
                if isinstance(v, dict):
                    uid = v.get("uid")
                    if uid in ("-- Grafana --", "grafana") and v.get("type") in ("grafana", "datasource"):
                        continue
                    if uid not in (DS_UID, "$datasource"):
                        yield p, v
                elif isinstance(v, str) and v not in (DS_UID, "$datasource"):
                    yield p, v
            else:
                yield from _bad_datasources(v, p)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _bad_datasources(v, f"{path}[{i}]")


def lint_dashboard(file, dash, seen_uids):
    problems = []
    P = lambda msg: problems.append(f"{file}: {msg}")
    if "__inputs" in dash:
        P("has __inputs (export it without 'Export for sharing externally'; use the datasource variable)")
    sv = dash.get("schemaVersion")
    if not isinstance(sv, int) or sv < 39:
        P(f"schemaVersion is {sv!r}, need >= 39")
    uid = dash.get("uid")
    if not isinstance(uid, str) or not uid or len(uid) > 40:
        P(f"uid {uid!r} must be a non-empty string of at most 40 characters")
    elif uid in seen_uids:
        P(f"uid {uid!r} is also used by {seen_uids[uid]}")
    else:
        seen_uids[uid] = file
    if not dash.get("title"):
        P("has no title")
    tvars = {v.get("name"): v for v in (dash.get("templating") or {}).get("list") or []}
    ds = tvars.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        P('needs a template variable "datasource" of type "datasource" with query "prometheus"')
    acc = tvars.get("account_id")
    if not acc:
        P('needs a template variable "account_id"')
    else:
        q = acc.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        if acc.get("type") != "query" or not acc.get("multi") or not acc.get("includeAll"):
            P('variable "account_id" must be a multi-select query variable with includeAll')
        # Label matchers are allowed: the mixin adds its exporterSelector to every aws_iam_* series.
        # Every watched account has aws_iam_exporter_refresh_success; a member read by a root
        # audit (no credential report) has no aws_iam_users.
        if not re.fullmatch(r"label_values\(\s*aws_iam_exporter_refresh_success\s*(\{[^{}]*\})?\s*,\s*account_id\s*\)", q.strip()):
            P(f'variable "account_id" query is {q!r}, expected label_values(aws_iam_exporter_refresh_success, account_id)')
    for name, v in tvars.items():
        if v.get("type") == "query" and v.get("datasource") != EXPECTED_DS:
            P(f'variable "{name}" datasource is {v.get("datasource")!r}, expected {EXPECTED_DS}')
    ids = {}
    for p, trail in _walk_panels(dash.get("panels")):
        label = _panel_label(p, trail)
        pid = p.get("id")
        if pid in ids:
            P(f"{label}: duplicate panel id {pid} (also {ids[pid]})")
        ids[pid] = label
        if p.get("type") == "row":
            continue
        if p.get("datasource") != EXPECTED_DS:
            P(f"{label}: datasource is {p.get('datasource')!r}, expected {EXPECTED_DS}")
        targets = p.get("targets") or []
        if not targets and p.get("type") not in ("text", "news", "dashlist", "alertlist", "annolist"):
            P(f"{label}: has no targets")
        for t in targets:
            if t.get("datasource") != EXPECTED_DS:
                P(f"{label} target {t.get('refId')}: datasource is {t.get('datasource')!r}, expected {EXPECTED_DS}")
            if not (t.get("expr") or "").strip():
                P(f"{label} target {t.get('refId')}: empty expr")
    for path, v in _bad_datasources(dash):
        P(f"hard-coded datasource at {path}: {json.dumps(v)} (use {json.dumps(EXPECTED_DS)})")
    return problems


def dashboard_exprs(file, dash, label_values, resolver=None):
    """Yield (location, promql, undefined variables)."""
    values = _var_values(dash, label_values, resolver)
    for v in (dash.get("templating") or {}).get("list") or []:
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        if not q.strip():
            q = v.get("definition") or ""
        sub, undef = substitute(q, values)
        promql = variable_query(sub)
        if promql is not None:
            yield f'{file}: variable "{v.get("name")}" query {q.strip()!r}', promql, undef
    for a in (dash.get("annotations") or {}).get("list") or []:
        expr = a.get("expr") or (a.get("target") or {}).get("expr")
        if expr:
            sub, undef = substitute(expr, values)
            yield f'{file}: annotation "{a.get("name")}"', sub, undef
    for p, trail in _walk_panels(dash.get("panels")):
        for t in p.get("targets") or []:
            expr = t.get("expr")
            if not expr:
                continue
            sub, undef = substitute(expr, values)
            yield f"{file}: {_panel_label(p, trail)} target {t.get('refId')}", sub, undef


# ------------------------------------------------------------------------------ Prometheus
def prom_query(base, expr, timeout=10):
    """Return None when Prometheus accepts the query, else an error string."""
    url = base.rstrip("/") + "/api/v1/query"
    data = urllib.parse.urlencode({"query": expr, "time": f"{time.time():.3f}"}).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            j = json.loads(body)
            return f"{j.get('errorType', 'error')}: {j.get('error', '')}"
        except ValueError:
            return f"HTTP {e.code}: {body[:200]!r}"
    except (urllib.error.URLError, OSError) as e:
        raise ConnectionError(f"cannot reach Prometheus at {url}: {e}")
    try:
        j = json.loads(body)
    except ValueError:
        return f"invalid JSON from Prometheus: {body[:200]!r}"
    if j.get("status") != "success":
        return f"{j.get('errorType', 'error')}: {j.get('error', '')}"
    return None


def prom_label_values(base, promql, label):
    """Values of `label` in the result of an instant query (for variable substitution)."""
    url = base.rstrip("/") + "/api/v1/query"
    data = urllib.parse.urlencode({"query": promql}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            j = json.loads(r.read())
        return sorted({s["metric"][label] for s in j["data"]["result"] if label in s["metric"]})
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError):
        return []


# ------------------------------------------------------------------------------ main check
def check(files, metrics_files, prometheus_url=None, log=print):
    problems = []
    names, label_values = parse_exposition(metrics_files)
    ours = sorted(n for n in names if n.startswith(METRIC_PREFIX))
    if not ours:
        problems.append(f"{', '.join(metrics_files)}: no {METRIC_PREFIX}* metric names found "
                        "(is this the exporter's /metrics output?)")
    dashboards, rule_files = [], []
    for f in files:
        (dashboards if f.endswith(".json") else rule_files).append(f)
    records, exprs = set(), []
    for f in rule_files:
        try:
            r, e = parse_rules(f)
        except OSError as err:
            problems.append(f"{f}: {err}")
            continue
        if not r and not e:
            problems.append(f"{f}: no rules found")
        records |= r
        exprs += [(loc, ex, []) for loc, ex in e]
    resolver = (lambda promql, label: prom_label_values(prometheus_url, promql, label)) if prometheus_url else None
    seen_uids = {}
    for f in dashboards:
        try:
            with open(f, encoding="utf-8") as fh:
                dash = json.load(fh)
        except (OSError, ValueError) as err:
            problems.append(f"{f}: cannot parse dashboard JSON: {err}")
            continue
        if not isinstance(dash, dict) or "panels" not in dash:
            problems.append(f"{f}: not a Grafana dashboard (no 'panels')")
            continue
        problems += lint_dashboard(f, dash, seen_uids)
        exprs += list(dashboard_exprs(f, dash, label_values, resolver))

    checked = set()
    for loc, expr, undef in exprs:
        for u in sorted(set(undef)):
            problems.append(f"{loc}: undefined variable ${u}")
        for name in sorted(metric_names(expr)):
            checked.add(name)
            if ":" in name:
                if name not in records:
                    problems.append(f"{loc}: recording rule {name} is not defined in "
                                    f"{', '.join(rule_files) or 'any rule file (none given)'}")
            elif name not in names:
                problems.append(f"{loc}: unknown metric {name} (not in {', '.join(metrics_files)})")

    queried = 0
    if prometheus_url:
        for loc, expr, _ in exprs:
            try:
                err = prom_query(prometheus_url, expr)
            except ConnectionError as e:
                problems.append(str(e))
                break
            queried += 1
            if err:
                problems.append(f"{loc}: Prometheus rejected the query: {err}\n      query: {expr}")
    summary = (f"{len(dashboards)} dashboard(s), {len(rule_files)} rule file(s), {len(exprs)} expression(s), "
               f"{len(checked)} metric name(s) checked against {len(ours)} exported {METRIC_PREFIX}* name(s)")
    if prometheus_url:
        summary += f", {queried} quer(y/ies) sent to {prometheus_url}"
    return problems, summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--metrics-file", action="append", default=[],
                    help="exporter exposition (text format); repeat to merge several scenarios")
    ap.add_argument("--prometheus-url", help="also run every expression against this Prometheus")
    ap.add_argument("--self-test", action="store_true", help="prove the checker catches bad input")
    ap.add_argument("files", nargs="*", help="dashboards (*.json) and rule files (*.yml/*.yaml)")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test(args.prometheus_url)
    if not args.metrics_file or not args.files:
        ap.error("need --metrics-file and at least one dashboard or rule file")
    for f in args.metrics_file:
        if not os.path.isfile(f):
            ap.error(f"metrics file not found: {f}")
    problems, summary = check(args.files, args.metrics_file, args.prometheus_url)
    if problems:
        print(f"check_dashboards: FAIL: {len(problems)} problem(s)", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        print(f"check_dashboards: {summary}", file=sys.stderr)
        return 1
    print(f"check_dashboards: OK: {summary}")
    return 0


# ------------------------------------------------------------------------------ self-test
SELF_EXPOSITION = """\
# HELP aws_iam_users IAM users
# TYPE aws_iam_users gauge
aws_iam_users{account_id="123456789012"} 3
# HELP aws_iam_root_mfa_enabled root MFA
# TYPE aws_iam_root_mfa_enabled gauge
aws_iam_root_mfa_enabled{account_id="123456789012"} 1
# HELP aws_iam_exporter_refresh_success last refresh succeeded
# TYPE aws_iam_exporter_refresh_success gauge
aws_iam_exporter_refresh_success{account_id="123456789012"} 1
# HELP aws_iam_exporter_aws_errors_total AWS errors
# TYPE aws_iam_exporter_aws_errors_total counter
aws_iam_exporter_aws_errors_total{account_id="123456789012",operation="GetCredentialReport",code="Throttling"} 1
# HELP aws_iam_exporter_refreshes refreshes (OpenMetrics style counter family name)
# TYPE aws_iam_exporter_refreshes counter
aws_iam_exporter_refreshes_total{account_id="123456789012",result="success"} 5
"""

SELF_RULES = """\
groups:
  - name: t
    rules:
      - record: account_id:aws_iam_users:sum
        expr: sum by (account_id) (aws_iam_users)
      - alert: Good
        expr: |
          min by (account_id) (aws_iam_root_mfa_enabled) == 0
          # a PromQL comment mentioning aws_iam_not_a_metric is ignored
      - alert: BadName
        expr: >-
          aws_iam_root_mfa_enabld
            == 0
        labels: {severity: warning}
"""


def _dash(uid, panels, variables=None, **extra):
    ds = dict(EXPECTED_DS)
    d = {"uid": uid, "title": uid, "schemaVersion": 39, "panels": panels,
         "templating": {"list": [
             {"name": "datasource", "type": "datasource", "query": "prometheus"},
             {"name": "account_id", "type": "query", "datasource": ds, "multi": True, "includeAll": True,
              "query": "label_values(aws_iam_exporter_refresh_success, account_id)"}] + (variables or [])}}
    d.update(extra)
    return d


def _panel(pid, title, *exprs, ds=None, ptype="timeseries"):
    ds = ds or dict(EXPECTED_DS)
    return {"id": pid, "type": ptype, "title": title, "datasource": ds,
            "targets": [{"refId": chr(65 + i), "datasource": dict(ds), "expr": e} for i, e in enumerate(exprs)]}


def self_test(prometheus_url=None):
    good = _dash("good", [
        _panel(1, "users", 'sum by (aws_iam_label_not_metric) (aws_iam_users{account_id=~"${account_id:regex}"})',
               'account_id:aws_iam_users:sum{account_id=~"$account_id"}'),
        {"id": 2, "type": "row", "title": "collapsed", "collapsed": True, "datasource": dict(EXPECTED_DS),
         "panels": [_panel(3, "errors",
                           'sum(rate(aws_iam_exporter_aws_errors_total{account_id=~"$account_id"}[$__rate_interval]))',
                           'sum(increase(aws_iam_exporter_refreshes_total[$__range])) / [[interval]]',
                           'label_replace(aws_iam_users, "x", "aws_iam_in_a_string", "", "")')]},
    ], variables=[{"name": "interval", "type": "custom", "query": "2,3"}])
    bad = _dash("bad", [
        _panel(1, "typo", 'aws_iam_users{account_id=~"$account_id"} + on (account_id) aws_iam_userz'),
        {"id": 2, "type": "row", "title": "collapsed", "collapsed": True,
         "panels": [_panel(3, "nested", 'account_id:aws_iam_nope:sum * $nope',
                           ds={"type": "prometheus", "uid": "P1234567"})]},
        _panel(3, "dup id", "sum(aws_iam_root_mfa_enabled)"),
        _panel(4, "syntax", "sum(aws_iam_users"),
    ], variables=[{"name": "user", "type": "query", "datasource": dict(EXPECTED_DS),
                   "query": {"query": "label_values(aws_iam_user_active_access_key, user)", "refId": "A"}}],
        schemaVersion=30, __inputs=[{"name": "DS_PROMETHEUS"}])
    expect_bad = [
        ("unknown metric in a panel", "unknown metric aws_iam_userz"),
        ("unknown metric in a variable query", "unknown metric aws_iam_user_active_access_key"),
        ("undefined recording rule in a nested row panel", "recording rule account_id:aws_iam_nope:sum is not defined"),
        ("undefined dashboard variable", "undefined variable $nope"),
        ("hard-coded datasource uid", "P1234567"),
        ("__inputs", "has __inputs"),
        ("old schemaVersion", "schemaVersion is 30"),
        ("duplicate panel id", "duplicate panel id 3"),
        ("bad metric name in a rule file", "unknown metric aws_iam_root_mfa_enabld"),
    ]
    failures = []
    with tempfile.TemporaryDirectory(prefix="check_dashboards_selftest.") as tmp:
        def w(name, content):
            path = os.path.join(tmp, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(content if isinstance(content, str) else json.dumps(content, indent=1))
            return path

        expo = w("exposition.txt", SELF_EXPOSITION)
        rules_ok = w("ok.rules.yml", SELF_RULES.split("      - alert: BadName")[0])
        rules_bad = w("bad.rules.yml", SELF_RULES)
        good_p, bad_p = w("good.json", good), w("bad.json", bad)
        broken = w("broken.json", '{"uid": "x", "panels": [')

        # 1. good input: no problems, exit 0.
        problems, _ = check([good_p, rules_ok], [expo], prometheus_url)
        if problems:
            failures.append("good dashboard/rules reported problems:\n      " + "\n      ".join(problems))
        # 2. bad input: every planted problem is reported.
        problems, _ = check([bad_p, rules_bad], [expo])
        text = "\n".join(problems)
        for what, needle in expect_bad:
            if needle not in text:
                failures.append(f"not reported: {what} (expected '{needle}')")
        for fp in ("aws_iam_not_a_metric", "aws_iam_label_not_metric", "aws_iam_in_a_string"):
            if fp in text:
                failures.append(f"false positive on {fp}")
        # 3. unparsable JSON is reported.
        problems, _ = check([broken], [expo])
        if not any("cannot parse dashboard JSON" in p for p in problems):
            failures.append("broken JSON not reported")
        # 4. an exposition without aws_iam_* names fails instead of passing vacuously.
        problems, _ = check([good_p], [w("empty.txt", "# HELP up x\nup 1\n")])
        if not any("no aws_iam_* metric names" in p for p in problems):
            failures.append("empty exposition not reported")
        # 5. exit codes through the real command line.
        me = os.path.abspath(__file__)
        rc_good = subprocess.run([sys.executable, me, "--metrics-file", expo, good_p, rules_ok],
                                 capture_output=True).returncode
        rc_bad = subprocess.run([sys.executable, me, "--metrics-file", expo, bad_p],
                                capture_output=True).returncode
        if rc_good != 0 or rc_bad != 1:
            failures.append(f"exit codes: good={rc_good} (want 0), bad={rc_bad} (want 1)")
        # 6. with Prometheus: a syntax error is rejected by the server.
        if prometheus_url:
            problems, _ = check([bad_p], [expo], prometheus_url)
            if not any("Prometheus rejected the query" in p and "sum(aws_iam_users" in p for p in problems):
                failures.append("Prometheus did not reject 'sum(aws_iam_users'")
    if failures:
        print("check_dashboards self-test: FAIL", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    print(f"check_dashboards self-test: OK ({len(expect_bad)} planted problems reported, good input clean"
          f"{', Prometheus checks included' if prometheus_url else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
