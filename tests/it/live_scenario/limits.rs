//! Scale and limits: constant calls per refresh, and a report over the size limit.

use super::*;

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
        ("ListServerCertificates", 1),
        ("ListServiceSpecificCredentials", 1),
        ("ListVirtualMFADevices", 1),
        // The quarantine lookup: nothing quarantined, one call.
        ("ListPolicies", 1),
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
    let (s, mut e) = daemon_with_users(2, &["--credential-report.max-bytes=4096"]);

    let big = report_with_users(RootRow::default(), 60);
    assert!(big.len() > 4096, "{}", big.len());
    s.set_report(big);
    wait_failed_keeping_users(&mut e, 2);
    let log = e.stderr();
    assert!(
        log.lines()
            .any(|l| l.contains("level=error") && l.contains("over the limit of 4096 bytes")),
        "{log}"
    );
}
