"""Reads an `aws-iam-exporter audit` output back with the libraries pipelines use, and prints
what they saw as one JSON document on stdout (tests/it/audit_formats.rs asserts on it).

    python audit_formats.py ocsf FILE    # py-ocsf-models' DetectionFinding, record by record
    python audit_formats.py junit FILE   # junitparser
    python audit_formats.py csv FILE     # the standard library's csv module

Exits non-zero, naming the record and the field, when a record does not load or loses a field.
"""

import csv
import json
import sys


def lost_keys(given, loaded, path=""):
    """Keys of `given` that the model did not keep: pydantic drops unknown fields silently, so
    "it loads" alone would pass a misspelt or misplaced field."""
    if isinstance(given, dict):
        if not isinstance(loaded, dict):
            return [path or "."]
        out = []
        for key, value in given.items():
            if key not in loaded:
                out.append(f"{path}.{key}")
            else:
                out.extend(lost_keys(value, loaded[key], f"{path}.{key}"))
        return out
    if isinstance(given, list):
        if not isinstance(loaded, list) or len(loaded) != len(given):
            return [path]
        out = []
        for i, (g, l) in enumerate(zip(given, loaded)):
            out.extend(lost_keys(g, l, f"{path}[{i}]"))
        return out
    return []


def ocsf(path):
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding

    records = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            given = json.loads(line)
            try:
                model = DetectionFinding.model_validate(given)
            except Exception as e:  # pydantic.ValidationError names the field
                sys.exit(f"record {n}: does not load into DetectionFinding: {e}")
            loaded = json.loads(model.model_dump_json(exclude_none=True))
            lost = lost_keys(given, loaded)
            if lost:
                sys.exit(f"record {n}: DetectionFinding drops {lost}")
            records.append(
                {
                    "uid": model.finding_info.uid,
                    "account": model.cloud.account.uid,
                    "control": model.metadata.event_code,
                    "status_code": model.status_code,
                    "severity_id": int(model.severity_id),
                    "class_uid": int(model.class_uid),
                    "type_uid": int(model.type_uid),
                    "time": model.time,
                    "resource_uid": model.resources[0].uid,
                    "resource_type": model.resources[0].type,
                }
            )
    return records


def junit(path):
    from junitparser import Failure, JUnitXml, Skipped

    xml = JUnitXml.fromfile(path)
    suites = []
    for suite in xml:
        cases = []
        for case in suite:
            result = {"name": case.name, "classname": case.classname, "result": "pass"}
            for r in case.result:
                if isinstance(r, Failure):
                    result.update(result="failure", message=r.message, type=r.type, text=r.text)
                elif isinstance(r, Skipped):
                    result.update(result="skipped", message=r.message)
            cases.append(result)
        suites.append(
            {
                "name": suite.name,
                "tests": suite.tests,
                "failures": suite.failures,
                "errors": suite.errors,
                "skipped": suite.skipped,
                "properties": {p.name: p.value for p in suite.properties()},
                "cases": cases,
            }
        )
    return {
        "tests": xml.tests,
        "failures": xml.failures,
        "errors": xml.errors,
        "skipped": xml.skipped,
        "suites": suites,
    }


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    read = {"ocsf": ocsf, "junit": junit, "csv": rows}[kind]
    json.dump(read(path), sys.stdout)
