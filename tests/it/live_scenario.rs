//! The real binary against the IAM scenario server (tests/it/common/scenario.rs),
//! which speaks IAM's XML like AWS and lets a test set root rows, the summary,
//! the password policy, virtual MFA devices, and inject faults (throttling,
//! 500s, AccessDenied, hangs, report generation states).
//!
//! Issue these tests guard: the exporter never crashes on AWS trouble, keeps
//! serving the last good data, says what failed (operation, code, missing
//! permission) and recovers by itself.

use crate::common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::scenario::*;
use common::*;

const ACCT: (&str, &str) = ("account_id", DEFAULT_ACCOUNT);

/// `--once` against the scenario server.
fn once(s: &Scenario, args: &[&str]) -> Output {
    exporter_cmd(Some(&s.endpoint()))
        .arg("--once")
        .args(args)
        .output()
        .expect("run aws-iam-exporter --once")
}

/// `--once` that must succeed; returns the exposition.
fn once_ok(s: &Scenario, args: &[&str]) -> String {
    let o = once(s, args);
    assert!(
        o.status.success(),
        "--once {args:?} exited {:?}\n--- stderr ---\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8 exposition")
}

fn val(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    metric_value(text, name, labels)
        .unwrap_or_else(|| panic!("no sample {name}{labels:?} in:\n{text}"))
}

fn control(text: &str, id: &str) -> Option<f64> {
    metric_value(text, "aws_iam_control_failing", &[("control", id)])
}

fn errors_total(text: &str, operation: &str, code: &str) -> Option<f64> {
    metric_value(
        text,
        "aws_iam_exporter_aws_errors_total",
        &[("operation", operation), ("code", code)],
    )
}

/// A daemon against the scenario server, refreshing every second unless
/// `extra` sets `--refresh.interval`; returns once it listens.
fn daemon(s: &Scenario, extra: &[&str]) -> Exporter {
    let mut args = Vec::new();
    if !extra.iter().any(|a| a.starts_with("--refresh.interval")) {
        args.push("--refresh.interval=1s");
    }
    args.extend_from_slice(extra);
    let mut e = Exporter::start(&s.endpoint(), &args);
    e.wait_listening(Duration::from_secs(10));
    e
}

fn failures(e: &mut Exporter) -> f64 {
    metric_value(
        &e.scrape(),
        "aws_iam_exporter_refreshes_total",
        &[("result", "failure")],
    )
    .unwrap_or(0.0)
}

/// A report with a root row and `n` plain users (each with one used key).
fn report_with_users(root: RootRow, n: usize) -> String {
    ReportBuilder::new(DEFAULT_ACCOUNT)
        .root(root)
        .users((0..n).map(|i| {
            UserRow::new(&format!("user-{i:04}"))
                .created(days_ago(200))
                .key1(days_ago(30), Some(days_ago(1)))
        }))
        .csv()
}

// ---------------------------------------------------------------------------
// Root
// ---------------------------------------------------------------------------

#[test]
fn an_active_root_access_key_is_reported_and_fails_the_root_access_key_control() {
    let s = Scenario::start();
    s.set_report(
        ReportBuilder::new(DEFAULT_ACCOUNT)
            .root(RootRow {
                key1_active: true,
                key1_last_rotated: Some(days_ago(400)),
                mfa_active: true,
                ..Default::default()
            })
            .user(UserRow::new("alice"))
            .csv(),
    );
    s.set_summary("AccountAccessKeysPresent", 1);
    let m = once_ok(&s, &[]);
    assert_eq!(val(&m, "aws_iam_root_access_keys_present", &[ACCT]), 1.0);
    assert_eq!(
        val(&m, "aws_iam_root_access_key_active", &[ACCT, ("key", "1")]),
        1.0
    );
    assert_eq!(
        val(&m, "aws_iam_root_access_key_active", &[ACCT, ("key", "2")]),
        0.0
    );
    assert_eq!(control(&m, "root_access_key"), Some(1.0));
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing_resources",
            &[("control", "root_access_key")]
        ),
        1.0
    );

    // The same account without the key passes.
    s.set_report(
        ReportBuilder::new(DEFAULT_ACCOUNT)
            .root(RootRow::default())
            .user(UserRow::new("alice"))
            .csv(),
    );
    s.set_summary("AccountAccessKeysPresent", 0);
    let m = once_ok(&s, &[]);
    assert_eq!(val(&m, "aws_iam_root_access_keys_present", &[ACCT]), 0.0);
    assert_eq!(control(&m, "root_access_key"), Some(0.0));
}

#[test]
fn root_used_two_days_ago_is_172800_seconds_old_and_fails_recent_use() {
    let s = Scenario::start();
    let used = days_ago(2);
    s.set_report(
        ReportBuilder::new(DEFAULT_ACCOUNT)
            .root(RootRow {
                password_last_used: Some(used),
                ..Default::default()
            })
            .csv(),
    );
    let m = once_ok(&s, &[]);
    let age = val(&m, "aws_iam_root_last_used_seconds", &[ACCT]);
    assert!((age - 172_800.0).abs() <= 120.0, "age {age}");
    assert_eq!(
        val(
            &m,
            "aws_iam_root_last_used_timestamp_seconds",
            &[ACCT, ("credential", "password")]
        ),
        unix(used) as f64
    );
    assert_eq!(control(&m, "root_recent_use"), Some(1.0));

    // Outside a 1-day window the same use passes.
    let m = once_ok(&s, &["--control.root-recent-use=1d"]);
    assert_eq!(control(&m, "root_recent_use"), Some(0.0));
}

#[test]
fn a_virtual_mfa_device_assigned_to_root_means_no_hardware_mfa() {
    let s = Scenario::start();
    s.set_summary("AccountMFAEnabled", 1);
    s.add_virtual_mfa(VirtualMfa::user(DEFAULT_ACCOUNT, "alice"));
    let m = once_ok(&s, &[]);
    assert_eq!(val(&m, "aws_iam_root_mfa_enabled", &[ACCT]), 1.0);
    assert_eq!(val(&m, "aws_iam_root_hardware_mfa_enabled", &[ACCT]), 1.0);
    assert_eq!(control(&m, "root_hardware_mfa"), Some(0.0));

    s.add_virtual_mfa(VirtualMfa::root(DEFAULT_ACCOUNT));
    let m = once_ok(&s, &[]);
    assert_eq!(val(&m, "aws_iam_root_mfa_enabled", &[ACCT]), 1.0);
    assert_eq!(val(&m, "aws_iam_root_hardware_mfa_enabled", &[ACCT]), 0.0);
    assert_eq!(control(&m, "root_hardware_mfa"), Some(1.0));
    assert_eq!(control(&m, "root_mfa"), Some(0.0));
    assert!(
        s.requests()
            .iter()
            .filter(|r| r.action == "ListVirtualMFADevices")
            .all(|r| r.params.get("AssignmentStatus").map(String::as_str) == Some("Assigned")),
        "ListVirtualMFADevices must ask for Assigned devices only"
    );
}

#[test]
fn service_specific_credentials_of_all_users_are_counted_by_service_and_status_over_pages() {
    let s = Scenario::start();
    s.set_service_credentials(vec![
        ServiceCredentialRow::bedrock("alice", "ACCAALICE1", 10),
        ServiceCredentialRow::bedrock("bob", "ACCABOB1", 400),
        ServiceCredentialRow::bedrock("carol", "ACCACAROL1", 1),
    ]);
    s.with(|a| a.service_credentials_page_size = Some(2));
    let m = once_ok(&s, &[]);
    let bedrock_active = [
        ACCT,
        ("service", "bedrock.amazonaws.com"),
        ("status", "active"),
    ];
    assert_eq!(
        val(&m, "aws_iam_service_specific_credentials", &bedrock_active),
        3.0
    );
    assert!(
        s.calls("ListServiceSpecificCredentials") >= 2,
        "three credentials at two a page take two calls"
    );
}

#[test]
fn no_password_policy_is_an_answer_that_fails_the_policy_controls_not_an_error() {
    let s = Scenario::start();
    s.set_password_policy(None);
    let m = once_ok(&s, &[]);
    assert_eq!(val(&m, "aws_iam_password_policy_present", &[ACCT]), 0.0);
    assert_eq!(
        metric_value(&m, "aws_iam_password_policy_minimum_length", &[]),
        None
    );
    assert_eq!(control(&m, "password_policy_length"), Some(1.0));
    assert_eq!(control(&m, "password_policy_reuse"), Some(1.0));
    assert!(
        metric_samples(&m, "aws_iam_exporter_aws_errors_total").is_empty(),
        "NoSuchEntity counted as an error:\n{m}"
    );
    assert_eq!(s.calls("GetAccountPasswordPolicy"), 1);

    s.set_password_policy(Some(PasswordPolicy::default()));
    let m = once_ok(&s, &[]);
    assert_eq!(val(&m, "aws_iam_password_policy_present", &[ACCT]), 1.0);
    assert_eq!(
        val(&m, "aws_iam_password_policy_minimum_length", &[ACCT]),
        14.0
    );
    assert_eq!(
        val(&m, "aws_iam_password_policy_reuse_prevention", &[ACCT]),
        24.0
    );
    assert_eq!(
        val(&m, "aws_iam_password_policy_max_age_seconds", &[ACCT]),
        90.0 * 86_400.0
    );
    assert_eq!(control(&m, "password_policy_length"), Some(0.0));
    assert_eq!(control(&m, "password_policy_reuse"), Some(0.0));

    s.set_password_policy(Some(PasswordPolicy::weak()));
    let m = once_ok(&s, &[]);
    assert_eq!(
        val(&m, "aws_iam_password_policy_minimum_length", &[ACCT]),
        8.0
    );
    assert_eq!(
        val(&m, "aws_iam_password_policy_reuse_prevention", &[ACCT]),
        0.0
    );
    assert_eq!(
        metric_value(&m, "aws_iam_password_policy_max_age_seconds", &[]),
        None
    );
    assert_eq!(control(&m, "password_policy_length"), Some(1.0));
    assert_eq!(control(&m, "password_policy_reuse"), Some(1.0));
}

// ---------------------------------------------------------------------------
// Report generation
// ---------------------------------------------------------------------------

#[test]
fn a_report_still_being_generated_is_polled_until_complete_and_its_generated_time_exported() {
    let s = Scenario::start();
    s.set_report(report_with_users(RootRow::default(), 3));
    let generated = parse_time("2026-01-02T03:04:05Z");
    s.set_report_generated(generated);
    s.set_generate_pending(2);
    let t = Instant::now();
    let m = once_ok(&s, &[]);
    let took = t.elapsed();
    // STARTED, INPROGRESS, COMPLETE; polls after 0.5 s and 1 s.
    assert_eq!(s.calls("GenerateCredentialReport"), 3);
    assert_eq!(s.calls("GetCredentialReport"), 1);
    assert!(
        took >= Duration::from_millis(1400),
        "polled too fast: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(val(&m, "aws_iam_users", &[ACCT]), 3.0);
    // The scenario server stamps GeneratedTime when a generation completes.
    let stamped = val(
        &m,
        "aws_iam_credential_report_generated_timestamp_seconds",
        &[ACCT],
    );
    assert!(
        (stamped - unix(now()) as f64).abs() < 30.0,
        "GeneratedTime of the new report: {stamped}"
    );

    // Without a generation, GeneratedTime is what the server says.
    let s = Scenario::start();
    s.set_report_generated(generated);
    let m = once_ok(&s, &[]);
    assert_eq!(
        val(
            &m,
            "aws_iam_credential_report_generated_timestamp_seconds",
            &[ACCT]
        ),
        unix(generated) as f64
    );
}

#[test]
fn report_in_progress_not_present_or_expired_once_makes_the_exporter_regenerate_and_succeed() {
    for (fault, code) in [
        (Fault::report_in_progress(), "ReportInProgress"),
        (Fault::report_not_present(), "ReportNotPresent"),
        (Fault::report_expired(), "ReportExpired"),
    ] {
        let s = Scenario::start();
        s.set_report(report_with_users(RootRow::default(), 2));
        s.push_faults("GetCredentialReport", fault, 1);
        let m = once_ok(&s, &[]);
        assert_eq!(s.calls("GenerateCredentialReport"), 2, "{code}");
        assert_eq!(s.calls("GetCredentialReport"), 2, "{code}");
        assert_eq!(val(&m, "aws_iam_users", &[ACCT]), 2.0, "{code}");
        assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
        // What the binary does: the transient answer is counted, the refresh succeeds.
        assert_eq!(
            errors_total(&m, "GetCredentialReport", code),
            Some(1.0),
            "{code}:\n{m}"
        );
    }
}

// ---------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------

#[test]
fn throttling_is_retried_inside_the_sdk_and_the_refresh_succeeds_without_an_error() {
    let s = Scenario::start();
    s.push_faults("GetAccountSummary", Fault::throttling(), 2);
    let m = once_ok(&s, &["--aws.max-attempts=3"]);
    assert_eq!(
        s.calls("GetAccountSummary"),
        3,
        "2 throttled + 1 good attempt"
    );
    assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
    // Retries the SDK absorbed are not errors of the refresh.
    assert_eq!(
        errors_total(&m, "GetAccountSummary", "Throttling"),
        None,
        "{m}"
    );
}

#[test]
fn throttling_beyond_max_attempts_fails_the_refresh_and_counts_throttling() {
    let s = Scenario::start();
    s.push_faults("GetAccountSummary", Fault::throttling(), 3);
    let mut e = daemon(&s, &["--aws.max-attempts=3", "--refresh.interval=1h"]);
    e.wait_for_metric(
        "aws_iam_exporter_aws_errors_total",
        &[("operation", "GetAccountSummary"), ("code", "Throttling")],
        Duration::from_secs(15),
        |v| v == 1.0,
    );
    let m = e.scrape();
    assert_eq!(
        val(
            &m,
            "aws_iam_exporter_refresh_success",
            &[("account_id", "unknown")]
        ),
        0.0
    );
    assert_eq!(s.calls("GetAccountSummary"), 3);
    assert_eq!(e.get("/readyz").0, 503);
}

#[test]
fn persistent_server_errors_keep_the_last_good_data_and_recovery_is_automatic() {
    let s = Scenario::start();
    s.set_report(report_with_users(RootRow::default(), 3));
    let mut e = daemon(&s, &["--aws.max-attempts=1"]);
    e.wait_ready(Duration::from_secs(10));
    e.wait_for_metric("aws_iam_users", &[ACCT], Duration::from_secs(5), |v| {
        v == 3.0
    });

    s.push_faults("GetAccountSummary", Fault::service_failure(), 100_000);
    // A change AWS would show, which the exporter cannot see while failing.
    s.set_report(report_with_users(RootRow::default(), 7));
    e.wait_for_metric(
        "aws_iam_exporter_refresh_success",
        &[ACCT],
        Duration::from_secs(10),
        |v| v == 0.0,
    );
    let m = e.scrape();
    assert_eq!(val(&m, "aws_iam_users", &[ACCT]), 3.0, "last good data");
    assert!(
        errors_total(&m, "GetAccountSummary", "ServiceFailure").is_some_and(|v| v >= 1.0),
        "{m}"
    );
    assert_eq!(e.get("/readyz").0, 200);
    e.assert_running("the first refresh");
    assert_eq!(e.get("/healthz").0, 200);

    s.clear_faults();
    e.wait_for_metric(
        "aws_iam_exporter_refresh_success",
        &[ACCT],
        Duration::from_secs(10),
        |v| v == 1.0,
    );
    e.wait_for_metric("aws_iam_users", &[ACCT], Duration::from_secs(5), |v| {
        v == 7.0
    });
}

#[test]
fn once_on_a_denied_account_prints_one_error_line_even_when_the_organization_call_is_refused_too() {
    let s = Scenario::start();
    s.deny("GetAccountSummary");
    s.set_organization_features(None);
    let o = once(&s, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.contains("level=info")).collect();
    assert_eq!(lines.len(), 1, "one line:\n{err}");
    assert!(
        lines[0].starts_with("aws-iam-exporter: error: GetAccountSummary: AccessDenied"),
        "{err}"
    );
}

#[test]
fn access_denied_on_get_credential_report_names_the_operation_the_code_and_the_permission() {
    let s = Scenario::start();
    s.deny("GetCredentialReport");
    let mut e = daemon(&s, &[]);
    e.wait_for_metric(
        "aws_iam_exporter_aws_errors_total",
        &[
            ("operation", "GetCredentialReport"),
            ("code", "AccessDenied"),
        ],
        Duration::from_secs(10),
        |v| v >= 1.0,
    );
    let m = e.scrape();
    assert_eq!(
        val(
            &m,
            "aws_iam_exporter_refresh_success",
            &[("account_id", "unknown")]
        ),
        0.0
    );
    assert_eq!(e.get("/readyz").0, 503);
    let log = e.stderr();
    let line = log
        .lines()
        .find(|l| l.contains("level=error"))
        .unwrap_or_else(|| panic!("no error line:\n{log}"));
    for want in [
        "GetCredentialReport",
        "AccessDenied",
        "iam:GetCredentialReport",
    ] {
        assert!(line.contains(want), "{want:?} not in {line:?}");
    }

    // Granting the permission recovers without a restart.
    s.allow("GetCredentialReport");
    e.wait_ready(Duration::from_secs(10));
}

#[test]
fn access_denied_on_the_password_policy_only_is_a_partial_success() {
    let s = Scenario::start();
    s.set_report(report_with_users(RootRow::default(), 4));
    s.deny("GetAccountPasswordPolicy");
    let o = once(&s, &[]);
    assert!(o.status.success(), "{o:?}");
    let m = String::from_utf8(o.stdout).unwrap();
    assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
    assert_eq!(val(&m, "aws_iam_users", &[ACCT]), 4.0);
    assert_eq!(
        errors_total(&m, "GetAccountPasswordPolicy", "AccessDenied"),
        Some(1.0)
    );
    // Unknown policy: no policy series and no policy verdicts, the rest evaluated.
    assert_eq!(
        metric_value(&m, "aws_iam_password_policy_present", &[]),
        None
    );
    assert_eq!(control(&m, "password_policy_length"), None);
    assert_eq!(control(&m, "password_policy_reuse"), None);
    assert_eq!(control(&m, "root_mfa"), Some(0.0));
    assert_eq!(control(&m, "console_user_mfa"), Some(0.0));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        log.lines().any(|l| l.contains("level=warn")
            && l.contains("GetAccountPasswordPolicy")
            && l.contains("iam:GetAccountPasswordPolicy")),
        "{log}"
    );
}

#[test]
fn a_hanging_call_times_out_within_seconds_while_scrapes_answer_in_under_100ms() {
    let s = Scenario::start();
    let mut e = daemon(&s, &["--aws.timeout=1s", "--aws.max-attempts=1"]);
    e.wait_ready(Duration::from_secs(10));

    s.push_faults(
        "GetAccountSummary",
        Fault::hang(Duration::from_secs(30)),
        1000,
    );
    let before = failures(&mut e);
    let t = Instant::now();
    e.wait_for_metric(
        "aws_iam_exporter_refreshes_total",
        &[("result", "failure")],
        Duration::from_secs(10),
        |v| v > before,
    );
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    let m = e.scrape();
    assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 0.0);
    assert!(
        errors_total(&m, "GetAccountSummary", "Timeout").is_some_and(|v| v >= 1.0),
        "{m}"
    );

    // Every refresh now hangs for 1 s: scrapes must not wait for it.
    let calls_before = s.calls("GetAccountSummary");
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        let r = e.request("/metrics", &[]);
        let took = t.elapsed();
        assert_eq!(r.status, 200);
        assert!(r.text().contains("aws_iam_users{"), "data still served");
        slowest = slowest.max(took);
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("slowest of 20 scrapes during hanging refreshes: {slowest:?}");
    assert!(
        s.calls("GetAccountSummary") > calls_before,
        "no AWS call hung while scraping"
    );
    assert!(
        slowest < Duration::from_millis(100),
        "slowest scrape {slowest:?}"
    );
}

#[test]
fn sigterm_exits_0_within_5s_even_while_an_aws_call_hangs_and_a_scrape_is_open() {
    let s = Scenario::start();
    s.push_faults("GetAccountSummary", Fault::hang(Duration::from_secs(60)), 1);
    let mut e = daemon(&s, &[]);
    e.wait_listening(Duration::from_secs(10));
    assert!(s.wait_calls("GetAccountSummary", 1, Duration::from_secs(10)));
    // A client connected on keep-alive, between requests.
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", e.port())).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut first = [0u8; 12];
    conn.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    let t = Instant::now();
    let status = e.sigterm(Duration::from_secs(5));
    let took = t.elapsed();
    let status = status.unwrap_or_else(|| panic!("still running 5 s after SIGTERM"));
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(e.stderr().contains("SIGTERM"), "{}", e.stderr());
}

// ---------------------------------------------------------------------------
// No credentials
// ---------------------------------------------------------------------------

#[test]
fn without_credentials_the_process_stays_up_unready_with_one_clear_error_per_refresh() {
    let s = Scenario::start();
    let mut e = Exporter::start_with(ExporterOpts {
        args: vec!["--refresh.interval=1s".into()],
        aws_endpoint: Some(s.endpoint()),
        env: vec![
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_CONFIG_FILE".into(), "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()),
        ],
        env_remove: vec![
            "AWS_ACCESS_KEY_ID".into(),
            "AWS_SECRET_ACCESS_KEY".into(),
            "AWS_SESSION_TOKEN".into(),
            "AWS_PROFILE".into(),
            "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
            "AWS_ROLE_ARN".into(),
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI".into(),
            "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
        ],
        ..Default::default()
    });
    e.wait_listening(Duration::from_secs(10));
    e.wait_for_metric(
        "aws_iam_exporter_refreshes_total",
        &[("result", "failure")],
        Duration::from_secs(15),
        |v| v >= 3.0,
    );
    e.assert_running("AWS keeps failing");
    assert_eq!(e.get("/healthz").0, 200);
    assert_eq!(e.get("/readyz").0, 503);
    let m1 = e.scrape();
    let log = e.stderr();
    let m2 = e.scrape();
    assert_eq!(
        val(
            &m1,
            "aws_iam_exporter_refresh_success",
            &[("account_id", "unknown")]
        ),
        0.0
    );
    assert!(
        metric_value(
            &m1,
            "aws_iam_exporter_aws_errors_total",
            &[("code", "NoCredentials")]
        )
        .is_some_and(|v| v >= 1.0),
        "{m1}"
    );
    assert_eq!(
        s.total_calls(),
        0,
        "an unsigned request reached the endpoint"
    );
    // Failing fast means no credential provider waited on the network (IMDS, SSO...).
    let took = val(
        &m1,
        "aws_iam_exporter_refresh_duration_seconds",
        &[("account_id", "unknown")],
    );
    assert!(took < 1.0, "a refresh without credentials took {took} s");

    let errors: Vec<&str> = log.lines().filter(|l| l.contains("level=error")).collect();
    let f1 = val(
        &m1,
        "aws_iam_exporter_refreshes_total",
        &[("result", "failure")],
    );
    let f2 = val(
        &m2,
        "aws_iam_exporter_refreshes_total",
        &[("result", "failure")],
    );
    let n = errors.len() as f64;
    assert!(
        f1 <= n && n <= f2 + 1.0,
        "{n} ERROR lines for {f1}..{f2} failed refreshes:\n{log}"
    );
    assert!(
        errors[0].to_ascii_lowercase().contains("credentials"),
        "{}",
        errors[0]
    );
    // One logfmt record per line: no multi-line SDK error chains or stacks.
    for line in log.lines() {
        assert!(
            line.starts_with("ts="),
            "not a logfmt record: {line:?}\n{log}"
        );
    }
}

// ---------------------------------------------------------------------------
// Centralized root access (ListOrganizationsFeatures, exporter-level)
// ---------------------------------------------------------------------------

/// How a test makes the scenario server refuse a call.
type Refuse = Box<dyn Fn(&Scenario)>;

fn feature(text: &str, name: &str) -> Option<f64> {
    metric_value(
        text,
        "aws_iam_organization_feature_enabled",
        &[("organization_id", "o-a1b2c3d4e5"), ("feature", name)],
    )
}

fn org_features(enabled: &[&str]) -> Option<OrganizationFeatures> {
    Some(OrganizationFeatures {
        organization_id: "o-a1b2c3d4e5".into(),
        enabled: enabled.iter().map(|f| f.to_string()).collect(),
    })
}

#[test]
fn centralized_root_access_on_exports_both_features_and_passes_the_control_under_the_exporters_account()
 {
    let s = Scenario::start();
    s.set_organization_features(org_features(&["RootCredentialsManagement", "RootSessions"]));
    let m = once_ok(&s, &[]);
    assert_eq!(feature(&m, "RootCredentialsManagement"), Some(1.0));
    assert_eq!(feature(&m, "RootSessions"), Some(1.0));
    assert_eq!(
        metric_value(
            &m,
            "aws_iam_control_failing",
            &[ACCT, ("control", "root_credentials_management")]
        ),
        Some(0.0)
    );
    assert_eq!(
        metric_samples(&m, "aws_iam_control_failing")
            .iter()
            .filter(|x| x.labels["control"] == "root_credentials_management")
            .count(),
        1,
        "one control series per exporter, not per account"
    );
    assert_eq!(s.calls("ListOrganizationsFeatures"), 1);
    assert_eq!(
        metric_value(&m, "aws_iam_exporter_accounts", &[]),
        Some(1.0),
        "the organization job is not an account"
    );
}

#[test]
fn one_feature_enabled_exports_the_other_as_0_and_without_root_credentials_management_the_control_fails()
 {
    let s = Scenario::start();
    s.set_organization_features(org_features(&["RootSessions"]));
    let m = once_ok(&s, &[]);
    assert_eq!(feature(&m, "RootCredentialsManagement"), Some(0.0));
    assert_eq!(feature(&m, "RootSessions"), Some(1.0));
    assert_eq!(control(&m, "root_credentials_management"), Some(1.0));
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing_resources",
            &[ACCT, ("control", "root_credentials_management")]
        ),
        1.0
    );

    s.set_organization_features(org_features(&["RootCredentialsManagement"]));
    let m = once_ok(&s, &[]);
    assert_eq!(feature(&m, "RootCredentialsManagement"), Some(1.0));
    assert_eq!(feature(&m, "RootSessions"), Some(0.0));
    assert_eq!(control(&m, "root_credentials_management"), Some(0.0));

    // No feature at all: both present, both 0.
    s.set_organization_features(org_features(&[]));
    let m = once_ok(&s, &[]);
    assert_eq!(feature(&m, "RootCredentialsManagement"), Some(0.0));
    assert_eq!(feature(&m, "RootSessions"), Some(0.0));
    assert_eq!(control(&m, "root_credentials_management"), Some(1.0));
}

#[test]
fn each_refusal_of_list_organizations_features_leaves_it_unknown_counted_and_the_refresh_successful()
 {
    const OP: &str = "ListOrganizationsFeatures";
    let refusals: [(&str, Refuse); 5] = [
        (
            "AccountNotManagementOrDelegatedAdministratorException",
            Box::new(|s| s.set_organization_features(None)),
        ),
        (
            "OrganizationNotFoundException",
            Box::new(|s| {
                s.push_faults(
                    OP,
                    Fault::error(
                        400,
                        "OrganizationNotFoundException",
                        "not in an organization",
                    ),
                    1,
                )
            }),
        ),
        (
            "OrganizationNotInAllFeaturesModeException",
            Box::new(|s| {
                s.push_faults(
                    OP,
                    Fault::error(
                        400,
                        "OrganizationNotInAllFeaturesModeException",
                        "consolidated billing only",
                    ),
                    1,
                )
            }),
        ),
        (
            "ServiceAccessNotEnabledException",
            Box::new(|s| {
                s.push_faults(
                    OP,
                    Fault::error(
                        400,
                        "ServiceAccessNotEnabledException",
                        "trusted access for IAM is not enabled",
                    ),
                    1,
                )
            }),
        ),
        ("AccessDenied", Box::new(|s| s.deny(OP))),
    ];
    for (code, refuse) in refusals {
        let s = Scenario::start();
        refuse(&s);
        let m = once_ok(&s, &[]);
        assert_eq!(
            metric_samples(&m, "aws_iam_organization_feature_enabled").len(),
            0,
            "{code}: {m}"
        );
        assert_eq!(control(&m, "root_credentials_management"), None, "{code}");
        let counted = metric_samples(&m, "aws_iam_exporter_aws_errors_total")
            .into_iter()
            .find(|x| x.labels.get("operation").map(String::as_str) == Some(OP))
            .unwrap_or_else(|| panic!("{code} not counted:\n{m}"));
        assert_eq!(counted.labels.get("code").map(String::as_str), Some(code));
        assert_eq!(counted.value, 1.0);
        assert!(
            !counted.labels.contains_key("account_id"),
            "exporter-level: {counted:?}"
        );
        assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
        // The account's own controls are all there.
        assert_eq!(control(&m, "root_access_key"), Some(0.0), "{code}");
    }
}

#[test]
fn a_refused_organization_call_leaves_readiness_alone_and_is_logged_once_not_every_interval() {
    let s = Scenario::start();
    s.set_organization_features(None);
    let mut e = daemon(&s, &[]);
    e.wait_ready(Duration::from_secs(20));
    assert!(
        s.wait_calls("ListOrganizationsFeatures", 4, Duration::from_secs(20)),
        "asked once per interval"
    );
    let m = e.scrape();
    assert_eq!(
        metric_samples(&m, "aws_iam_organization_feature_enabled").len(),
        0
    );
    assert!(
        metric_value(
            &m,
            "aws_iam_exporter_aws_errors_total",
            &[
                ("operation", "ListOrganizationsFeatures"),
                (
                    "code",
                    "AccountNotManagementOrDelegatedAdministratorException"
                )
            ]
        )
        .is_some_and(|v| v >= 3.0),
        "{m}"
    );
    assert_eq!(e.get("/readyz").0, 200);
    // The daemon publishes the benchmark numbers too, not only --once.
    assert!(
        metric_value(
            &m,
            "aws_iam_control_info",
            &[
                ("control", "root_credentials_management"),
                ("version", "7.0.0")
            ]
        ) == Some(1.0),
        "{m}"
    );
    let log = e.stderr();
    let loud: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("ListOrganizationsFeatures")
                && (l.contains("level=warn") || l.contains("level=error"))
        })
        .collect();
    assert_eq!(loud.len(), 1, "{log}");

    // A change of answer is logged again, once.
    s.set_organization_features(org_features(&["RootCredentialsManagement"]));
    e.wait_for_metric(
        "aws_iam_organization_feature_enabled",
        &[("feature", "RootCredentialsManagement")],
        Duration::from_secs(20),
        |v| v == 1.0,
    );
    let log = e.stderr();
    assert_eq!(
        log.lines()
            .filter(
                |l| l.contains("centralized root access features read") && l.contains("level=info")
            )
            .count(),
        1,
        "{log}"
    );
}

// ---------------------------------------------------------------------------
// Service-specific credentials (ListServiceSpecificCredentials)
// ---------------------------------------------------------------------------

fn credential(
    service: &str,
    user: &str,
    id: &str,
    status: &str,
    age_days: i64,
) -> ServiceCredentialRow {
    ServiceCredentialRow {
        user: user.into(),
        service: service.into(),
        id: id.into(),
        status: status.into(),
        created: days_ago(age_days),
        expires: None,
    }
}

fn service_count(text: &str, service: &str, status: &str) -> Option<f64> {
    metric_value(
        text,
        "aws_iam_service_specific_credentials",
        &[ACCT, ("service", service), ("status", status)],
    )
}

#[test]
fn service_credentials_over_several_pages_are_counted_by_service_and_status_and_judged() {
    const BEDROCK: &str = "bedrock.amazonaws.com";
    const CODECOMMIT: &str = "codecommit.amazonaws.com";
    let s = Scenario::start();
    s.set_service_credentials(vec![
        // Active, never expires: a long-term Bedrock key, 10 days old.
        ServiceCredentialRow::bedrock("bedrock-dev", "ACCABEDROCKACTIVE0001", 10),
        // Active with an expiry in 20 days: still long-term.
        ServiceCredentialRow {
            expires: Some(days_ago(-20)),
            ..ServiceCredentialRow::bedrock("bedrock-ci", "ACCABEDROCKEXPIRING01", 10)
        },
        // Expired and inactive keys are not live.
        ServiceCredentialRow {
            expires: Some(days_ago(1)),
            ..credential(
                BEDROCK,
                "bedrock-old",
                "ACCABEDROCKEXPIRED001",
                "Expired",
                40,
            )
        },
        credential(
            BEDROCK,
            "bedrock-off",
            "ACCABEDROCKINACTIVE01",
            "Inactive",
            200,
        ),
        // CodeCommit HTTPS Git: one active and 120 days old (not rotated), one fresh.
        credential(CODECOMMIT, "anika", "ACCACODECOMMITOLD0001", "Active", 120),
        credential(CODECOMMIT, "anika", "ACCACODECOMMITNEW0001", "Active", 5),
        credential(
            "cassandra.amazonaws.com",
            "cassandra-app",
            "ACCAKEYSPACES0000001",
            "Inactive",
            400,
        ),
    ]);
    s.with(|a| a.service_credentials_page_size = Some(2));
    let m = once_ok(&s, &[]);

    // 7 credentials, 2 per page: 4 pages, each after the first with the previous Marker.
    let asked: Vec<RecordedRequest> = s
        .requests()
        .into_iter()
        .filter(|r| r.action == "ListServiceSpecificCredentials")
        .collect();
    assert_eq!(asked.len(), 4, "{asked:?}");
    assert!(
        asked
            .iter()
            .all(|r| r.params.get("AllUsers").map(String::as_str) == Some("true"))
    );
    assert_eq!(asked[0].params.get("Marker"), None);
    assert_eq!(
        asked[3].params.get("Marker").map(String::as_str),
        Some("marker-6")
    );

    assert_eq!(service_count(&m, BEDROCK, "active"), Some(2.0));
    assert_eq!(service_count(&m, BEDROCK, "expired"), Some(1.0));
    assert_eq!(service_count(&m, BEDROCK, "inactive"), Some(1.0));
    assert_eq!(service_count(&m, CODECOMMIT, "active"), Some(2.0));
    assert_eq!(
        service_count(&m, "cassandra.amazonaws.com", "inactive"),
        Some(1.0)
    );
    assert_eq!(
        metric_samples(&m, "aws_iam_service_specific_credentials").len(),
        5
    );

    let per = |name: &str, user: &str, service: &str, id: &str| {
        metric_value(
            &m,
            name,
            &[
                ACCT,
                ("user", user),
                ("service", service),
                ("credential_id", id),
            ],
        )
    };
    let created = "aws_iam_service_specific_credential_created_timestamp_seconds";
    let expires = "aws_iam_service_specific_credential_expiration_timestamp_seconds";
    assert_eq!(metric_samples(&m, created).len(), 7);
    let c = per(created, "anika", CODECOMMIT, "ACCACODECOMMITOLD0001").unwrap();
    assert!((c - unix(days_ago(120)) as f64).abs() <= 120.0, "{c}");
    assert!(per(expires, "bedrock-ci", BEDROCK, "ACCABEDROCKEXPIRING01").is_some());
    assert_eq!(
        per(expires, "bedrock-dev", BEDROCK, "ACCABEDROCKACTIVE0001"),
        None
    );
    assert_eq!(metric_samples(&m, expires).len(), 2);

    // Long-term Bedrock keys: the two active, unexpired ones.
    assert_eq!(control(&m, "bedrock_long_term_api_key"), Some(1.0));
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing_resources",
            &[("control", "bedrock_long_term_api_key")]
        ),
        2.0
    );
    // Not rotated: only the active 120-day CodeCommit credential (inactive ones are not live).
    assert_eq!(control(&m, "service_credential_rotation"), Some(1.0));
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing_resources",
            &[("control", "service_credential_rotation")]
        ),
        1.0
    );
    assert_eq!(
        errors_total(&m, "ListServiceSpecificCredentials", "AccessDenied"),
        None
    );

    // Without per-user series: the counts and controls stay, the per-credential series go.
    let m = once_ok(&s, &["--metrics.per-user=false"]);
    assert_eq!(service_count(&m, BEDROCK, "active"), Some(2.0));
    assert_eq!(metric_samples(&m, created).len(), 0);
    assert_eq!(control(&m, "bedrock_long_term_api_key"), Some(1.0));
}

#[test]
fn no_service_credentials_pass_both_controls() {
    let s = Scenario::start();
    let m = once_ok(&s, &[]);
    assert_eq!(
        metric_samples(&m, "aws_iam_service_specific_credentials").len(),
        0
    );
    assert_eq!(control(&m, "bedrock_long_term_api_key"), Some(0.0));
    assert_eq!(control(&m, "service_credential_rotation"), Some(0.0));
}

#[test]
fn a_refused_or_unsupported_service_credential_list_leaves_them_absent_counted_and_the_refresh_successful()
 {
    const OP: &str = "ListServiceSpecificCredentials";
    let refusals: [(&str, Refuse); 2] = [
        ("AccessDenied", Box::new(|s| s.deny(OP))),
        (
            "NotSupportedService",
            Box::new(|s| {
                s.push_faults(
                    OP,
                    Fault::error(
                        404,
                        "NotSupportedService",
                        "The specified service is not supported in this partition.",
                    ),
                    1,
                )
            }),
        ),
    ];
    for (code, refuse) in refusals {
        let s = Scenario::start();
        s.set_service_credentials(vec![ServiceCredentialRow::bedrock(
            "bedrock-dev",
            "ACCABEDROCKACTIVE0001",
            10,
        )]);
        refuse(&s);
        let m = once_ok(&s, &[]);
        for name in [
            "aws_iam_service_specific_credentials",
            "aws_iam_service_specific_credential_created_timestamp_seconds",
        ] {
            assert_eq!(metric_samples(&m, name).len(), 0, "{code}: {name}");
        }
        assert_eq!(control(&m, "bedrock_long_term_api_key"), None, "{code}");
        assert_eq!(control(&m, "service_credential_rotation"), None, "{code}");
        assert_eq!(errors_total(&m, OP, code), Some(1.0), "{code}: {m}");
        assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
        assert_eq!(control(&m, "root_access_key"), Some(0.0), "{code}");
    }
}

// ---------------------------------------------------------------------------
// Alert tests fed what the exporter emits
// ---------------------------------------------------------------------------

/// The series the credential alerts read, as `--once` emits them.
fn credential_alert_inputs(m: &str) -> std::collections::BTreeSet<String> {
    const CONTROLS: [&str; 3] = [
        "bedrock_long_term_api_key",
        "service_credential_rotation",
        "root_credentials_management",
    ];
    m.lines()
        .filter(|l| {
            l.starts_with("aws_iam_organization_feature_enabled{")
                || ((l.starts_with("aws_iam_control_failing{")
                    || l.starts_with("aws_iam_control_failing_resources{"))
                    && CONTROLS
                        .iter()
                        .any(|c| l.contains(&format!("control=\"{c}\""))))
        })
        .map(str::to_owned)
        .collect()
}

/// The input series of the case named `name` in `file`, less the scrape's target labels, with
/// their first value.
fn promtool_inputs(file: &str, name: &str) -> std::collections::BTreeSet<String> {
    let path = repo_root().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let case = yaml["tests"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|t| t["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no test named {name:?} in {file}"));
    case["input_series"]
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
        .collect()
}

#[test]
fn the_credential_alert_tests_are_fed_the_series_the_exporter_emits() {
    const FILE: &str = "alerts/tests/credentials.test.yml";
    // Firing: a long-term Bedrock key, a 120-day-old CodeCommit credential, and an
    // organization with privileged root sessions but no centralized root credentials.
    let s = Scenario::start();
    s.set_service_credentials(vec![
        ServiceCredentialRow::bedrock("bedrock-dev", "ACCABEDROCKACTIVE0001", 10),
        credential(
            "codecommit.amazonaws.com",
            "anika",
            "ACCACODECOMMITOLD0001",
            "Active",
            120,
        ),
    ]);
    s.set_organization_features(org_features(&["RootSessions"]));
    let out = once_ok(&s, &[]);
    if let Some(promtool) = require_tool("PROMTOOL", &["promtool"]) {
        assert_promtool_check_metrics_clean(&promtool, &out, "the credential scenario");
    }
    let firing = credential_alert_inputs(&out);
    assert_eq!(firing.len(), 8, "{firing:#?}");
    assert_eq!(
        promtool_inputs(
            FILE,
            "exporter output: Bedrock key, stale credential, centralized root access off"
        ),
        firing,
        "regenerate the input series of {FILE} from `--once` (this test's scenarios)"
    );

    // Healthy: a fresh CodeCommit credential, both features on.
    let s = Scenario::start();
    s.set_service_credentials(vec![credential(
        "codecommit.amazonaws.com",
        "anika",
        "ACCACODECOMMITNEW0001",
        "Active",
        5,
    )]);
    s.set_organization_features(org_features(&["RootCredentialsManagement", "RootSessions"]));
    let healthy = credential_alert_inputs(&once_ok(&s, &[]));
    assert_eq!(
        promtool_inputs(
            FILE,
            "exporter output: healthy credentials and organization"
        ),
        healthy,
        "regenerate the input series of {FILE} from `--once` (this test's scenarios)"
    );
}

// ---------------------------------------------------------------------------
// Scale and limits
// ---------------------------------------------------------------------------

#[test]
fn calls_per_refresh_are_the_same_for_10_and_500_users() {
    let calls = |users: usize| {
        let s = Scenario::start();
        s.set_report(report_with_users(RootRow::default(), users));
        s.set_summary("Users", users as i64);
        let m = once_ok(&s, &[]);
        assert_eq!(val(&m, "aws_iam_users", &[ACCT]), users as f64);
        s.all_calls()
    };
    let small = calls(10);
    let large = calls(500);
    assert_eq!(small, large);
    let expected: std::collections::BTreeMap<String, u64> = [
        ("GenerateCredentialReport", 1),
        ("GetAccountPasswordPolicy", 1),
        ("GetAccountSummary", 1),
        ("GetCredentialReport", 1),
        ("ListServiceSpecificCredentials", 1),
        ("ListVirtualMFADevices", 1),
        // Exporter-level, not per account: centralized root access, and the exporter's own
        // account for its control's account_id.
        ("ListOrganizationsFeatures", 1),
        ("GetCallerIdentity", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(small, expected);
    // Every call of an account's refresh is counted in the refresh deadline: a call added to
    // src/aws/account.rs and not to aws::REFRESH_CALLS fails here.
    let counted: Vec<&str> = aws_iam_exporter::aws::REFRESH_CALLS
        .iter()
        .map(|op| op.as_str())
        .collect();
    for call in small.keys().filter(|c| *c != "ListOrganizationsFeatures") {
        assert!(
            counted.contains(&call.as_str()),
            "{call} is not in aws::REFRESH_CALLS"
        );
    }
    assert_eq!(
        aws_iam_exporter::aws::CALLS_PER_REFRESH as usize,
        counted.len()
    );
}

#[test]
fn a_report_over_max_bytes_fails_the_refresh_naming_the_limit_and_keeps_the_last_good_data() {
    let s = Scenario::start();
    s.set_report(report_with_users(RootRow::default(), 2));
    let mut e = daemon(&s, &["--credential-report.max-bytes=4096"]);
    e.wait_ready(Duration::from_secs(10));
    e.wait_for_metric("aws_iam_users", &[ACCT], Duration::from_secs(5), |v| {
        v == 2.0
    });

    let big = report_with_users(RootRow::default(), 60);
    assert!(big.len() > 4096, "{}", big.len());
    s.set_report(big);
    e.wait_for_metric(
        "aws_iam_exporter_refresh_success",
        &[ACCT],
        Duration::from_secs(10),
        |v| v == 0.0,
    );
    let m = e.scrape();
    assert_eq!(val(&m, "aws_iam_users", &[ACCT]), 2.0, "last good data");
    let log = e.stderr();
    assert!(
        log.lines()
            .any(|l| l.contains("level=error") && l.contains("over the limit of 4096 bytes")),
        "{log}"
    );
}
