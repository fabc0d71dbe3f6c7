#!/usr/bin/env python3
"""Checks of the monitoring mixin (mixin/); scripts/check-alerts.sh runs them.

1. format: `jsonnetfmt --test` on every jsonnet file of mixin/;
2. unit: mixin/tests/*_test.jsonnet (jsonnet assertions), and an alert without settings in
   _config.alerts fails to render, naming it;
3. drift: the shipped alerts/ and dashboards/ are what the mixin renders
   (scripts/gen-mixin.py --check), and that check fails on a rendering changed by one character;
4. import: the example of docs/alerts.md ("Import the mixin"), as written there: its
   jsonnetfile.json and my-mixin.libsonnet, with vendor/ laid out as `jb install` lays it out
   (no network), rendered by the commands of its sh block; then in the result
   - every aws_iam_* series of every rule, dashboard query and variable, and `up` in the
     rules, carries the example's exporterSelector, and no default job pattern is left;
   - every alert has runbook_url = the example's runbookUrlBase#<lower-case alert name>, an
     anchor of docs/runbooks.md, and the example's severity override;
   - `promtool check rules` accepts the rules, and the dashboard queries (as recording rules);
   - the dashboards pass check_dashboards.py's lint.

Usage: check_mixin.py [--jsonnet BIN] [--promtool BIN]     (exit 1 on any failure)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MIXIN = ROOT / "mixin"
DOC = ROOT / "docs" / "alerts.md"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
SERIES = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")

# scripts/check_dashboards.py: its PromQL string scanner, dashboard lint and query extraction.
_spec = importlib.util.spec_from_file_location("check_dashboards", ROOT / "scripts" / "check_dashboards.py")
CD = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(CD)


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


# ----------------------------------------------------------------------------------- PromQL
def series_selectors(expr: str, names=lambda n: n.startswith("aws_iam_")) -> list[tuple[str, str | None]]:
    """(metric name, the text inside its braces or None) of every series selector of `expr`
    whose name satisfies `names`; string literals are skipped."""
    out, i, n = [], 0, len(expr)
    while i < n:
        if expr[i] in "\"'`":
            i = CD.string_end(expr, i)
            continue
        m = SERIES.match(expr, i)
        if m and (i == 0 or not (expr[i - 1].isalnum() or expr[i - 1] in "_:")):
            name, i = m.group(0), m.end()
            if names(name):
                brace = re.match(r"\s*\{", expr[i:])
                if brace:
                    start = i + brace.end()
                    out.append((name, expr[start:expr.index("}", start)].strip()))
                else:
                    out.append((name, None))
            continue
        i += 1
    return out


def doc_block(text: str, lang: str, must_contain: str) -> str:
    """The first ```lang fenced block of `text` that contains `must_contain`."""
    for m in re.finditer(r"^```" + re.escape(lang) + r"\n(.*?)^```", text, re.S | re.M):
        if must_contain in m.group(1):
            return m.group(1)
    raise AssertionError(f"{DOC.relative_to(ROOT)}: no ```{lang} block containing {must_contain!r}")


def github_anchors(markdown: str) -> set[str]:
    return {
        re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#{1,6} (.*)$", markdown, re.M)
    }


# ----------------------------------------------------------------------------------- checks
class Checks:
    def __init__(self, jsonnet: str, promtool: str | None):
        self.jsonnet = jsonnet
        self.jsonnetfmt = str(Path(jsonnet).with_name("jsonnetfmt")) if os.sep in jsonnet else "jsonnetfmt"
        self.promtool = promtool
        self.failures: list[str] = []

    def fail(self, what: str) -> None:
        self.failures.append(what)
        print(f"  FAIL {what}")

    def ok(self, what: str) -> None:
        print(f"  ok   {what}")

    def check(self, cond: bool, what: str, detail: str = "") -> bool:
        if cond:
            self.ok(what)
        else:
            self.fail(what + (f": {detail}" if detail else ""))
        return cond

    # 1 -------------------------------------------------------------------------------------
    def format(self) -> None:
        files = sorted(p for p in MIXIN.rglob("*") if p.suffix in (".jsonnet", ".libsonnet"))
        bad = [str(p.relative_to(ROOT)) for p in files if run([self.jsonnetfmt, "--test", p]).returncode != 0]
        self.check(not bad, f"jsonnetfmt --test: {len(files)} files formatted", f"run jsonnetfmt -i on {bad}")

    # 2 -------------------------------------------------------------------------------------
    def unit(self) -> None:
        for test in sorted((MIXIN / "tests").glob("*_test.jsonnet")):
            p = run([self.jsonnet, test])
            self.check(p.returncode == 0, f"{test.relative_to(ROOT)}: {p.stdout.strip()}", p.stderr.strip()[:600])
        p = run([self.jsonnet, "-J", MIXIN, "-e",
                 "(import 'lib/utils.libsonnet').alert({ alerts: {}, runbookUrlPattern: '' }, 'AwsIamNew')"
                 " { expr: 'vector(1)', summary:: 's', description:: 'd', runbook:: 'r' }"])
        self.check(
            p.returncode != 0 and "no entry for AwsIamNew" in p.stderr,
            "an alert missing from _config.alerts fails to render, naming it",
            p.stdout[:200] + p.stderr[:200],
        )

    # 3 -------------------------------------------------------------------------------------
    def drift(self, gen: list[str]) -> None:
        p = run(gen + ["--check"], cwd=ROOT)
        self.check(p.returncode == 0, "the shipped alerts/ and dashboards/ are what the mixin renders",
                   (p.stderr or p.stdout)[-3000:])
        with tempfile.TemporaryDirectory(prefix="check_mixin.") as tmp:
            p = run(gen + ["--out-dir", tmp], cwd=ROOT)
            if not self.check(p.returncode == 0, "gen-mixin.py renders into another directory", p.stderr[-600:]):
                return
            rules = Path(tmp) / "alerts" / "aws-iam-exporter.rules.yml"
            clean = run(gen + ["--check", "--out-dir", tmp], cwd=ROOT).returncode
            rules.write_text(rules.read_text().replace("for: 5m", "for: 6m", 1))
            changed = run(gen + ["--check", "--out-dir", tmp], cwd=ROOT).returncode
            self.check(clean == 0 and changed == 1, "the drift check fails when a shipped file is changed by hand",
                       f"unchanged exit {clean}, changed exit {changed}")

    # 4 -------------------------------------------------------------------------------------
    def import_example(self) -> None:
        doc = DOC.read_text(encoding="utf-8")
        jsonnetfile = json.loads(doc_block(doc, "json", '"dependencies"'))
        example = doc_block(doc, "jsonnet", "mixin/mixin.libsonnet")
        commands = doc_block(doc, "sh", "jsonnet -J vendor")
        example_file = re.search(r'import "([\w.-]+\.libsonnet)"', commands).group(1)
        selector = re.search(r"exporterSelector: '([^']*)'", example).group(1)
        base = re.search(r"runbookUrlBase: '([^']*)'", example).group(1)
        overrides = dict(re.findall(r"(AwsIam\w+)\+: \{ severity: '(\w+)' \}", example))
        (dep,) = jsonnetfile["dependencies"]
        remote, subdir = dep["source"]["git"]["remote"], dep["source"]["git"]["subdir"]
        self.check(subdir == "mixin" and dep["version"] == "main", "the example's jsonnetfile.json depends on mixin@main")
        with tempfile.TemporaryDirectory(prefix="check_mixin.jb.") as tmp:
            work = Path(tmp)
            (work / "jsonnetfile.json").write_text(json.dumps(jsonnetfile, indent=2))
            (work / example_file).write_text(example)
            # jb: vendor/<host>/<org>/<repo>/<subdir>, a copy of the subdirectory, and with
            # legacyImports a symlink named after the subdirectory's last element.
            host_path = re.sub(r"^https://|\.git$", "", remote)
            vendored = work / "vendor" / host_path / subdir
            shutil.copytree(MIXIN, vendored)
            if jsonnetfile.get("legacyImports"):
                (work / "vendor" / Path(subdir).name).symlink_to(Path(host_path) / subdir)
            # The sh block as written, with this jsonnet and promtool first on PATH.
            bin_dir = work / "bin"
            bin_dir.mkdir()
            (bin_dir / "jsonnet").symlink_to(shutil.which(self.jsonnet))
            if self.promtool:
                (bin_dir / "promtool").symlink_to(self.promtool)
            env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
            p = run(["bash", "-euo", "pipefail", "-c", commands], cwd=work, env=env)
            if not self.check(p.returncode == 0, "the docs/alerts.md example renders (its sh block)",
                              (p.stdout + p.stderr)[-1500:]):
                return
            out = work / "out"
            rules_file = out / "aws-iam-exporter.rules.yml"
            rules = yaml.safe_load(rules_file.read_text())
            dashboards = {f.name: json.loads(f.read_text()) for f in sorted(out.glob("*.json"))}
            self.check(len(dashboards) == 3, "the example writes the rule file and the three dashboards", str(sorted(dashboards)))
            self.selectors(rules, dashboards, selector)
            self.runbooks(rules, base, overrides)
            self.promql(rules_file, dashboards)

    def selectors(self, rules: dict, dashboards: dict, selector: str) -> None:
        bad, seen = [], 0
        for group in rules["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                for metric, inner in series_selectors(rule["expr"], lambda n: n.startswith("aws_iam_") or n == "up"):
                    seen += 1
                    if inner is None or not inner.startswith(selector):
                        bad.append(f"{name}: {metric}{{{inner or ''}}}")
                if ".*aws-iam-exporter.*" in json.dumps(rule):
                    bad.append(f"{name}: still names the default job pattern")
        for file, dash in dashboards.items():
            exprs = [v.get("query", "") for v in dash["templating"]["list"] if v.get("type") == "query"]
            stack = list(dash["panels"])
            while stack:
                panel = stack.pop()
                stack += panel.get("panels") or []
                exprs += [t["expr"] for t in panel.get("targets") or []]
            for expr in exprs:
                for metric, inner in series_selectors(expr):
                    seen += 1
                    if inner is None or not inner.startswith(selector):
                        bad.append(f"{file}: {metric}{{{inner or ''}}} in {expr[:80]}")
        # Over 90 today: fewer means the scan found nothing, not that everything is right.
        self.check(seen > 50 and not bad, f"{seen} series selectors in the rules and dashboards carry {selector}",
                   "; ".join(bad[:8]))

    def runbooks(self, rules: dict, base: str, overrides: dict) -> None:
        anchors = github_anchors(RUNBOOKS.read_text(encoding="utf-8"))
        alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
        bad = [
            r["alert"] for r in alerts
            if r["annotations"].get("runbook_url") != f"{base}#{r['alert'].lower()}" or r["alert"].lower() not in anchors
        ]
        self.check(len(alerts) >= 13 and not bad,
                   f"{len(alerts)} alerts have runbook_url {base}#<lower-case name>, an anchor of docs/runbooks.md",
                   str(bad))
        got = {r["alert"]: r["labels"]["severity"] for r in alerts if r["alert"] in overrides}
        self.check(bool(overrides) and got == overrides, f"the example's severity overrides apply: {overrides}", str(got))

    def promql(self, rules_file: Path, dashboards: dict) -> None:
        if not self.promtool:
            self.fail("promtool not found: cannot check the rendered PromQL (set PROMTOOL=...)")
            return
        p = run([self.promtool, "check", "rules", rules_file])
        self.check(p.returncode == 0, "promtool check rules accepts the example's rules", (p.stdout + p.stderr)[-1500:])
        records, problems, uids = [], [], {}
        for file, dash in dashboards.items():
            problems += CD.lint_dashboard(file, dash, uids)
            for where, expr, undefined in CD.dashboard_exprs(file, dash, {}):
                if undefined:
                    problems.append(f"{where}: undefined variables {undefined}")
                records.append({"record": f"dashboard_query_{len(records)}", "expr": expr})
        self.check(not problems, "the example's dashboards pass check_dashboards.py's lint", "; ".join(problems[:5]))
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": records}]}, f)
        try:
            p = run([self.promtool, "check", "rules", f.name])
        finally:
            os.unlink(f.name)
        self.check(p.returncode == 0, f"promtool parses the example's {len(records)} dashboard queries",
                   (p.stdout + p.stderr)[-1500:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jsonnet", default=os.environ.get("JSONNET", "jsonnet"))
    ap.add_argument("--promtool", default=os.environ.get("PROMTOOL") or shutil.which("promtool"))
    args = ap.parse_args()
    if shutil.which(args.jsonnet) is None:
        print(f"check_mixin: '{args.jsonnet}' not found: install the Debian package jsonnet "
              "(scripts/setup-test-env.sh does), or set JSONNET=...", file=sys.stderr)
        return 2
    c = Checks(args.jsonnet, args.promtool)
    gen = [sys.executable, str(ROOT / "scripts" / "gen-mixin.py"), "--jsonnet", args.jsonnet]
    for title, step in [
        ("format", c.format),
        ("unit tests", c.unit),
        ("shipped files generated from the mixin", lambda: c.drift(gen)),
        ("the docs/alerts.md import example (jsonnet-bundler layout)", c.import_example),
    ]:
        print(f"mixin: {title}")
        try:
            step()
        except (AssertionError, AttributeError, KeyError, ValueError) as e:
            c.fail(f"{title}: {type(e).__name__}: {e}")
    print(f"check_mixin: {'OK' if not c.failures else f'{len(c.failures)} failed'}")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
