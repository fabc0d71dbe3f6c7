//! The root user: its access keys, its last use, its MFA device; the password policy and the
//! service credentials of every user.

use super::*;

#[test]
fn an_active_root_access_key_is_reported_and_fails_the_root_access_key_control() {
    let s = Scenario::start();
    s.set_report(
        ReportBuilder::new(DEFAULT_ACCOUNT)
            .root(RootRow {
                credentials: CredentialColumns::default().key1(days_ago(400), None),
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
    assert_absent(&m, "aws_iam_password_policy_minimum_length");
    assert_eq!(control(&m, "password_policy_length"), Some(1.0));
    assert_eq!(control(&m, "password_policy_reuse"), Some(1.0));
    assert!(
        metric_samples(&m, "aws_iam_exporter_aws_errors_total").is_empty(),
        "NoSuchEntity counted as an error:\n{m}"
    );
    assert_eq!(s.calls("GetAccountPasswordPolicy"), 1);

    s.set_password_policy(Some(PasswordPolicy::default()));
    let m = once_ok(&s, &[]);
    assert_samples(
        &m,
        &[
            ("aws_iam_password_policy_present", &[ACCT], 1.0),
            ("aws_iam_password_policy_minimum_length", &[ACCT], 14.0),
            ("aws_iam_password_policy_reuse_prevention", &[ACCT], 24.0),
            (
                "aws_iam_password_policy_max_age_seconds",
                &[ACCT],
                90.0 * 86_400.0,
            ),
        ],
    );
    assert_eq!(control(&m, "password_policy_length"), Some(0.0));
    assert_eq!(control(&m, "password_policy_reuse"), Some(0.0));

    s.set_password_policy(Some(PasswordPolicy::weak()));
    let m = once_ok(&s, &[]);
    assert_samples(
        &m,
        &[
            ("aws_iam_password_policy_minimum_length", &[ACCT], 8.0),
            ("aws_iam_password_policy_reuse_prevention", &[ACCT], 0.0),
        ],
    );
    assert_absent(&m, "aws_iam_password_policy_max_age_seconds");
    assert_eq!(control(&m, "password_policy_length"), Some(1.0));
    assert_eq!(control(&m, "password_policy_reuse"), Some(1.0));
}
