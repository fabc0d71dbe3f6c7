//! Paged lists that page wrongly: a truncated page that gives an empty marker ends the list at
//! once (the list is then unknown), instead of asking for the same page until the refresh's
//! deadline.

use super::*;

#[test]
fn a_truncated_virtual_mfa_page_with_an_empty_marker_ends_the_list_at_once_and_the_refresh_succeeds()
 {
    let s = Scenario::start();
    s.add_virtual_mfa(VirtualMfa::user(DEFAULT_ACCOUNT, "alice"));
    s.with(|a| a.virtual_mfa_empty_marker = true);
    let args = [
        "--aws.max-attempts=1",
        "--aws.timeout=2s",
        "--credential-report.timeout=4s",
    ];
    let o = output_within(
        exporter_cmd(Some(&s.endpoint())).arg("--once").args(args),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("--once looped: {e}"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{:?}\n{err}", o.status);
    assert_eq!(
        s.calls("ListVirtualMFADevices"),
        1,
        "the page with the empty marker was asked for again"
    );
    let m = String::from_utf8(o.stdout).unwrap();
    assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
    let errors: Vec<Sample> = metric_samples(&m, "aws_iam_exporter_aws_errors_total")
        .into_iter()
        .filter(|s| s.labels.get("operation").map(String::as_str) == Some("ListVirtualMFADevices"))
        .collect();
    assert_eq!(errors.len(), 1, "{m}");
    assert_eq!(errors[0].labels["code"], "ResponseError", "{m}");
    // The devices are unknown: root's hardware MFA cannot be decided from them.
    assert_eq!(control(&m, "root_hardware_mfa"), None, "{m}");
}

#[test]
fn the_daemon_keeps_refreshing_on_its_interval_when_a_virtual_mfa_page_has_an_empty_marker() {
    let s = Scenario::start();
    s.with(|a| a.virtual_mfa_empty_marker = true);
    let mut e = daemon(&s, &["--aws.max-attempts=1", "--aws.timeout=2s"]);
    e.wait_for_metric(
        "aws_iam_exporter_refreshes_total",
        &[ACCT, ("result", "success")],
        Duration::from_secs(15),
        |v| v >= 3.0,
    );
    let m = e.scrape();
    assert_eq!(
        metric_value(
            &m,
            "aws_iam_exporter_refreshes_total",
            &[ACCT, ("result", "failure")]
        )
        .unwrap_or(0.0),
        0.0,
        "{m}"
    );
    let refreshes = val(
        &m,
        "aws_iam_exporter_refreshes_total",
        &[ACCT, ("result", "success")],
    );
    assert!(
        s.calls("ListVirtualMFADevices") as f64 <= refreshes + 1.0,
        "{} ListVirtualMFADevices calls for {refreshes} refreshes",
        s.calls("ListVirtualMFADevices")
    );
}
