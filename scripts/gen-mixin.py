#!/usr/bin/env python3
"""Render the monitoring mixin (mixin/) into the files the repository ships.

* alerts/aws-iam-exporter.rules.yml: the recording rules, then the alerts, with each rule's
  comment, in block style (expressions and runbooks as literal blocks, summaries and
  descriptions folded);
* dashboards/<name>.json: one file per entry of grafanaDashboards, indented by 2, keys in
  Grafana's order (KEY_ORDER; the others sorted);
* then, unless --check or --out-dir, scripts/gen-prometheusrule.py refreshes the PrometheusRule
  and the dashboard ConfigMaps of deploy/kubernetes/common from them.

Every rendering is parsed back and compared with what jsonnet evaluated, so the layout never
changes what a file means.

Usage:
  scripts/gen-mixin.py                  write the files (and refresh deploy/)
  scripts/gen-mixin.py --check          exit 1 if a shipped file differs from the mixin
  scripts/gen-mixin.py --out-dir DIR    write (or --check) DIR/alerts/... and DIR/dashboards/...

Needs the `jsonnet` command (Debian package jsonnet, installed by scripts/setup-test-env.sh;
JSONNET=/path/to/jsonnet to use another) and PyYAML.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover - environment problem, said in one line
    sys.exit("gen-mixin: PyYAML is missing (python3 -m pip install PyYAML, or use .venv/bin/python)")

ROOT = Path(__file__).resolve().parent.parent
VIEW = ROOT / "scripts" / "mixin-files.jsonnet"
RULES = Path("alerts") / "aws-iam-exporter.rules.yml"
DASHBOARDS = Path("dashboards")

# Grafana's key order, by the path of the object (names of the fields that lead to it, `[]` for
# a list element, `*` for a data key such as a value mapping's value), optionally for one panel
# type. The longest matching path wins; keys not listed follow, sorted. This only decides how a
# file reads: the check compares parsed JSON.
KEY_ORDER = {
    "": ["uid", "title", "description", "tags", "editable", "graphTooltip", "schemaVersion", "version",
         "time", "timepicker", "timezone", "refresh", "fiscalYearStartMonth", "liveNow", "weekStart",
         "annotations", "links", "templating", "panels"],
    "links[]": ["title", "type", "tags", "asDropdown", "includeVars", "keepTime", "targetBlank", "icon",
                "tooltip", "url"],
    "templating.list[]": ["name", "label", "type", "datasource", "query", "definition", "multi", "includeAll",
                          "allValue", "current", "hide", "options", "refresh", "regex", "sort", "skipUrlSync",
                          "description"],
    "panels[]": ["type", "title", "collapsed", "panels", "description", "datasource", "id", "targets",
                 "transformations", "fieldConfig", "options", "gridPos"],
    "targets[]": ["datasource", "editorMode", "expr", "refId", "legendFormat", "range", "instant", "format"],
    "stat:fieldConfig.defaults": ["mappings", "thresholds", "color", "unit", "noValue", "decimals"],
    "table:fieldConfig.defaults": ["custom", "mappings", "thresholds", "color", "decimals"],
    "timeseries:fieldConfig.defaults": ["unit", "custom", "color", "thresholds", "decimals"],
    "bargauge:fieldConfig.defaults": ["unit", "decimals", "min", "color", "thresholds", "mappings"],
    "defaults.custom": ["drawStyle", "lineInterpolation", "lineWidth", "fillOpacity", "showPoints", "spanNulls",
                        "axisSoftMin", "stacking", "thresholdsStyle"],
    "cellOptions": ["type", "mode"],
    "stacking": ["mode", "group"],
    "mappings[]": ["type", "options"],
    "mappings[].options.*": ["text", "color", "index"],
    "properties[].value": ["type", "mode", "steps"],
    "properties[].value[]": ["type", "options"],
    "properties[].value[].options.*": ["text", "color", "index"],
    "stat:panels[].options": ["reduceOptions", "colorMode", "graphMode", "textMode", "justifyMode",
                              "orientation", "wideLayout", "showPercentChange"],
    "table:panels[].options": ["showHeader", "cellHeight", "footer", "sortBy"],
    "bargauge:panels[].options": ["displayMode", "orientation", "showUnfilled", "valueMode", "namePlacement",
                                  "sizing", "minVizHeight", "maxVizHeight", "minVizWidth", "reduceOptions"],
    "transformations[].options": ["columnField", "rowField", "valueField", "emptyValue", "excludeByName",
                                  "renameByName", "indexByName"],
    "footer": ["show", "reducer", "fields"],
    "legend": ["displayMode", "placement", "showLegend", "calcs"],
    "sortBy[]": ["displayName", "desc"],
}
# Objects keyed by data: columns in display order (an organize transformation's indexByName
# says it, for its renameByName and excludeByName too); value mappings by their index.
COLUMN_MAPS = {"indexByName", "renameByName", "excludeByName"}

# Rule keys in the order Prometheus' documentation lists them; others follow, sorted.
RULE_KEYS = ["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"]
ANNOTATION_KEYS = ["summary", "description", "runbook", "runbook_url"]
# Folded (>-) annotations wrap at this width, unless the mixin's text says where to break.
WRAP = 112


class RenderError(Exception):
    """The mixin cannot be rendered faithfully (said in one line)."""


# ----------------------------------------------------------------------------------- jsonnet
def evaluate(jsonnet: str) -> dict:
    exe = shutil.which(jsonnet)
    if exe is None:
        raise RenderError(
            f"'{jsonnet}' not found: install the Debian package jsonnet (scripts/setup-test-env.sh "
            "does), or set JSONNET=/path/to/jsonnet"
        )
    proc = subprocess.run([exe, str(VIEW)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"jsonnet {VIEW.relative_to(ROOT)} failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout)


# ----------------------------------------------------------------------------------- YAML
def plain_or_quoted(value) -> str:
    """A YAML scalar: plain when that reads back as the same value, else double-quoted."""
    if isinstance(value, str):
        try:
            ok = value == value.strip() and yaml.safe_load(f"k: {value}") == {"k": value}
        except yaml.YAMLError:
            ok = False
        return value if ok else json.dumps(value)
    return json.dumps(value)


def literal(value: str, indent: int) -> list[str]:
    """A literal block scalar (| or |-) holding `value` exactly."""
    pad = " " * indent
    if value.endswith("\n\n"):
        chomp, body = "+", value[:-1]
    elif value.endswith("\n"):
        chomp, body = "", value[:-1]
    else:
        chomp, body = "-", value
    indicator = str(indent) if body[:1] in (" ", "\t") else ""
    head = f"|{indicator}{chomp}"
    return [head] + [pad + line if line else "" for line in body.split("\n")]


def folded(value: str, indent: int, lines: list[str] | None) -> list[str] | None:
    """A folded block scalar (>-) for a one-line value: broken where `lines` (the mixin's text)
    breaks it when they fold back into `value`, else greedily at WRAP columns. None when a
    folded scalar cannot hold the value."""
    if "\n" in value or value != value.strip() or not value:
        return None
    if lines is None or " ".join(lines) != value or any(l != l.strip() or not l for l in lines):
        if "  " in value:
            lines = [value]
        else:
            lines, cur = [], ""
            for word in value.split(" "):
                if cur and indent + len(cur) + 1 + len(word) > WRAP:
                    lines.append(cur)
                    cur = word
                else:
                    cur = f"{cur} {word}" if cur else word
            lines.append(cur)
    return [">-"] + [" " * indent + line for line in lines]


def mapping(items: dict, order: list[str], indent: int, block_value) -> list[str]:
    """`key: value` lines of a mapping, keys in `order` first; block_value(key, value, indent)
    may return block scalar lines for a value."""
    pad = " " * indent
    out = []
    for k in sorted(items, key=lambda k: (order.index(k) if k in order else len(order), k)):
        v = items[k]
        block = block_value(k, v, indent + 2)
        if block:
            out.append(f"{pad}{plain_or_quoted(k)}: {block[0]}")
            out.extend(block[1:])
        else:
            out.append(f"{pad}{plain_or_quoted(k)}: {plain_or_quoted(v)}")
    return out


def comment(text: str | None, indent: int) -> list[str]:
    if not text:
        return []
    return [" " * indent + ("# " + line if line else "#") for line in text.rstrip("\n").split("\n")]


def render_rules(view: dict) -> str:
    hints = view["hints"]
    out = comment(view["header"], 0) + [""] + ["groups:"]
    for gi, group in enumerate(view["groups"]):
        if gi:
            out.append("")
        if not isinstance(group.get("rules"), list):
            raise RenderError(f"group {group.get('name')!r} has no list of rules")
        out.append(f"  - name: {plain_or_quoted(group['name'])}")
        for k in sorted(k for k in group if k not in ("name", "rules")):
            out.append(f"    {k}: {plain_or_quoted(group[k])}")
        out.append("    rules:")
        for ri, rule in enumerate(group["rules"]):
            if ri:
                out.append("")
            kind = "alert" if "alert" in rule else "record"
            hint = hints.get(f"{group['name']}/{rule[kind]}", {})
            # A recording rule's comment goes above it, an alert's below its name (above expr).
            if kind == "record":
                out += comment(hint.get("comment"), 6)
            out.append(f"      - {kind}: {plain_or_quoted(rule[kind])}")
            if kind == "alert":
                out += comment(hint.get("comment"), 8)
            rest = {k: v for k, v in rule.items() if k != kind}

            def block_value(key, value, indent, hint=hint):
                if key == "expr" and isinstance(value, str):
                    return literal(value, indent)
                if key == "labels":
                    return [""] + mapping(value, [], indent, lambda *_: None)
                if key == "annotations":
                    return [""] + mapping(value, ANNOTATION_KEYS, indent, annotation)
                return None

            def annotation(key, value, indent, hint=hint):
                if not isinstance(value, str):
                    return None
                if "\n" in value:
                    return literal(value, indent)
                if key == "summary":  # one line, however long: it is a title
                    return folded(value, indent, [value]) or literal(value, indent)
                if key == "description":
                    raw = hint.get("description")
                    lines = raw.rstrip("\n").split("\n") if raw else None
                    return folded(value, indent, lines) or literal(value, indent)
                return None

            lines = mapping(rest, RULE_KEYS, 8, block_value)
            # mapping() wrote "labels: " with an empty first line: drop that trailing space.
            out += [l.rstrip() if l.endswith(": ") else l for l in lines]
    text = "\n".join(out) + "\n"
    if yaml.safe_load(text) != {"groups": view["groups"]}:
        raise RenderError("the rendered rule file does not parse back into the mixin's rules (a renderer bug)")
    return text


# ----------------------------------------------------------------------------------- JSON
def ordered(value, path: list[str], panel_type: str, columns: dict | None = None):
    """`value` with the keys of every object in KEY_ORDER's order (or a data order)."""
    if isinstance(value, list):
        return [ordered(v, path[:-1] + [path[-1] + "[]"] if path else ["[]"], panel_type) for v in value]
    if not isinstance(value, dict):
        return value
    if path and path[-1] == "panels[]" and isinstance(value.get("type"), str):
        panel_type = value["type"]
    if path and path[-1] in COLUMN_MAPS and isinstance(columns, dict):
        index = {k: v for k, v in columns.items() if isinstance(v, (int, float))}
        keys = sorted(value, key=lambda k: (k not in index, index.get(k, 0), k))
    elif value and all(isinstance(v, dict) and isinstance(v.get("index"), int) for v in value.values()):
        keys = sorted(value, key=lambda k: (value[k]["index"], k))  # value mappings
    else:
        order = key_order(path, panel_type)
        keys = sorted(value, key=lambda k: (order.index(k) if k in order else len(order), k))
    return {
        k: ordered(value[k], path + [k if not re.fullmatch(r"-?\d+(\.\d+)?", k) else "*"], panel_type,
                   value.get("indexByName"))
        for k in keys
    }


def key_order(path: list[str], panel_type: str) -> list[str]:
    best, best_len = [], -1
    for spec, order in KEY_ORDER.items():
        ptype, _, suffix = spec.rpartition(":")
        if ptype and ptype != panel_type:
            continue
        want = suffix.split(".") if suffix else []
        if want and path[-len(want):] != want or not want and path:
            continue
        # A panel type's entry beats a general one of the same length.
        length = len(want) * 2 + (1 if ptype else 0)
        if length > best_len:
            best, best_len = order, length
    return best


def render_dashboard(name: str, dash: dict) -> str:
    text = json.dumps(ordered(dash, [], ""), indent=2, ensure_ascii=False) + "\n"
    if json.loads(text) != dash:
        raise RenderError(f"{name}: the rendered JSON differs from the mixin's (a renderer bug)")
    return text


# ----------------------------------------------------------------------------------- main
def outputs(view: dict) -> dict[Path, str]:
    out = {RULES: render_rules(view["rules"])}
    for name, dash in sorted(view["dashboards"].items()):
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.json", name):
            raise RenderError(f"grafanaDashboards: {name!r} is not a plain file name ending in .json")
        out[DASHBOARDS / name] = render_dashboard(name, dash)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="fail if a shipped file differs from the mixin")
    ap.add_argument("--out-dir", type=Path, default=ROOT, help="where alerts/ and dashboards/ are")
    ap.add_argument("--jsonnet", default=os.environ.get("JSONNET", "jsonnet"))
    args = ap.parse_args()

    try:
        files = outputs(evaluate(args.jsonnet))
    except RenderError as e:
        print(f"gen-mixin: {e}", file=sys.stderr)
        return 1

    out_dir = args.out_dir.resolve()
    stale = [p for p in sorted((out_dir / DASHBOARDS).glob("*.json")) if p.relative_to(out_dir) not in files]
    problems = []
    for rel, want in files.items():
        path = out_dir / rel
        have = path.read_text(encoding="utf-8") if path.exists() else None
        if have == want:
            continue
        if args.check:
            problems.append(str(rel))
            diff = difflib.unified_diff(
                (have or "").splitlines(keepends=True), want.splitlines(keepends=True),
                fromfile=f"{rel} (committed)", tofile=f"{rel} (from the mixin)", n=1,
            )
            sys.stderr.writelines(list(diff)[:40])
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(want, encoding="utf-8")
            print(f"wrote {rel}")
    for path in stale:
        if args.check:
            problems.append(f"{path.relative_to(out_dir)} (no such dashboard in the mixin)")
        else:
            path.unlink()
            print(f"removed {path.relative_to(out_dir)} (no such dashboard in the mixin)")
    if problems:
        print(
            "gen-mixin: differs from the mixin: " + ", ".join(problems)
            + "\n  change mixin/, then run: python3 scripts/gen-mixin.py",
            file=sys.stderr,
        )
        return 1
    if args.check:
        print(f"gen-mixin: {len(files)} files match the mixin")
        return 0
    if out_dir == ROOT:
        return subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-prometheusrule.py")]).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
