//! `aws-iam-exporter audit`: the table and the JSON of the sample in `examples/` against golden
//! files, the exit status in every `--format` (`--fail-on`, unreadable input, bad flags), colour
//! only on a terminal and never with `NO_COLOR`, and one section per account of `--config.file`.
//!
//! The clock is fixed with `AWS_IAM_EXPORTER_NOW=2026-12-01T00:00:00Z`, so "N days" is stable.
//! The golden files are `tests/fixtures/audit/sample.{table.txt,json}`;
//! `UPDATE_GOLDEN=1 cargo test --test it audit::` rewrites them; README.md shows the table.
//! The formats for pipelines (OCSF, JUnit, CSV) are tested in `audit_formats`.

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::scenario::*;
use common::*;

const NOW: &str = "2026-12-01T00:00:00Z";
/// Every `--format`: the exit status and the error lines are the same in each.
const FORMATS: [&str; 5] = ["table", "json", "ocsf", "junit", "csv"];
const SAMPLE: [&str; 4] = [
    "--credential-report.file",
    "examples/credential-report.csv",
    "--account-summary.file",
    "examples/account-summary.json",
];

/// The exporter with the fixed clock, run from the repository root (so the report's key, its
/// relative path, is the same on every machine), colour not disabled by the environment.
pub(super) fn audit_cmd(endpoint: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = exporter_cmd(endpoint);
    cmd.current_dir(repo_root())
        .env("AWS_IAM_EXPORTER_NOW", NOW)
        .env_remove("NO_COLOR")
        .arg("audit")
        .args(args);
    cmd
}

fn audit(args: &[&str]) -> Output {
    audit_cmd(None, args)
        .output()
        .expect("run aws-iam-exporter audit")
}

pub(super) fn sample(extra: &[&str]) -> Output {
    let args: Vec<&str> = SAMPLE.iter().chain(extra).copied().collect();
    audit(&args)
}

pub(super) fn stdout_of(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

pub(super) fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(super) fn golden(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/audit").join(name)
}

#[test]
fn the_table_of_the_sample_matches_the_golden_file() {
    let o = sample(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    assert_eq!(stderr_of(&o), "", "no log lines at the default level");
    let table = stdout_of(&o);
    assert!(!table.contains('\x1b'), "piped: no colour\n{table}");
    assert_golden(&golden("sample.table.txt"), &table, "audit::");
}

#[test]
fn the_readme_shows_the_golden_table() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let table = std::fs::read_to_string(golden("sample.table.txt")).unwrap();
    assert!(
        readme.contains(&format!("```text\n{table}```\n")),
        "README.md's audit sample differs from tests/fixtures/audit/sample.table.txt: paste it"
    );
}

#[test]
fn the_json_of_the_sample_matches_the_golden_file() {
    let o = sample(&["--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    let text = stdout_of(&o);
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(v["now"], NOW);
    assert_eq!(v["accounts"][0]["key"], "examples/credential-report.csv");
    assert_golden(&golden("sample.json"), &text, "audit::");
}

#[test]
fn the_exit_status_is_1_when_a_control_fails_at_or_above_fail_on() {
    // The sample fails critical controls; the credential-less root fixture only medium ones.
    let quiet = [
        "--credential-report.file",
        "tests/fixtures/reports/credentialless-root.csv",
        "--account-summary.file",
        "tests/fixtures/reports/credentialless-root.summary.json",
    ];
    let cases: &[(&[&str], &str, i32)] = &[
        (&SAMPLE, "critical", 1),
        (&SAMPLE, "high", 1),
        (&SAMPLE, "low", 1),
        (&SAMPLE, "never", 0),
        (&quiet, "critical", 0),
        (&quiet, "high", 0),
        (&quiet, "medium", 1),
        (&quiet, "low", 1),
        (&quiet, "never", 0),
    ];
    for (source, fail_on, code) in cases {
        let args: Vec<&str> = source
            .iter()
            .copied()
            .chain(["--fail-on", fail_on])
            .collect();
        for format in FORMATS {
            let mut args = args.clone();
            args.extend(["--format", format]);
            let o = audit(&args);
            assert_eq!(o.status.code(), Some(*code), "{args:?}\n{}", stderr_of(&o));
            assert!(!o.stdout.is_empty(), "{args:?}");
        }
    }
    // The default is high.
    let o = audit(&quiet);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert!(
        stdout_of(&o).ends_with("Result: no control fails at or above high (--fail-on): exit 0\n")
    );
}

#[test]
fn unreadable_input_and_bad_flags_exit_2_with_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_file(dir.path(), "bad.csv", "not,a,report\n");
    let bad = bad.display().to_string();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--credential-report.file", "/nonexistent/report.csv"],
            "/nonexistent/report.csv",
        ),
        (&["--credential-report.file", &bad], "user"),
        (
            &[
                "--credential-report.file",
                "examples/credential-report.csv",
                "--account-summary.file",
                "/nonexistent/summary.json",
            ],
            "/nonexistent/summary.json",
        ),
        (&["--fail-on", "severe"], "--fail-on"),
        (&["--format", "yaml"], "--format"),
        (&["--web.listen-address", ":0"], "--web.listen-address"),
        (
            &["--account-summary.file", "s.json"],
            "--credential-report.file",
        ),
    ];
    for (args, names) in cases {
        for format in FORMATS {
            let mut args = args.to_vec();
            if !args.contains(&"--format") {
                args.extend(["--format", format]);
            }
            let o = audit(&args);
            let err = stderr_of(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(o.stdout.is_empty(), "{args:?}: stdout {}", stdout_of(&o));
            let lines: Vec<&str> = err.lines().collect();
            assert_eq!(lines.len(), 1, "{args:?}: want one line, got:\n{err}");
            assert!(
                lines[0].starts_with("aws-iam-exporter: error: ") && lines[0].contains(names),
                "{args:?}: {err}"
            );
        }
    }
    // A bad fixed clock is a usage error too.
    let o = audit_cmd(None, &SAMPLE)
        .env("AWS_IAM_EXPORTER_NOW", "yesterday")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_of(&o).contains("AWS_IAM_EXPORTER_NOW"));
}

#[test]
fn once_and_the_plain_help_are_unchanged_by_the_subcommand() {
    let o = exporter_cmd(None)
        .current_dir(repo_root())
        .args(["--once"])
        .args(SAMPLE)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert!(stdout_of(&o).contains("aws_iam_control_failing{"));
    let help = exporter_cmd(None).arg("--help").output().unwrap();
    let help = stdout_of(&help);
    assert!(help.contains("--web.listen-address"), "{help}");
    assert!(help.contains("audit"), "{help}");
    let help = exporter_cmd(None)
        .args(["audit", "--help"])
        .output()
        .unwrap();
    let help = stdout_of(&help);
    for flag in [
        "--format",
        "--fail-on",
        "--max-offenders",
        "--cis-version",
        "--credential-report.file",
        "--config.file",
        "--control.access-key-max-age",
    ] {
        assert!(
            help.contains(flag),
            "{flag} missing from audit --help:\n{help}"
        );
    }
}

#[test]
fn no_color_turns_the_colour_of_a_terminal_off() {
    // Piped, the table has no colour either way; with a terminal, colour unless NO_COLOR.
    let Some(coloured) = on_a_terminal(&[]) else {
        missing_prerequisite(
            "a pseudo-terminal",
            "openpty(3) failed: is /dev/pts mounted?",
        );
        return;
    };
    assert!(coloured.contains("\x1b[1;31mFAIL\x1b[0m"), "{coloured:?}");
    let plain = on_a_terminal(&[("NO_COLOR", "1")]).unwrap();
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(
        plain.contains("FAIL     critical  root_access_key"),
        "{plain}"
    );
}

/// Runs the sample's audit with stdout on a pseudo-terminal; returns what it printed.
fn on_a_terminal(env: &[(&str, &str)]) -> Option<String> {
    use std::io::Read as _;
    use std::os::fd::{FromRawFd as _, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors, which are owned below and nowhere else.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: fresh descriptors from openpty, owned only here.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = audit_cmd(None, &SAMPLE);
    cmd.stdout(slave);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // The command holds the slave end until dropped: drop it so that reading ends (EIO) when
    // the child exits.
    drop(cmd);
    let reader = std::thread::spawn(move || {
        let mut file = std::fs::File::from(master);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = file.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    });
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let out = reader.join().unwrap();
    // The terminal turns \n into \r\n.
    Some(String::from_utf8_lossy(&out).replace("\r\n", "\n"))
}

#[test]
fn every_account_of_the_config_file_gets_a_section_and_one_that_fails_exits_2() {
    let s = Scenario::start();
    for (id, users) in [
        ("111111111111", 1),
        ("222222222222", 2),
        ("333333333333", 3),
    ] {
        let a = s.account(id);
        a.seed_users(users, days_ago(400), days_ago(200));
        if id == "333333333333" {
            a.deny_assume_role("arn:aws:iam::333333333333:role/IamExporter");
        }
    }
    let config = repo_root().join("tests/fixtures/multi/three-roles-one-denied.yml");
    let config = config.display().to_string();
    let o = audit_cmd(Some(&s.endpoint()), &["--config.file", &config])
        .output()
        .unwrap();
    let (out, err) = (stdout_of(&o), stderr_of(&o));
    assert_eq!(o.status.code(), Some(2), "{out}\n{err}");
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("aws-iam-exporter: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("account 333333333333"), "{err}");
    let headings: Vec<&str> = out.lines().filter(|l| l.starts_with("Account ")).collect();
    assert_eq!(
        headings,
        [
            "Account 111111111111 \"one\"",
            "Account 222222222222 \"two\""
        ],
        "{out}"
    );
    assert!(out.contains("u1 (access_key_1, last used "), "{out}");
    let result = out.lines().last().unwrap_or_default();
    assert!(
        result.starts_with("Result: 1 account could not be read; ") && result.ends_with("exit 2"),
        "{out}"
    );

    let o = audit_cmd(
        Some(&s.endpoint()),
        &["--config.file", &config, "--format", "json"],
    )
    .output()
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&o)).unwrap();
    assert_eq!(v["exit_code"], 2);
    assert_eq!(v["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(v["accounts"][1]["account_name"], "two");
    assert_eq!(v["accounts"][1]["users"], 2);
    assert!(v["errors"][0].as_str().unwrap().contains("333333333333"));
}

#[test]
fn audit_asks_organizations_features_as_the_daemon_does_and_decides_root_credentials_management() {
    let s = Scenario::start();
    let status = |s: &Scenario| {
        let o = audit_cmd(
            Some(&s.endpoint()),
            &["--format", "json", "--fail-on", "never"],
        )
        .output()
        .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout_of(&o)).unwrap();
        let controls = v["accounts"][0]["controls"].as_array().unwrap().clone();
        let c = controls
            .iter()
            .find(|c| c["id"] == "root_credentials_management")
            .expect("the control is listed");
        c["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(status(&s), "pass", "RootCredentialsManagement is enabled");
    assert_eq!(s.calls("ListOrganizationsFeatures"), 1);
    s.set_organization_features(Some(OrganizationFeatures {
        organization_id: "o-a1b2c3d4e5".into(),
        enabled: vec!["RootSessions".into()],
    }));
    assert_eq!(status(&s), "fail");
    // A member account is refused: unknown, as in the daemon, and not an unreadable input.
    s.set_organization_features(None);
    assert_eq!(status(&s), "unknown");
}
