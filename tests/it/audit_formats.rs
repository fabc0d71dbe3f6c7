//! `audit --format ocsf|junit|csv`: the sample's output against golden files
//! (`tests/fixtures/audit/sample.{ocsf.jsonl,junit.xml,csv}`, rewritten by
//! `UPDATE_GOLDEN=1 cargo test --test it audit_formats::`), and each format read back by the
//! library a pipeline would use (`tests/it/audit_formats.py`, run with the test venv's Python):
//! every OCSF record of a multi-account audit into py-ocsf-models' `DetectionFinding`, the
//! JUnit XML with `junitparser`, the CSV with Python's `csv`. The exit status and the error
//! lines of every format are tested in `audit`.

use crate::audit::{audit_cmd, golden, sample, stderr_of, stdout_of};
use crate::common;

use std::process::Output;

use common::scenario::*;
use common::*;

/// The test venv's Python (scripts/setup-test-env.sh installs py-ocsf-models and junitparser
/// there); `None` when skipped (see [`require_tool`]).
fn python() -> Option<std::path::PathBuf> {
    let venv = repo_root().join(".venv/bin/python");
    require_tool("AWS_IAM_EXPORTER_TEST_PYTHON", &[&venv.to_string_lossy()])
}

/// What `audit_formats.py KIND` read from `text`.
fn read_back(python: &std::path::Path, kind: &str, text: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), &format!("audit.{kind}"), text);
    let o = std::process::Command::new(python)
        .arg(repo_root().join("tests/it/audit_formats.py"))
        .arg(kind)
        .arg(&file)
        .output()
        .expect("run tests/it/audit_formats.py");
    assert!(
        o.status.success(),
        "audit_formats.py {kind}: {}\n(scripts/setup-test-env.sh installs its packages)",
        stderr_of(&o)
    );
    serde_json::from_slice(&o.stdout).expect("audit_formats.py prints JSON")
}

/// The JSON audit of the same input: what the other formats must agree with.
fn json_of(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout_of(o)).expect("valid JSON")
}

#[test]
fn the_ocsf_junit_and_csv_of_the_sample_match_the_golden_files() {
    for (format, file) in [
        ("ocsf", "sample.ocsf.jsonl"),
        ("junit", "sample.junit.xml"),
        ("csv", "sample.csv"),
    ] {
        let o = sample(&["--format", format]);
        assert_eq!(o.status.code(), Some(1), "{format}: {}", stderr_of(&o));
        assert_eq!(
            stderr_of(&o),
            "",
            "{format}: no log lines at the default level"
        );
        assert_golden(&golden(file), &stdout_of(&o), "audit_formats::");
    }
}

/// Three accounts on the scenario server, the third denied: root with an old access key and
/// no MFA, console users with and without MFA, keys past rotation, users with a path and a
/// comma in their name, a CIS password policy in one account and none in the other.
fn three_accounts(s: &Scenario) {
    for id in ["111111111111", "222222222222", "333333333333"] {
        let a = s.account(id);
        let report = ReportBuilder::new(id)
            .root(RootRow {
                credentials: CredentialColumns {
                    key1_active: id == "111111111111",
                    key1_last_rotated: Some(days_ago(800)),
                    key1_last_used: Some(days_ago(3)),
                    ..Default::default()
                },
                mfa_active: id != "111111111111",
                ..RootRow::default()
            })
            .user(
                UserRow::new("alice")
                    .created(days_ago(400))
                    .password(Some(days_ago(2)))
                    .mfa(id == "222222222222"),
            )
            .user(UserRow {
                path: Some("/ci/".into()),
                ..UserRow::new("ci,runner")
                    .created(days_ago(300))
                    .key1(days_ago(200), Some(days_ago(1)))
                    .key2(days_ago(10), Some(days_ago(1)))
            })
            .user(
                UserRow::new("bob")
                    .created(days_ago(500))
                    .password(Some(days_ago(120))),
            )
            .csv();
        a.set_report(report);
        a.set_summary("Users", 3);
        if id == "222222222222" {
            a.set_password_policy(Some(PasswordPolicy::default()));
        }
        if id == "333333333333" {
            a.deny_assume_role("arn:aws:iam::333333333333:role/IamExporter");
        }
    }
}

/// `audit --config.file three-roles-one-denied.yml --format FORMAT` against the scenario
/// server, on the real clock (the scenario's dates are relative to it).
fn multi(s: &Scenario, format: &str) -> Output {
    let config = repo_root().join("tests/fixtures/multi/three-roles-one-denied.yml");
    let o = audit_cmd(Some(&s.endpoint()), &["--format", format])
        .env_remove("AWS_IAM_EXPORTER_NOW")
        .arg("--config.file")
        .arg(config)
        .output()
        .unwrap();
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{format}: {err}");
    let errors: Vec<&str> = err.lines().collect();
    assert_eq!(
        errors.len(),
        1,
        "{format}: one line for the denied account: {err}"
    );
    assert!(
        errors[0].starts_with("aws-iam-exporter: error: ") && errors[0].contains("333333333333"),
        "{format}: {err}"
    );
    o
}

#[test]
fn every_ocsf_record_of_a_multi_account_audit_loads_into_py_ocsf_models_with_stable_ids() {
    let Some(python) = python() else { return };
    let s = Scenario::start();
    three_accounts(&s);
    let json = json_of(&multi(&s, "json"));
    let first = read_back(&python, "ocsf", &stdout_of(&multi(&s, "ocsf")));
    let second = read_back(&python, "ocsf", &stdout_of(&multi(&s, "ocsf")));
    let records = first.as_array().unwrap();

    // One record per offender of a failing control, one per other control, per account.
    let mut want = Vec::new();
    for account in json["accounts"].as_array().unwrap() {
        for c in account["controls"].as_array().unwrap() {
            let (status, n) = match c["status"].as_str().unwrap() {
                "fail" => ("FAIL", c["offenders"].as_array().unwrap().len()),
                "pass" => ("PASS", 1),
                _ => ("UNKNOWN", 1),
            };
            for _ in 0..n {
                want.push((
                    account["account_id"].as_str().unwrap().to_owned(),
                    c["id"].as_str().unwrap().to_owned(),
                    status,
                ));
            }
        }
    }
    let got: Vec<(String, String, &str)> = records
        .iter()
        .map(|r| {
            (
                r["account"].as_str().unwrap().to_owned(),
                r["control"].as_str().unwrap().to_owned(),
                r["status_code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    for status in ["FAIL", "PASS", "UNKNOWN"] {
        assert!(
            got.iter().any(|g| g.2 == status),
            "no {status} record: {got:?}"
        );
    }
    for r in records {
        assert_eq!(
            (r["class_uid"].as_u64(), r["type_uid"].as_u64()),
            (Some(2004), Some(200_401))
        );
    }

    // Stable and unique ids: the second run names the same findings the same way.
    let uids = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["uid"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(uids(&first), uids(&second));
    let unique: std::collections::HashSet<String> = uids(&first).into_iter().collect();
    assert_eq!(unique.len(), records.len());

    // The user with a path and a comma is named by the report's ARN.
    let ci = records
        .iter()
        .find(|r| {
            r["account"] == "111111111111"
                && r["control"] == "access_key_rotation"
                && r["resource_type"] == "AwsIamUser"
        })
        .unwrap();
    assert_eq!(
        ci["resource_uid"],
        "arn:aws:iam::111111111111:user/ci/ci,runner"
    );
    assert_eq!(
        ci["uid"],
        "aws-iam-exporter/111111111111/access_key_rotation/access_key_1/ci,runner"
    );
}

#[test]
fn the_junit_of_a_multi_account_audit_parses_with_junitparser_with_the_tables_counts() {
    let Some(python) = python() else { return };
    let s = Scenario::start();
    three_accounts(&s);
    let json = json_of(&multi(&s, "json"));
    let xml = read_back(&python, "junit", &stdout_of(&multi(&s, "junit")));
    let accounts = json["accounts"].as_array().unwrap();
    let suites = xml["suites"].as_array().unwrap();
    assert_eq!(
        suites.len(),
        accounts.len(),
        "one suite per readable account"
    );
    let total = |key: &str| -> u64 {
        accounts
            .iter()
            .map(|a| a["summary"][key].as_u64().unwrap())
            .sum()
    };
    assert_eq!(xml["failures"].as_u64(), Some(total("fail")));
    assert_eq!(xml["skipped"].as_u64(), Some(total("unknown")));
    assert_eq!(xml["errors"], 0);
    for (suite, account) in suites.iter().zip(accounts) {
        let id = account["account_id"].as_str().unwrap();
        let name = account["account_name"].as_str().unwrap();
        assert_eq!(suite["name"], format!("{id} ({name})"));
        assert_eq!(suite["properties"]["account_id"], id);
        let cases = suite["cases"].as_array().unwrap();
        let controls = account["controls"].as_array().unwrap();
        let count = |result: &str| cases.iter().filter(|c| c["result"] == result).count() as u64;
        assert_eq!(suite["tests"].as_u64(), Some(controls.len() as u64));
        assert_eq!(suite["failures"].as_u64(), Some(count("failure")));
        assert_eq!(suite["skipped"].as_u64(), Some(count("skipped")));
        assert_eq!(suite["failures"], account["summary"]["fail"]);
        assert_eq!(suite["skipped"], account["summary"]["unknown"]);
        for (case, control) in cases.iter().zip(controls) {
            assert_eq!(case["name"], control["id"]);
            assert_eq!(case["classname"], format!("aws-iam-exporter.{id}"));
            let want = match control["status"].as_str().unwrap() {
                "fail" => "failure",
                "unknown" => "skipped",
                _ => "pass",
            };
            assert_eq!(case["result"], want, "{case}");
            if want == "failure" {
                assert_eq!(case["type"], control["severity"]);
                for o in control["offenders"].as_array().unwrap() {
                    let line = o["description"].as_str().unwrap();
                    assert!(
                        case["message"].as_str().unwrap().contains(line),
                        "{line} not in {case}"
                    );
                    assert!(case["text"].as_str().unwrap().lines().any(|l| l == line));
                }
            }
        }
    }
}

#[test]
fn the_csv_reads_back_with_pythons_csv_module_field_by_field() {
    let Some(python) = python() else { return };
    let json = json_of(&sample(&["--format", "json"]));
    let o = sample(&["--format", "csv", "--cis-version", "7.0.0"]);
    let rows = read_back(&python, "csv", &stdout_of(&o));
    let rows = rows.as_array().unwrap();
    let controls = json["accounts"][0]["controls"].as_array().unwrap();
    let mut i = 0;
    for c in controls {
        let offenders = c["offenders"].as_array().unwrap();
        let n = offenders.len().max(1);
        for k in 0..n {
            let row = &rows[i];
            i += 1;
            assert_eq!(row["account_id"], "123456789012");
            assert_eq!(row["control"], c["id"]);
            assert_eq!(row["status"], c["status"]);
            assert_eq!(row["severity"], c["severity"]);
            assert_eq!(row["cis_version"], "7.0.0");
            let cis7 = c["benchmarks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["version"] == "7.0.0")
                .map_or("", |b| b["id"].as_str().unwrap());
            assert_eq!(row["cis"], cis7, "{row}");
            assert_eq!(row["securityhub"], c["securityhub"].as_str().unwrap_or(""));
            match offenders.get(k) {
                Some(o) => {
                    assert_eq!(row["user"], o["user"].as_str().unwrap_or(""));
                    assert_eq!(row["credential"], o["credential"]);
                    assert_eq!(row["last_used"], o["last_used"].as_str().unwrap_or(""));
                    assert_eq!(row["created"], o["created"].as_str().unwrap_or(""));
                    assert_eq!(
                        row["days"],
                        o["days"].as_i64().map_or(String::new(), |d| d.to_string())
                    );
                }
                None => {
                    for field in ["user", "credential", "last_used", "created", "days"] {
                        assert_eq!(row[field], "", "{field}: {row}");
                    }
                }
            }
        }
    }
    assert_eq!(i, rows.len());
    let ci: Vec<&serde_json::Value> = rows.iter().filter(|r| r["user"] == "ci,runner").collect();
    assert_eq!(
        ci.len(),
        4,
        "two keys of multiple_active_keys, one of access_key_rotation, its MFA (user_mfa)"
    );
    assert!(ci.iter().all(|r| r["account_id"] == "123456789012"));
}
