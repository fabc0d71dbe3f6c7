//! The signals that page, within a minute: fast checks re-read GetAccountSummary and the
//! quarantine lookup on their own cadence (`--refresh.fast-interval`), apart from the full
//! refresh, republish only what changed, keep the last good values when a call fails, and never
//! wait for a long full refresh.

use super::*;

const V4: &str = "AWSCompromisedKeyQuarantineV4";

/// A daemon whose full refresh is an hour away and whose fast checks run every second.
fn fast_daemon(s: &Scenario, extra: &[&str]) -> Exporter {
    let mut args = vec!["--refresh.interval=1h", "--refresh.fast-interval=1s"];
    args.extend_from_slice(extra);
    let mut e = daemon(s, &args);
    e.wait_ready(Duration::from_secs(10));
    e
}

/// Waits until `name{account}` is `want` (10 s at most).
fn wait_for(e: &mut Exporter, name: &str, want: f64) {
    e.wait_for_metric(name, &[ACCT], Duration::from_secs(10), |v| v == want);
}

fn leaked_key_quarantine() -> PolicyAttachment {
    PolicyAttachment::aws(V4, PolicyEntity::user("leaked"))
}

#[test]
fn a_root_key_and_a_quarantine_appear_at_the_fast_cadence_without_a_full_refresh() {
    let s = Scenario::start();
    s.set_report(report_with_users(RootRow::default(), 3));
    let mut e = fast_daemon(&s, &[]);
    let m = e.scrape();
    assert_eq!(val(&m, "aws_iam_root_access_keys_present", &[ACCT]), 0.0);
    assert_eq!(val(&m, "aws_iam_quarantined_users", &[ACCT]), 0.0);

    let t0 = Instant::now();
    s.set_summary("AccountAccessKeysPresent", 1);
    s.attach_policy(leaked_key_quarantine());
    wait_for(&mut e, "aws_iam_root_access_keys_present", 1.0);
    e.wait_for_metric(
        "aws_iam_user_quarantined",
        &[ACCT, ("user", "leaked"), ("policy", V4)],
        Duration::from_secs(10),
        |v| v == 1.0,
    );
    println!(
        "fast check: root key and quarantine on /metrics {:.1}s after the change (fast interval 1s)",
        t0.elapsed().as_secs_f64()
    );
    let m = e.scrape();
    assert_eq!(control(&m, "root_access_key"), Some(1.0));
    assert_eq!(control(&m, "exposed_key_quarantine"), Some(1.0));
    // The rest of the account is the full refresh's, which did not run again.
    assert_eq!(val(&m, "aws_iam_users", &[ACCT]), 3.0);
    assert_eq!(s.calls("GenerateCredentialReport"), 1);
    assert_eq!(s.calls("GetCredentialReport"), 1);
    assert_eq!(
        val(
            &m,
            "aws_iam_exporter_refreshes_total",
            &[ACCT, ("result", "success")]
        ),
        1.0
    );
    assert_eq!(val(&m, "aws_iam_exporter_fast_check_success", &[ACCT]), 1.0);
    assert!(val(&m, "aws_iam_exporter_fast_check_updates_total", &[ACCT]) >= 1.0);

    // Both fixed: gone at the same cadence.
    s.set_summary("AccountAccessKeysPresent", 0);
    s.detach_policy(&aws_policy_arn(V4), &PolicyEntity::user("leaked"));
    wait_for(&mut e, "aws_iam_quarantined_users", 0.0);
    wait_for(&mut e, "aws_iam_root_access_keys_present", 0.0);
    assert!(metric_samples(&e.scrape(), "aws_iam_user_quarantined").is_empty());
}

#[test]
fn an_unchanged_fast_check_costs_two_calls_and_publishes_nothing() {
    let s = Scenario::start();
    let mut e = fast_daemon(&s, &[]);
    // The first check is a second after the start; let a few run.
    wait_for(&mut e, "aws_iam_exporter_fast_check_success", 1.0);
    s.reset_calls();
    std::thread::sleep(Duration::from_millis(3500));
    let calls = s.all_calls();
    let n = calls.get("GetAccountSummary").copied().unwrap_or(0);
    assert!((2..=5).contains(&n), "{calls:?}");
    let expected: std::collections::BTreeMap<String, u64> =
        [("GetAccountSummary", n), ("ListPolicies", n)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    assert_eq!(calls, expected, "nothing else, no report call");
    let m = e.scrape();
    assert_eq!(
        val(&m, "aws_iam_exporter_fast_check_updates_total", &[ACCT]),
        0.0,
        "nothing changed: nothing re-rendered"
    );
    assert!(
        !e.stderr().contains("republished"),
        "an unchanged check publishes nothing:\n{}",
        e.stderr()
    );

    // A quarantine attached: one ListEntitiesForPolicy more per check, three calls.
    s.attach_policy(leaked_key_quarantine());
    wait_for(&mut e, "aws_iam_quarantined_users", 1.0);
    s.reset_calls();
    std::thread::sleep(Duration::from_millis(2500));
    let calls = s.all_calls();
    let n = calls["GetAccountSummary"];
    assert_eq!(calls.get("ListPolicies"), Some(&n), "{calls:?}");
    assert_eq!(calls.get("ListEntitiesForPolicy"), Some(&n), "{calls:?}");
    assert_eq!(calls.len(), 3, "{calls:?}");
}

#[test]
fn a_failed_fast_check_keeps_the_last_values_says_so_and_the_other_signal_still_arrives() {
    let s = Scenario::start();
    s.set_summary("AccountAccessKeysPresent", 1);
    let mut e = fast_daemon(&s, &[]);
    wait_for(&mut e, "aws_iam_exporter_fast_check_success", 1.0);
    s.deny("GetAccountSummary");
    wait_for(&mut e, "aws_iam_exporter_fast_check_success", 0.0);
    // The quarantine lookup still runs and reports.
    s.attach_policy(leaked_key_quarantine());
    wait_for(&mut e, "aws_iam_quarantined_users", 1.0);
    let m = e.scrape();
    assert_eq!(
        val(&m, "aws_iam_root_access_keys_present", &[ACCT]),
        1.0,
        "the last good summary stays served"
    );
    assert!(errors_total(&m, "GetAccountSummary", "AccessDenied").is_some_and(|n| n >= 1.0));
    assert_eq!(e.get("/readyz").0, 200);
    // Every second the same refusal: one warning, not one per check.
    std::thread::sleep(Duration::from_millis(2500));
    let warned = e
        .stderr()
        .lines()
        .filter(|l| l.contains("fast check: AWS call failed") && l.contains("GetAccountSummary"))
        .count();
    assert_eq!(warned, 1, "{}", e.stderr());
    s.allow("GetAccountSummary");
    wait_for(&mut e, "aws_iam_exporter_fast_check_success", 1.0);
}

#[test]
fn a_fast_check_does_not_wait_for_its_accounts_long_refresh_nor_is_undone_by_it() {
    let s = Scenario::start();
    let mut e = daemon(
        &s,
        &[
            "--refresh.interval=3s",
            "--refresh.fast-interval=1s",
            "--aws.timeout=60s",
        ],
    );
    e.wait_ready(Duration::from_secs(10));
    // The next refresh hangs 8 s at its download, after reading the summary (no key yet).
    s.push_faults(
        "GetCredentialReport",
        Fault::hang(Duration::from_secs(8)),
        1,
    );
    let before = s.calls("GetCredentialReport");
    assert!(
        poll_until(Duration::from_secs(10), || {
            (s.calls("GetCredentialReport") > before).then_some(())
        })
        .is_some(),
        "no refresh reached the download"
    );
    let refreshed = |e: &mut Exporter| {
        val(
            &e.scrape(),
            "aws_iam_exporter_refreshes_total",
            &[ACCT, ("result", "success")],
        )
    };
    let refreshes = refreshed(&mut e);
    let t0 = Instant::now();
    s.set_summary("AccountAccessKeysPresent", 1);
    e.wait_for_metric(
        "aws_iam_root_access_keys_present",
        &[ACCT],
        Duration::from_secs(5),
        |v| v == 1.0,
    );
    assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());
    assert_eq!(
        refreshed(&mut e),
        refreshes,
        "while the refresh still hangs"
    );

    // The refresh finishes with its older summary (no key): the fresher value stays.
    assert!(
        poll_until(Duration::from_secs(15), || {
            (refreshed(&mut e) > refreshes).then_some(())
        })
        .is_some(),
        "the hanging refresh never finished"
    );
    let m = e.scrape();
    assert_eq!(
        val(&m, "aws_iam_root_access_keys_present", &[ACCT]),
        1.0,
        "a refresh's older summary must not undo a fresher fast check\n{m}"
    );
}

#[test]
fn no_fast_check_with_the_interval_off_in_once_or_offline() {
    let s = Scenario::start();
    let mut e = daemon(
        &s,
        &["--refresh.interval=1h", "--refresh.fast-interval=off"],
    );
    e.wait_ready(Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(s.calls("GetAccountSummary"), 1, "the refresh's only");
    let m = e.scrape();
    assert!(metric_samples(&m, "aws_iam_exporter_fast_check_success").is_empty());
    drop(e);

    let m = once_ok(&s, &["--refresh.fast-interval=1s"]);
    assert!(metric_samples(&m, "aws_iam_exporter_fast_check_success").is_empty());

    let report = repo_root().join("examples/credential-report.csv");
    let mut offline = Exporter::start_with(ExporterOpts {
        args: vec![
            format!("--credential-report.file={}", report.display()),
            "--refresh.interval=1h".into(),
            "--refresh.fast-interval=1s".into(),
        ],
        ..Default::default()
    });
    offline.wait_ready(Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(1500));
    let m = offline.scrape();
    assert!(metric_samples(&m, "aws_iam_exporter_fast_check_success").is_empty());
    assert_eq!(
        val(
            &m,
            "aws_iam_exporter_refreshes_total",
            &[("result", "success")]
        ),
        1.0
    );
}
