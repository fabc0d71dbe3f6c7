//! AWS trouble: throttling, server errors, AccessDenied, hanging calls, SIGTERM during a call.

use super::*;

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
    e.assert_no_refresh_succeeded(&m);
    assert_eq!(s.calls("GetAccountSummary"), 3);
}

#[test]
fn persistent_server_errors_keep_the_last_good_data_and_recovery_is_automatic() {
    let (s, mut e) = daemon_with_users(3, &["--aws.max-attempts=1"]);

    s.push_faults("GetAccountSummary", Fault::service_failure(), 100_000);
    // A change AWS would show, which the exporter cannot see while failing.
    s.set_report(report_with_users(RootRow::default(), 7));
    let m = wait_failed_keeping_users(&mut e, 3);
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
    e.assert_no_refresh_succeeded(&m);
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
