//! The binary's command line without AWS: `--version`, flag errors, and the
//! offline mode (`--credential-report.file`), once and as a daemon (gzip,
//! OpenMetrics, a report file that breaks and recovers, SIGTERM, TLS and basic
//! auth from `--web.config.file`).
//!
//! The report fixtures are in tests/fixtures/reports/ (account 111122223333):
//! `full.csv` (root row + 6 users: quoted `ops,bob`, `N/A`, `no_information`,
//! `not_supported`), the same report as CRLF, with an extra column, and as the
//! JSON of `aws iam get-credential-report`; `full.summary.json`; and `*.bad.*`
//! files that must be refused. `full.expected.prom` is the golden `--once`
//! output (`UPDATE_GOLDEN=1 cargo test --test it cli::` rewrites it).

use crate::common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;

const ACCOUNT: &str = "111122223333";
const A: (&str, &str) = ("account_id", ACCOUNT);

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/reports").join(name)
}

fn run(args: &[&str]) -> Output {
    exporter_cmd(None)
        .args(args)
        .output()
        .expect("run aws-iam-exporter")
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `--once` on a report (and optionally a summary) plus `extra` flags; panics
/// unless it exits 0; returns stdout.
fn once(report: &str, summary: Option<&str>, extra: &[&str]) -> String {
    let report = fixture(report);
    let mut args = vec![
        "--once".to_string(),
        "--credential-report.file".to_string(),
        report.display().to_string(),
    ];
    if let Some(s) = summary {
        args.push("--account-summary.file".into());
        args.push(fixture(s).display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&refs);
    assert!(
        o.status.success(),
        "--once {args:?} exited {:?}\n--- stderr ---\n{}",
        o.status,
        stderr_of(&o)
    );
    String::from_utf8(o.stdout).expect("stdout is UTF-8")
}

/// The value of `name` with (at least) `labels`; panics with the exposition
/// when absent.
fn val(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    metric_value(text, name, labels)
        .unwrap_or_else(|| panic!("no sample {name}{labels:?} in:\n{text}"))
}

fn control(text: &str, control: &str) -> f64 {
    val(text, "aws_iam_control_failing", &[A, ("control", control)])
}

/// Sample lines whose values change from run to run (clock, durations,
/// counters of a running daemon).
const VARYING: &[&str] = &[
    "aws_iam_exporter_last_refresh_success_timestamp_seconds",
    "aws_iam_exporter_refresh_duration_seconds",
    "aws_iam_root_last_used_seconds",
];

/// Drops the sample lines of [`VARYING`] (and of `also`), keeps their
/// `# HELP`/`# TYPE` lines, and replaces the build_info revision with
/// `REVISION`.
fn normalise(text: &str, also: &[&str]) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let sample_of = |name: &str| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        };
        if VARYING.iter().chain(also).any(|n| sample_of(n)) {
            continue;
        }
        if line.starts_with("aws_iam_exporter_build_info{") {
            let start = line.find("revision=\"").expect("revision label") + "revision=\"".len();
            let end = start + line[start..].find('"').expect("end of revision");
            out.push_str(&line[..start]);
            out.push_str("REVISION");
            out.push_str(&line[end..]);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------
// --version and flag errors
// ---------------------------------------------------------------------------

#[test]
fn version_prints_the_version_and_the_revision_that_build_info_reports() {
    let o = run(&["--version"]);
    assert!(o.status.success(), "{o:?}");
    let out = String::from_utf8(o.stdout).unwrap();
    let prefix = format!("aws-iam-exporter {} (revision ", env!("CARGO_PKG_VERSION"));
    assert!(out.starts_with(&prefix), "{out:?}");
    assert!(out.ends_with(")\n"), "{out:?}");
    let revision = &out[prefix.len()..out.len() - 2];
    assert!(
        revision == "unknown"
            || (revision.len() >= 7 && revision.bytes().all(|b| b.is_ascii_hexdigit())),
        "revision {revision:?}"
    );
    let metrics = once("full.csv", None, &[]);
    assert_eq!(
        val(
            &metrics,
            "aws_iam_exporter_build_info",
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("revision", revision)
            ]
        ),
        1.0
    );
}

/// Lines clap adds after its error line: hints, not errors.
fn is_clap_hint(line: &str) -> bool {
    let l = line.trim();
    l.is_empty()
        || l.starts_with("Usage:")
        || l.starts_with("For more information")
        || l.starts_with("[possible values:")
        || l.starts_with("tip:")
}

#[test]
fn bad_flags_and_config_keys_exit_2_with_one_error_line_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let typo = write_file(
        dir.path(),
        "typo.yml",
        "accounts:\n  - role_arn: arn:aws:iam::222222222222:role/IamExporter\n    nmae: prod\n",
    );
    let typo = typo.display().to_string();
    let report = fixture("full.csv").display().to_string();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--refresh.interval", "soon"],
            vec!["--refresh.interval", "soon"],
        ),
        (vec!["--no-such-flag"], vec!["--no-such-flag"]),
        (
            vec!["--shard.index", "3", "--shard.count", "2"],
            vec!["--shard.index", "3", "--shard.count 2"],
        ),
        (
            vec!["--metrics.per-user", "maybe"],
            vec!["--metrics.per-user", "maybe"],
        ),
        (vec!["--config.file", &typo], vec!["--config.file", "nmae"]),
        (
            vec!["--credential-report.file", &report, "--config.file", &typo],
            vec!["--config.file"],
        ),
        (
            vec!["--credential-report.max-bytes", "10"],
            vec!["--credential-report.max-bytes", "1024"],
        ),
        // Out of range: a usage error at parse time, never a panic (exit 101) later.
        (
            vec!["--aws.timeout", "100000000000y", "--once"],
            vec!["--aws.timeout", "at most 1h"],
        ),
        (
            vec!["--control.password-min-length=-5"],
            vec!["--control.password-min-length"],
        ),
        // Flags that help keep their help: the possible values, the missing flag, the tip.
        (
            vec!["--log.level", "verbose"],
            vec!["--log.level", "possible values", "debug"],
        ),
        (
            vec!["--web.listen-adress", ":1"],
            vec!["--web.listen-adress", "--web.listen-address"],
        ),
        (
            vec!["--account-summary.file", "x.json"],
            vec!["--credential-report.file"],
        ),
        (
            vec![
                "--once",
                "--credential-report.file",
                &report,
                "--web.config.file",
                "w.yml",
            ],
            vec!["--web.config.file", "--once"],
        ),
    ];
    for (args, names) in cases {
        let o = run(&args);
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {o:?}\n{err}");
        assert!(o.stdout.is_empty(), "{args:?}: stdout {:?}", o.stdout);
        let errors: Vec<&str> = err.lines().filter(|l| !is_clap_hint(l)).collect();
        assert_eq!(
            errors.len(),
            1,
            "{args:?}: want exactly one error line, got:\n{err}"
        );
        assert_eq!(err.lines().count(), 1, "{args:?}: one line in all:\n{err}");
        let line = errors[0];
        assert!(line.contains("error"), "{args:?}: {line}");
        for n in names {
            assert!(
                line.contains(n),
                "{args:?}: the error line must name {n:?}: {line}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// --once on report fixtures
// ---------------------------------------------------------------------------

#[test]
fn a_full_report_gives_exact_root_user_and_key_values() {
    let m = once("full.csv", None, &[]);
    // Root: key 1 exists but is inactive; no summary, so "present" comes from
    // the report's active keys.
    assert_eq!(val(&m, "aws_iam_root_access_keys_present", &[A]), 0.0);
    assert_eq!(
        val(&m, "aws_iam_root_access_key_active", &[A, ("key", "1")]),
        0.0
    );
    assert_eq!(
        val(&m, "aws_iam_root_access_key_active", &[A, ("key", "2")]),
        0.0
    );
    assert_eq!(val(&m, "aws_iam_root_mfa_enabled", &[A]), 1.0);
    assert_eq!(metric_value(&m, "aws_iam_root_password_present", &[]), None);
    assert_eq!(
        val(
            &m,
            "aws_iam_root_last_used_timestamp_seconds",
            &[A, ("credential", "password")]
        ),
        1683356889.0 // 2023-05-06T07:08:09Z
    );
    assert_eq!(
        val(
            &m,
            "aws_iam_root_last_used_timestamp_seconds",
            &[A, ("credential", "access_key_1")]
        ),
        1669888800.0 // 2022-12-01T10:00:00Z
    );
    assert_eq!(
        metric_value(
            &m,
            "aws_iam_root_last_used_timestamp_seconds",
            &[("credential", "access_key_2")]
        ),
        None
    );
    // Aggregates over the 6 users.
    for (name, want) in [
        ("aws_iam_users", 6.0),
        ("aws_iam_users_with_multiple_active_keys", 1.0),
        ("aws_iam_console_users", 2.0),
        ("aws_iam_console_users_without_mfa", 1.0),
        ("aws_iam_console_users_never_signed_in", 1.0),
        ("aws_iam_active_access_keys", 4.0),
        ("aws_iam_active_access_keys_never_used", 2.0),
    ] {
        assert_eq!(val(&m, name, &[A]), want, "{name}");
    }
    // Per user: a quoted name with a comma is one user.
    for (user, keys) in [
        ("alice", 1.0),
        ("ops,bob", 2.0),
        ("carol", 1.0),
        ("dave", 0.0),
        ("erin", 0.0),
        ("frank", 0.0),
    ] {
        assert_eq!(
            val(&m, "aws_iam_user_active_access_keys", &[A, ("user", user)]),
            keys,
            "{user}"
        );
    }
    assert_eq!(
        metric_samples(&m, "aws_iam_user_active_access_keys").len(),
        6
    );
    assert_eq!(
        val(&m, "aws_iam_user_password_enabled", &[("user", "carol")]),
        1.0
    );
    assert_eq!(
        val(&m, "aws_iam_user_mfa_active", &[("user", "alice")]),
        1.0
    );
    assert_eq!(
        val(&m, "aws_iam_user_mfa_active", &[("user", "carol")]),
        0.0
    );
    assert_eq!(
        val(
            &m,
            "aws_iam_user_created_timestamp_seconds",
            &[("user", "ops,bob")]
        ),
        1588655105.0
    );
    // Only a dated password use is a sample (carol: no_information, frank: not_supported).
    let pw = metric_samples(&m, "aws_iam_user_password_last_used_timestamp_seconds");
    assert_eq!(pw.len(), 1, "{pw:?}");
    assert_eq!(pw[0].labels["user"], "alice");
    assert_eq!(pw[0].value, 1705307400.0);
    // Keys: only active ones; ops,bob's key 2 never used.
    assert_eq!(
        val(
            &m,
            "aws_iam_access_key_never_used",
            &[("user", "ops,bob"), ("key", "2")]
        ),
        1.0
    );
    assert_eq!(
        val(
            &m,
            "aws_iam_access_key_never_used",
            &[("user", "ops,bob"), ("key", "1")]
        ),
        0.0
    );
    assert_eq!(
        val(
            &m,
            "aws_iam_access_key_last_used_timestamp_seconds",
            &[("user", "alice"), ("key", "1")]
        ),
        1704905100.0
    );
    assert_eq!(
        val(
            &m,
            "aws_iam_access_key_last_rotated_timestamp_seconds",
            &[("user", "ops,bob"), ("key", "2")]
        ),
        1691482088.0
    );
    assert_eq!(
        metric_value(
            &m,
            "aws_iam_access_key_last_rotated_timestamp_seconds",
            &[("user", "erin")]
        ),
        None,
        "erin's keys are inactive"
    );
    assert_eq!(
        metric_samples(&m, "aws_iam_access_key_never_used").len(),
        4,
        "one series per active key"
    );
    // Controls that do not depend on a summary or the password policy.
    assert_eq!(control(&m, "root_access_key"), 0.0);
    assert_eq!(control(&m, "root_mfa"), 0.0);
    assert_eq!(control(&m, "root_recent_use"), 0.0);
    assert_eq!(control(&m, "console_user_mfa"), 1.0);
    assert_eq!(control(&m, "initial_access_key"), 1.0, "carol's key");
    assert_eq!(control(&m, "multiple_active_keys"), 1.0);
    assert_eq!(control(&m, "access_key_rotation"), 1.0);
    assert_eq!(control(&m, "console_user_never_signed_in"), 1.0);
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing_resources",
            &[A, ("control", "access_key_rotation")]
        ),
        3.0
    );
    // Offline: no password policy, no MFA device list, no summary, no GeneratedTime.
    for absent in [
        "aws_iam_password_policy_present",
        "aws_iam_root_hardware_mfa_enabled",
        "aws_iam_account_summary",
        "aws_iam_credential_report_generated_timestamp_seconds",
    ] {
        assert_eq!(metric_value(&m, absent, &[]), None, "{absent}");
    }
    assert_eq!(
        metric_value(
            &m,
            "aws_iam_control_failing",
            &[("control", "password_policy_length")]
        ),
        None
    );
    assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[A]), 1.0);
    assert_eq!(
        val(
            &m,
            "aws_iam_exporter_refreshes_total",
            &[A, ("result", "success")]
        ),
        1.0
    );
}

#[test]
fn a_summary_file_decides_root_keys_and_adds_every_summary_entry() {
    let m = once("full.csv", Some("full.summary.json"), &[]);
    // The report shows no active root key; the summary counts the inactive one.
    assert_eq!(val(&m, "aws_iam_root_access_keys_present", &[A]), 1.0);
    assert_eq!(
        val(&m, "aws_iam_root_access_key_active", &[A, ("key", "1")]),
        0.0
    );
    assert_eq!(control(&m, "root_access_key"), 1.0);
    assert_eq!(val(&m, "aws_iam_root_password_present", &[A]), 1.0);
    assert_eq!(val(&m, "aws_iam_root_mfa_enabled", &[A]), 1.0);
    assert_eq!(
        val(&m, "aws_iam_account_summary", &[A, ("key", "Users")]),
        6.0
    );
    assert_eq!(
        val(&m, "aws_iam_account_summary", &[A, ("key", "Roles")]),
        17.0
    );
    assert_eq!(metric_samples(&m, "aws_iam_account_summary").len(), 34);
    assert_eq!(val(&m, "aws_iam_users", &[A]), 6.0);
}

/// The README's Quick start runs the daemon on `examples/`; this keeps the
/// sample parsing and failing what the README says it fails. Only verdicts that
/// the passing of time cannot undo are asserted: creation-time, MFA and key
/// facts, and age-based failures (an old credential only gets older). Passes of
/// the age-based controls would turn into failures as the sample's dates age.
#[test]
fn the_readme_sample_in_examples_parses_and_fails_the_intended_controls() {
    let dir = repo_root().join("examples");
    let report = dir.join("credential-report.csv");
    let summary = dir.join("account-summary.json");
    let o = run(&[
        "--once",
        "--credential-report.file",
        report.to_str().expect("UTF-8 path"),
        "--account-summary.file",
        summary.to_str().expect("UTF-8 path"),
    ]);
    assert!(o.status.success(), "--once on examples/: {}", stderr_of(&o));
    let m = String::from_utf8(o.stdout).expect("stdout is UTF-8");
    let a = ("account_id", "123456789012");
    let failing = |c: &str| val(&m, "aws_iam_control_failing", &[a, ("control", c)]);
    let resources = |c: &str| {
        val(
            &m,
            "aws_iam_control_failing_resources",
            &[a, ("control", c)],
        )
    };

    for (name, want) in [
        ("aws_iam_users", 13.0),
        ("aws_iam_console_users", 7.0),
        ("aws_iam_console_users_without_mfa", 3.0),
        ("aws_iam_console_users_never_signed_in", 1.0),
        ("aws_iam_active_access_keys", 9.0),
        ("aws_iam_active_access_keys_never_used", 2.0),
        ("aws_iam_users_with_multiple_active_keys", 1.0),
        ("aws_iam_root_access_keys_present", 1.0),
        ("aws_iam_root_mfa_enabled", 0.0),
    ] {
        assert_eq!(val(&m, name, &[a]), want, "{name}");
    }
    // The quoted user name with a comma is one user, not two columns.
    assert_eq!(
        val(
            &m,
            "aws_iam_user_active_access_keys",
            &[a, ("user", "ci,runner")]
        ),
        2.0
    );
    assert_eq!(
        val(&m, "aws_iam_account_summary", &[a, ("key", "Users")]),
        13.0
    );
    // (control, failing resources today and forever after)
    for (c, n) in [
        ("root_access_key", 1.0),
        ("root_mfa", 1.0),
        ("root_hardware_mfa", 1.0),
        ("console_user_mfa", 3.0),             // bob, dan, frank
        ("initial_access_key", 1.0),           // dan
        ("console_user_never_signed_in", 1.0), // dan
        ("multiple_active_keys", 1.0),         // ci,runner
    ] {
        assert_eq!(failing(c), 1.0, "{c} should fail");
        assert_eq!(resources(c), n, "{c} failing resources");
    }
    // Age-based: these only grow as the sample's dates recede.
    for (c, at_least) in [
        ("unused_credentials_45d", 4.0), // alice, deploy-bot, frank, legacy-ftp
        ("unused_credentials_90d", 3.0), // alice, deploy-bot, frank
        ("access_key_rotation", 5.0),    // ci,runner, deploy-bot, frank, backup-svc, legacy-ftp
    ] {
        assert_eq!(failing(c), 1.0, "{c} should fail");
        assert!(resources(c) >= at_least, "{c}: {}", resources(c));
    }
    // Passes that stay passes: root last used 2026-10-28, no root certificate.
    assert_eq!(failing("root_recent_use"), 0.0);
    assert_eq!(failing("root_signing_certificate"), 0.0);
}

#[test]
fn crlf_an_extra_column_and_the_cli_json_give_the_same_samples() {
    let crlf = std::fs::read(fixture("full.crlf.csv")).unwrap();
    assert!(
        crlf.windows(2).filter(|w| w == b"\r\n").count() >= 8,
        "full.crlf.csv lost its CRLF line ends (git autocrlf?)"
    );
    let plain = normalise(&once("full.csv", None, &[]), &[]);
    assert_eq!(normalise(&once("full.crlf.csv", None, &[]), &[]), plain);
    assert_eq!(
        normalise(&once("full.extra-column.csv", None, &[]), &[]),
        plain
    );

    let json = once("full.json", None, &[]);
    assert_eq!(
        val(
            &json,
            "aws_iam_credential_report_generated_timestamp_seconds",
            &[A]
        ),
        1717243200.0 // GeneratedTime 2024-06-01T12:00:00+00:00
    );
    let without_generated: String = normalise(&json, &[])
        .lines()
        .filter(|l| !l.contains("aws_iam_credential_report_generated_timestamp_seconds"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without_generated, plain);
}

#[test]
fn per_user_off_drops_user_series_but_keeps_aggregates_and_controls() {
    let on = once("full.csv", None, &[]);
    let off = once("full.csv", None, &["--metrics.per-user=false"]);
    for prefix in ["aws_iam_user_", "aws_iam_access_key_"] {
        let leaked: Vec<&str> = off.lines().filter(|l| l.starts_with(prefix)).collect();
        assert!(
            leaked.is_empty(),
            "per-user series with per-user off: {leaked:?}"
        );
        assert!(
            on.lines().any(|l| l.starts_with(prefix)),
            "{prefix} with per-user on"
        );
    }
    for name in [
        "aws_iam_users",
        "aws_iam_users_with_multiple_active_keys",
        "aws_iam_console_users_without_mfa",
        "aws_iam_active_access_keys",
        "aws_iam_active_access_keys_never_used",
        "aws_iam_root_access_keys_present",
    ] {
        assert_eq!(val(&off, name, &[A]), val(&on, name, &[A]), "{name}");
    }
    assert_eq!(val(&off, "aws_iam_users", &[A]), 6.0);
    assert_eq!(
        metric_samples(&off, "aws_iam_control_failing"),
        metric_samples(&on, "aws_iam_control_failing")
    );
    assert_eq!(metric_samples(&off, "aws_iam_control_failing").len(), 11);
}

#[test]
fn bad_reports_exit_1_with_a_message_naming_the_problem() {
    let full_len = std::fs::metadata(fixture("full.csv")).unwrap().len();
    assert!(
        full_len > 1024,
        "full.csv must be over the 1024-byte limit used below"
    );
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "missing-column.bad.csv",
            &[],
            &["missing required column `user`"],
        ),
        ("bad-base64.bad.json", &[], &["Content", "not valid base64"]),
        ("not-csv.bad.csv", &[], &["not CSV", "line: 3"]),
        (
            "full.csv",
            &["--credential-report.max-bytes", "1024"],
            &["over the limit of 1024 bytes"],
        ),
        (
            "does-not-exist.csv",
            &[],
            &["does-not-exist.csv", "No such file"],
        ),
    ];
    for (file, extra, wants) in cases {
        let path = fixture(file).display().to_string();
        let mut args = vec!["--once", "--credential-report.file", &path];
        args.extend_from_slice(extra);
        let o = run(&args);
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(1), "{file}: {o:?}\n{err}");
        assert!(
            o.stdout.is_empty(),
            "{file}: no exposition on failure, got {}",
            String::from_utf8_lossy(&o.stdout)
        );
        let line = err
            .lines()
            .find(|l| l.starts_with("aws-iam-exporter: error: "))
            .unwrap_or_else(|| panic!("{file}: no `aws-iam-exporter: error:` line in\n{err}"));
        for w in *wants {
            assert!(line.contains(w), "{file}: {w:?} not in {line:?}");
        }
        // One line: no daemon wording, the path said once.
        assert_eq!(err.lines().count(), 1, "{file}: one line in all:\n{err}");
        assert!(!err.contains("stays served"), "{file}: {err}");
        assert!(
            err.matches(file).count() <= 1,
            "{file}: the path at most once: {err}"
        );
    }
}

// ---------------------------------------------------------------------------
// Golden file and promtool
// ---------------------------------------------------------------------------

#[test]
fn once_output_of_the_full_fixture_matches_the_golden_file() {
    let got = normalise(&once("full.csv", Some("full.summary.json"), &[]), &[]);
    let golden = fixture("full.expected.prom");
    assert_golden(&golden, &got, "cli::");
}

/// The promtool test that proves every root alert quiet for a credential-less root must be fed
/// what the exporter really emits for one, not hand-typed series.
#[test]
fn the_credentialless_root_alert_test_is_fed_the_series_the_exporter_emits() {
    let out = once(
        "credentialless-root.csv",
        Some("credentialless-root.summary.json"),
        &[],
    );
    let emitted: std::collections::BTreeSet<String> = out
        .lines()
        .filter(|l| l.starts_with("aws_iam_root_"))
        .map(str::to_owned)
        .collect();
    assert!(emitted.contains("aws_iam_root_credentials_present{account_id=\"777788889999\"} 0"));
    assert_eq!(
        control(&out.replace("777788889999", ACCOUNT), "root_mfa"),
        0.0
    );
    let path = repo_root().join("alerts/tests/root.test.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let case = yaml["tests"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|t| {
            t["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("credential-less root"))
        })
        .expect("a `credential-less root` test in alerts/tests/root.test.yml");
    let fed: std::collections::BTreeSet<String> = case["input_series"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| {
            let series = s["series"]
                .as_str()
                .unwrap()
                .replace(",job=\"aws-iam-exporter\",instance=\"exporter-a:9741\"", "");
            let values = s["values"].as_str().unwrap();
            let first = values.split(['x', ' ']).next().unwrap_or_default();
            format!("{series} {first}")
        })
        .collect();
    assert_eq!(
        fed,
        emitted,
        "regenerate the input series of {} from `--once` on the fixture",
        path.display()
    );
}

#[test]
fn once_output_passes_promtool_check_metrics() {
    let Some(promtool) = require_tool("PROMTOOL", &["promtool"]) else {
        return;
    };
    for (report, summary) in [("full.csv", Some("full.summary.json")), ("full.json", None)] {
        assert_promtool_check_metrics_clean(&promtool, &once(report, summary, &[]), report);
    }
}

// ---------------------------------------------------------------------------
// Offline daemon
// ---------------------------------------------------------------------------

/// Replaces `path` atomically (write a sibling, rename).
fn replace_file(path: &Path, contents: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn start_offline(report: &Path, extra: &[&str]) -> Exporter {
    let mut args = vec![
        "--credential-report.file".to_string(),
        report.display().to_string(),
        "--refresh.interval=1s".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Exporter::start_with(ExporterOpts {
        args,
        ..Default::default()
    })
}

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_string(&mut out)
        .expect("valid gzip");
    out
}

#[test]
fn offline_daemon_serves_the_report_plain_gzipped_and_as_openmetrics() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.csv");
    std::fs::copy(fixture("full.csv"), &report).unwrap();
    let mut e = start_offline(&report, &[]);
    e.wait_ready(Duration::from_secs(10));
    assert_eq!(e.get("/healthz").0, 200);

    let plain = e.request("/metrics", &[]);
    assert_eq!(plain.status, 200);
    assert!(
        plain
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        plain.headers
    );
    assert_eq!(plain.header("content-encoding"), None);
    let plain = plain.text();
    assert_eq!(val(&plain, "aws_iam_users", &[A]), 6.0);
    assert_eq!(
        val(
            &plain,
            "aws_iam_user_active_access_keys",
            &[("user", "ops,bob")]
        ),
        2.0
    );

    // Counters and timestamps move with every 1 s refresh: compare the rest.
    let stable = |t: &str| normalise(t, &["aws_iam_exporter_refreshes_total"]);
    let gz = e.request("/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert!(gz.body.starts_with(&[0x1f, 0x8b]), "not gzip");
    assert!(gz.body.len() < plain.len() / 3, "gzip does not compress");
    assert_eq!(stable(&gunzip(&gz.body)), stable(&plain));

    let om = e.request(
        "/metrics",
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    );
    assert_eq!(om.status, 200);
    assert!(
        om.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{:?}",
        om.headers
    );
    let om = om.text();
    assert!(
        om.ends_with("# EOF\n"),
        "OpenMetrics must end with # EOF: {:?}",
        &om[om.len().saturating_sub(200)..]
    );
    assert_eq!(om.matches("# EOF").count(), 1);
    assert!(
        om.contains("# TYPE aws_iam_exporter_refreshes counter\n"),
        "{om}"
    );
    assert_eq!(val(&om, "aws_iam_users", &[A]), 6.0);

    let om_gz = e.request(
        "/metrics",
        &[
            ("Accept", "application/openmetrics-text"),
            ("Accept-Encoding", "gzip"),
        ],
    );
    assert_eq!(om_gz.header("content-encoding"), Some("gzip"));
    assert!(gunzip(&om_gz.body).ends_with("# EOF\n"));
}

#[test]
fn offline_daemon_keeps_the_last_good_data_when_the_file_breaks_and_recovers_then_stops_on_sigterm()
{
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.csv");
    let good = std::fs::read(fixture("full.csv")).unwrap();
    std::fs::write(&report, &good).unwrap();
    let mut e = start_offline(&report, &[]);
    e.wait_ready(Duration::from_secs(10));
    e.wait_for_metric(
        "aws_iam_exporter_refresh_success",
        &[A],
        Duration::from_secs(5),
        |v| v == 1.0,
    );

    replace_file(
        &report,
        &std::fs::read(fixture("missing-column.bad.csv")).unwrap(),
    );
    e.wait_for_metric(
        "aws_iam_exporter_refresh_success",
        &[A],
        Duration::from_secs(10),
        |v| v == 0.0,
    );
    let m = e.scrape();
    assert_eq!(
        val(&m, "aws_iam_users", &[A]),
        6.0,
        "last good data is served"
    );
    assert_eq!(
        val(
            &m,
            "aws_iam_user_active_access_keys",
            &[("user", "ops,bob")]
        ),
        2.0
    );
    assert!(
        val(
            &m,
            "aws_iam_exporter_refreshes_total",
            &[A, ("result", "failure")]
        ) >= 1.0
    );
    assert!(
        val(
            &m,
            "aws_iam_exporter_last_refresh_success_timestamp_seconds",
            &[A]
        ) > 0.0
    );
    assert_eq!(e.get("/readyz").0, 200, "ready stays once data exists");
    assert!(
        e.stderr().contains("missing required column `user`"),
        "{}",
        e.stderr()
    );

    replace_file(&report, &good);
    e.wait_for_metric(
        "aws_iam_exporter_refresh_success",
        &[A],
        Duration::from_secs(10),
        |v| v == 1.0,
    );

    let t = Instant::now();
    let status = e.sigterm(Duration::from_secs(5));
    let status = status.unwrap_or_else(|| panic!("no exit within 5 s of SIGTERM"));
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn sigterm_with_a_stalled_client_exits_0_once_the_5s_grace_has_passed() {
    use std::io::{Read, Write};
    let mut e = start_offline(&fixture("full.csv"), &[]);
    e.wait_ready(Duration::from_secs(10));
    // A scrape whose request never completes (slow or stuck client).
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", e.port())).unwrap();
    stalled
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let t = Instant::now();
    let status = e.sigterm(Duration::from_secs(8));
    let took = t.elapsed();
    let status = status.unwrap_or_else(|| panic!("still running 8 s after SIGTERM"));
    assert_eq!(status.code(), Some(0), "{status:?}");
    // In-flight requests get a 5 s grace (src/server.rs SHUTDOWN_GRACE), then
    // the process exits anyway.
    assert!(took < Duration::from_secs(6), "exit took {took:?}");
    let log = e.stderr();
    assert!(log.contains("SIGTERM received"), "{log}");
    assert!(log.contains("message=stopped"), "{log}");
    stalled
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        matches!(stalled.read(&mut buf), Ok(0) | Err(_)),
        "the stalled connection is closed"
    );
}

// ---------------------------------------------------------------------------
// --web.config.file: TLS + basic auth
// ---------------------------------------------------------------------------

const WEB_USER: &str = "alice";
const WEB_PASSWORD: &str = "wonderland-test-password";

fn webconfig(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/webconfig").join(name)
}

/// GET over HTTPS (trusting only the test CA) → (status, headers, body).
async fn https_get(
    port: u16,
    path: &str,
    auth: Option<(&str, &str)>,
) -> (u16, http::HeaderMap, String) {
    use http_body_util::BodyExt;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(webconfig("ca.crt")).expect("ca.crt") {
        roots.add(cert.expect("CA cert")).expect("add CA");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.expect("TLS handshake");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .expect("HTTP handshake");
    tokio::spawn(conn);
    let mut req = http::Request::builder()
        .uri(path)
        .header("host", format!("localhost:{port}"));
    if let Some((u, p)) = auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        req = req.header("authorization", format!("Basic {token}"));
    }
    let resp = sender
        .send_request(
            req.body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap(),
        )
        .await
        .expect("HTTPS request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth_guard_metrics_and_no_secret_reaches_the_log() {
    let hash = std::fs::read_to_string(webconfig("password.bcrypt")).unwrap();
    let hash = hash.trim().to_string();
    assert!(hash.starts_with("$2"), "bcrypt hash fixture: {hash}");
    let web_config = std::fs::read_to_string(webconfig("web-config.yml")).unwrap();
    assert!(
        web_config.contains(&hash),
        "web-config.yml uses password.bcrypt"
    );

    let mut e = Exporter::start_with(ExporterOpts {
        args: vec![
            "--credential-report.file".into(),
            fixture("full.csv").display().to_string(),
            "--web.config.file".into(),
            webconfig("web-config.yml").display().to_string(),
            "--log.level=debug".into(),
            "--refresh.interval=1s".into(),
        ],
        ..Default::default()
    });
    let port = e.port();
    let listening = poll_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    if listening.is_none() {
        e.assert_running("waiting for it to listen");
        panic!("exporter not listening on {port}");
    }

    // Plain HTTP to the TLS port: no metrics.
    let plain = http_request(
        "GET",
        &format!("http://127.0.0.1:{port}/metrics"),
        &[],
        None,
        Duration::from_secs(3),
    );
    match &plain {
        Err(_) => {}
        Ok(r) => assert!(
            r.status != 200 && !r.text().contains("aws_iam_users"),
            "plain HTTP got {} {}",
            r.status,
            r.text()
        ),
    }

    // Probes stay open for kubelets.
    let (status, _, _) = https_get(port, "/healthz", None).await;
    assert_eq!(status, 200);

    let (status, headers, body) = https_get(port, "/metrics", None).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        headers
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("Basic")),
        "{headers:?}"
    );
    assert!(!body.contains("aws_iam_"), "{body}");

    let (status, _, body) = https_get(port, "/metrics", Some((WEB_USER, "wrong-password"))).await;
    assert_eq!(status, 401);
    assert!(!body.contains("aws_iam_"), "{body}");
    let (status, _, _) = https_get(port, "/metrics", Some(("mallory", WEB_PASSWORD))).await;
    assert_eq!(status, 401);

    // With the right credentials (once the first refresh has published).
    let mut last = String::new();
    let mut ok = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while ok.is_none() && Instant::now() < deadline {
        let (status, headers, body) =
            https_get(port, "/metrics", Some((WEB_USER, WEB_PASSWORD))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            headers
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            Some("max-age=31536000")
        );
        ok = metric_value(&body, "aws_iam_users", &[A]);
        last = body;
        if ok.is_none() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(ok, Some(6.0), "{last}");

    let log = e.stderr();
    assert!(log.contains("listening"), "no log captured?\n{log}");
    assert!(!log.contains(&hash), "bcrypt hash in the log:\n{log}");
    assert!(!log.contains(WEB_PASSWORD), "password in the log:\n{log}");
    assert!(
        !log.contains("wrong-password"),
        "a tried password in the log:\n{log}"
    );
    let token =
        base64::engine::general_purpose::STANDARD.encode(format!("{WEB_USER}:{WEB_PASSWORD}"));
    assert!(
        !log.contains(&token),
        "Authorization header in the log:\n{log}"
    );
}

/// Starts the daemon on `listen` and returns it with the address its "listening" line gives.
fn start_logging_address(listen: &str) -> (std::process::Child, String) {
    use std::io::BufRead as _;
    let mut child = exporter_cmd(None)
        .args([
            "--credential-report.file",
            &fixture("full.csv").display().to_string(),
            "--web.listen-address",
            listen,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn aws-iam-exporter");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("listening") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(20));
    let Ok(line) = line else {
        let _ = child.kill();
        panic!("no listening line for {listen}");
    };
    let address = line
        .split_whitespace()
        .find_map(|field| field.strip_prefix("address="))
        .unwrap_or_else(|| panic!("no address= in: {line}"))
        .to_string();
    (child, address)
}

#[test]
fn the_listening_line_gives_the_bound_address_of_port_zero_and_of_a_host_name() {
    for listen in ["127.0.0.1:0", "localhost:0"] {
        let (mut child, address) = start_logging_address(listen);
        let bound: std::net::SocketAddr = address
            .parse()
            .unwrap_or_else(|e| panic!("{listen}: address={address}: {e}"));
        assert!(bound.ip().is_loopback(), "{listen}: {bound}");
        assert_ne!(bound.port(), 0, "{listen}: the flag, not the bound port");
        let url = format!("http://{bound}/healthz");
        let r = http_request("GET", &url, &[], None, Duration::from_secs(5));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(r.expect("GET /healthz").status, 200, "{listen}");
    }
}
