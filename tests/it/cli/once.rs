//! `--once` on the report fixtures: exact values for the root row, the users and the aggregates;
//! bad reports refused.

use super::*;

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
    assert_samples(
        &m,
        &[
            (
                "aws_iam_root_last_used_timestamp_seconds",
                &[A, ("credential", "password")],
                1683356889.0, // 2023-05-06T07:08:09Z
            ),
            (
                "aws_iam_root_last_used_timestamp_seconds",
                &[A, ("credential", "access_key_1")],
                1669888800.0, // 2022-12-01T10:00:00Z
            ),
        ],
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
    assert_samples(
        &m,
        &[
            ("aws_iam_user_password_enabled", &[("user", "carol")], 1.0),
            ("aws_iam_user_mfa_active", &[("user", "alice")], 1.0),
            ("aws_iam_user_mfa_active", &[("user", "carol")], 0.0),
            (
                "aws_iam_user_created_timestamp_seconds",
                &[("user", "ops,bob")],
                1588655105.0,
            ),
        ],
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
    let crlf = std::fs::read(fixture("reports/full.crlf.csv")).unwrap();
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
    // The report decides 12 controls offline (user_mfa, IAM.19, among them).
    assert_eq!(metric_samples(&off, "aws_iam_control_failing").len(), 12);
}

#[test]
fn bad_reports_exit_1_with_a_message_naming_the_problem() {
    let full_len = std::fs::metadata(fixture("reports/full.csv"))
        .unwrap()
        .len();
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
        let path = fixture(&format!("reports/{file}")).display().to_string();
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
