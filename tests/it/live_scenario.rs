//! The real binary against the IAM scenario server (tests/it/common/scenario/),
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

mod alert_inputs;
mod fast_checks;
mod faults;
mod limits;
mod no_credentials;
mod organization_features;
mod paging;
mod password_policy;
mod quarantine;
mod report_states;
mod root;
mod server_certificates;
mod service_credentials;

const ACCT: (&str, &str) = ("account_id", DEFAULT_ACCOUNT);

/// How a test makes the scenario server refuse a call.
type Refuse = Box<dyn Fn(&Scenario)>;

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

fn control(text: &str, id: &str) -> Option<f64> {
    metric_value(text, "aws_iam_control_failing", &[("control", id)])
}

fn failing_resources(text: &str, id: &str) -> Option<f64> {
    metric_value(
        text,
        "aws_iam_control_failing_resources",
        &[("control", id)],
    )
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

/// A [`daemon`] with `extra` against a new scenario server whose report has `users` plain
/// users ([`report_with_users`]); returns once it is ready and exports them.
fn daemon_with_users(users: usize, extra: &[&str]) -> (Scenario, Exporter) {
    let s = Scenario::start();
    s.set_report(report_with_users(RootRow::default(), users));
    let mut e = daemon(&s, extra);
    e.wait_ready(Duration::from_secs(10));
    e.wait_for_metric("aws_iam_users", &[ACCT], Duration::from_secs(5), |v| {
        v == users as f64
    });
    (s, e)
}

/// Waits until a refresh of `e` has failed (`refresh_success` 0) and asserts that the last
/// good data is still served (`users` users); returns that scrape.
fn wait_failed_keeping_users(e: &mut Exporter, users: usize) -> String {
    e.wait_for_metric(
        "aws_iam_exporter_refresh_success",
        &[ACCT],
        Duration::from_secs(10),
        |v| v == 0.0,
    );
    let m = e.scrape();
    assert_eq!(
        val(&m, "aws_iam_users", &[ACCT]),
        users as f64,
        "last good data"
    );
    m
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
        .users_with_a_used_key(n, |i| format!("user-{i:04}"), days_ago(200), days_ago(30))
        .csv()
}

/// A service-specific credential of `user` for `service`, created `age_days` ago.
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

/// What ListOrganizationsFeatures answers with `enabled`.
fn org_features(enabled: &[&str]) -> Option<OrganizationFeatures> {
    Some(OrganizationFeatures {
        organization_id: "o-a1b2c3d4e5".into(),
        enabled: enabled.iter().map(|f| f.to_string()).collect(),
    })
}
