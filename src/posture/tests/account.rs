//! The password policy, user, root signing certificate, service-credential and organization
//! controls, the counts, and reports of other layouts.

use super::*;

#[test]
fn no_password_policy_fails_both_policy_controls_and_unknown_evaluates_neither() {
    let mut d = data(&[]);
    d.facts.password_policy = PolicyState::Absent;
    let p = derive_default(&d);
    assert_eq!(
        verdict(&p, ControlId::PasswordPolicyLength),
        Some((true, 1))
    );
    assert_eq!(verdict(&p, ControlId::PasswordPolicyReuse), Some((true, 1)));
    d.facts.password_policy = PolicyState::Unknown;
    let p = derive_default(&d);
    assert_eq!(verdict(&p, ControlId::PasswordPolicyLength), None);
    assert_eq!(verdict(&p, ControlId::PasswordPolicyReuse), None);
}

#[test]
fn password_policy_thresholds_are_inclusive_of_the_benchmark_values() {
    let mut d = data(&[]);
    d.facts.password_policy = PolicyState::Present(PasswordPolicy {
        minimum_length: Some(14),
        reuse_prevention: Some(24),
        ..PasswordPolicy::default()
    });
    let p = derive_default(&d);
    assert_eq!(
        verdict(&p, ControlId::PasswordPolicyLength),
        Some((false, 0))
    );
    assert_eq!(
        verdict(&p, ControlId::PasswordPolicyReuse),
        Some((false, 0))
    );
    d.facts.password_policy = PolicyState::Present(PasswordPolicy {
        minimum_length: Some(13),
        ..PasswordPolicy::default()
    });
    let p = derive_default(&d);
    assert_eq!(
        verdict(&p, ControlId::PasswordPolicyLength),
        Some((true, 1))
    );
    assert_eq!(verdict(&p, ControlId::PasswordPolicyReuse), Some((true, 1)));
}

#[test]
fn console_users_without_mfa_fail_1_10_and_api_only_users_do_not() {
    let d = data(&[
        U::new("console-no-mfa").console(&days_ago(1)),
        U::new("console-mfa").console(&days_ago(1)).mfa(),
        U::new("api-only").key(0, days_ago(10), &days_ago(1)),
    ]);
    let p = derive_default(&d);
    assert_eq!(p.counts.console_users, Some(2));
    assert_eq!(p.counts.console_users_without_mfa, Some(1));
    assert_eq!(verdict(&p, ControlId::ConsoleUserMfa), Some((true, 1)));
}

#[test]
fn initial_access_key_needs_console_same_time_creation_and_no_use() {
    let created = days_ago(20);
    let mut u = U::new("new").console("no_information");
    u.created = created.clone();
    let d = data(&[u.clone().key(0, created.clone(), "N/A")]);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::InitialAccessKey),
        Some((true, 1))
    );
    // Used since: passes.
    let d = data(&[u.clone().key(0, created.clone(), &days_ago(1))]);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::InitialAccessKey),
        Some((false, 0))
    );
    // Created a day after the user: not part of initial setup.
    let d = data(&[u.clone().key(0, days_ago(19), "N/A")]);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::InitialAccessKey),
        Some((false, 0))
    );
    // No console password: not in scope.
    let mut api = U::new("api");
    api.created = created.clone();
    let d = data(&[api.key(0, created, "N/A")]);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::InitialAccessKey),
        Some((false, 0))
    );
}

#[test]
fn unused_credentials_count_never_used_keys_by_their_age() {
    let d = data(&[
        // Key never used, created 60 days ago: fails 45 d, passes 90 d.
        U::new("never").key(0, days_ago(60), "N/A"),
        // Key used yesterday: passes.
        U::new("busy").key(0, days_ago(200), &days_ago(1)),
        // Password used 100 days ago: fails both.
        U::new("idle").console(&days_ago(100)),
        // Password never used, set 300 days ago: fails both.
        U::new("never-signed-in").console("no_information"),
        // Inactive old key: out of scope.
        U::new("inactive").inactive_key(0, days_ago(500)),
    ]);
    let p = derive_default(&d);
    assert_eq!(verdict(&p, ControlId::UnusedCredentials), Some((true, 3)));
    assert_eq!(
        verdict(&p, ControlId::UnusedCredentialsLong),
        Some((true, 2))
    );
    assert_eq!(p.counts.active_access_keys_never_used, Some(1));
    assert_eq!(p.counts.console_users_never_signed_in, Some(1));
    assert_eq!(
        verdict(&p, ControlId::ConsoleUserNeverSignedIn),
        Some((true, 1))
    );
}

#[test]
fn unused_threshold_is_strictly_greater_than() {
    let d = data(&[U::new("edge").key(0, days_ago(45), "N/A")]);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::UnusedCredentials),
        Some((false, 0))
    );
}

#[test]
fn multiple_active_keys_fail_1_13_but_an_inactive_second_key_does_not() {
    let d = data(&[
        U::new("two")
            .key(0, days_ago(1), "N/A")
            .key(1, days_ago(1), "N/A"),
        U::new("one-and-inactive")
            .key(0, days_ago(1), "N/A")
            .inactive_key(1, days_ago(1)),
    ]);
    let p = derive_default(&d);
    assert_eq!(p.counts.with_multiple_active_keys, Some(1));
    assert_eq!(p.counts.active_access_keys, Some(3));
    assert_eq!(verdict(&p, ControlId::MultipleActiveKeys), Some((true, 1)));
}

#[test]
fn keys_older_than_90_days_fail_1_14_once_per_user() {
    let d = data(&[
        U::new("old")
            .key(0, days_ago(91), &days_ago(1))
            .key(1, days_ago(200), &days_ago(1)),
        U::new("fresh").key(0, days_ago(89), &days_ago(1)),
        U::new("old-inactive").inactive_key(0, days_ago(400)),
    ]);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::AccessKeyRotation),
        Some((true, 1))
    );
}

#[test]
fn an_active_key_without_a_rotation_date_has_an_unknown_age_neither_failing_nor_passing() {
    let d = data(&[U::new("undated").key(0, "N/A".into(), "N/A")]);
    let p = derive_default(&d);
    assert_eq!(verdict(&p, ControlId::AccessKeyRotation), None);
    assert_eq!(verdict(&p, ControlId::UnusedCredentials), None);
    // A known failure elsewhere still fails the control.
    let d = data(&[
        U::new("undated").key(0, "N/A".into(), "N/A"),
        U::new("old").key(0, days_ago(200), &days_ago(1)),
    ]);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::AccessKeyRotation),
        Some((true, 1))
    );
}

#[test]
fn root_signing_certificates_come_from_the_report() {
    let mut root = U::root();
    root.certs = [false, true];
    let p = derive_default(&data(&[root]));
    assert_eq!(p.root.signing_certificate_active, Some([false, true]));
    assert_eq!(
        verdict(&p, ControlId::RootSigningCertificate),
        Some((true, 1))
    );
}

#[test]
fn summary_password_present_is_reported_where_aws_sends_it() {
    let mut d = data(&[U::root()]);
    assert_eq!(derive_default(&d).root.password_present, None);
    d.facts.summary = Some(Summary(vec![("AccountPasswordPresent".into(), 1)]));
    assert_eq!(derive_default(&d).root.password_present, Some(true));
}

fn fixture(name: &str) -> AccountData {
    let path = format!(
        "{}/tests/fixtures/reports/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    AccountData {
        report: parse(&bytes).expect("fixture parses"),
        ..AccountData::default()
    }
}

#[test]
fn a_report_without_certificate_columns_does_not_pass_root_signing_certificate() {
    let mut d = fixture("aws-2015-14-columns.csv");
    let p = derive_default(&d);
    assert_eq!(p.root.signing_certificate_active, None);
    assert_eq!(verdict(&p, ControlId::RootSigningCertificate), None);
    // The summary can still say.
    d.facts.summary = Some(Summary(vec![(
        "AccountSigningCertificatesPresent".into(),
        0,
    )]));
    assert_eq!(
        verdict(&derive_default(&d), ControlId::RootSigningCertificate),
        Some((false, 0))
    );
}

#[test]
fn the_aws_2015_layout_leaves_last_use_facts_absent_but_keeps_known_failures() {
    let p = derive_default(&fixture("aws-2015-16-columns.csv"));
    assert_eq!(p.counts.active_access_keys, Some(2));
    assert_eq!(p.counts.active_access_keys_never_used, None);
    assert_eq!(p.counts.console_users_never_signed_in, Some(0));
    // Root's keys have no last-use column: recent use is unknown, not "not used".
    assert_eq!(verdict(&p, ControlId::RootRecentUse), None);
    // Administrator's password was last used in 2015: a known failure whatever the keys say.
    assert_eq!(verdict(&p, ControlId::UnusedCredentials), Some((true, 1)));
    assert_eq!(verdict(&p, ControlId::AccessKeyRotation), Some((true, 1)));
}

#[test]
fn a_report_without_mfa_active_evaluates_no_mfa_control_and_counts_no_mfa_gap() {
    let p = derive_default(&fixture("cis-audit-6-columns.csv"));
    assert_eq!(p.counts.console_users, Some(3));
    assert_eq!(p.counts.console_users_without_mfa, None);
    assert_eq!(verdict(&p, ControlId::ConsoleUserMfa), None);
    assert_eq!(verdict(&p, ControlId::MultipleActiveKeys), Some((true, 2)));
    assert_eq!(p.root, RootPosture::default());
}

#[test]
fn console_users_with_a_virtual_mfa_device_are_counted_when_the_device_list_is_known() {
    let mut d = data(&[
        U::new("totp").console(&days_ago(1)).mfa(),
        U::new("fido").console(&days_ago(1)).mfa(),
        U::new("api-with-totp").key(0, days_ago(1), &days_ago(1)),
    ]);
    assert_eq!(
        derive_default(&d).counts.console_users_with_virtual_mfa,
        None
    );
    d.facts.virtual_mfa_users = Some(vec!["totp".into(), "api-with-totp".into()]);
    assert_eq!(
        derive_default(&d).counts.console_users_with_virtual_mfa,
        Some(1)
    );
}

fn service_credential(
    user: &str,
    service: &str,
    id: &str,
    status: &str,
    age_days: i64,
    expires: Option<i64>,
) -> ServiceCredential {
    ServiceCredential {
        user: user.into(),
        service: service.into(),
        id: id.into(),
        status: status.into(),
        created: NOW - age_days * DAY,
        expires,
    }
}

#[test]
fn service_credential_controls_are_absent_when_the_list_is_unknown() {
    let p = derive_default(&data(&[]));
    assert_eq!(verdict(&p, ControlId::BedrockLongTermApiKey), None);
    assert_eq!(verdict(&p, ControlId::ServiceCredentialRotation), None);
}

#[test]
fn an_active_unexpired_bedrock_key_fails_and_expired_inactive_or_other_services_do_not() {
    let mut d = data(&[]);
    d.facts.service_credentials = Some(vec![
        service_credential("dev", BEDROCK, "ACCA1", "active", 1, None),
        service_credential("dev", BEDROCK, "ACCA2", "active", 1, Some(NOW + DAY)),
        service_credential("dev", BEDROCK, "ACCA3", "active", 40, Some(NOW - DAY)),
        service_credential("dev", BEDROCK, "ACCA4", "inactive", 1, None),
        service_credential(
            "git",
            "codecommit.amazonaws.com",
            "ACCA5",
            "active",
            1,
            None,
        ),
        // The same credential listed twice (overlapping pages) counts once.
        service_credential("dev", BEDROCK, "ACCA1", "active", 1, None),
    ]);
    let p = derive_default(&d);
    assert_eq!(
        verdict(&p, ControlId::BedrockLongTermApiKey),
        Some((true, 2))
    );
    let f = findings_default(&d, ControlId::BedrockLongTermApiKey);
    assert_eq!(f[0].user, "dev");
    assert_eq!(f[0].credential, Credential::ServiceCredential);
    assert_eq!(f[0].credential_id, Some("ACCA1"));
}

#[test]
fn active_service_credentials_older_than_the_key_age_fail_rotation() {
    let mut d = data(&[]);
    d.facts.service_credentials = Some(vec![
        service_credential(
            "git",
            "codecommit.amazonaws.com",
            "ACCA1",
            "active",
            91,
            None,
        ),
        service_credential(
            "git",
            "codecommit.amazonaws.com",
            "ACCA2",
            "active",
            89,
            None,
        ),
        service_credential(
            "cql",
            "cassandra.amazonaws.com",
            "ACCA3",
            "inactive",
            400,
            None,
        ),
    ]);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::ServiceCredentialRotation),
        Some((true, 1))
    );
}

#[test]
fn every_user_control_is_evaluated_on_an_empty_account() {
    let p = derive_default(&data(&[]));
    for c in [
        ControlId::ConsoleUserMfa,
        ControlId::InitialAccessKey,
        ControlId::UnusedCredentials,
        ControlId::UnusedCredentialsLong,
        ControlId::MultipleActiveKeys,
        ControlId::AccessKeyRotation,
        ControlId::ConsoleUserNeverSignedIn,
    ] {
        assert_eq!(verdict(&p, c), Some((false, 0)), "{c:?}");
    }
}

#[test]
fn centralized_root_access_off_fails_the_organization_control_and_accounts_never_carry_it() {
    let t = Thresholds::default();
    let features = |on| OrganizationFeatures {
        organization_id: "o-a1b2c3d4e5".into(),
        root_credentials_management: on,
        root_sessions: false,
    };
    let off = organization_verdict(&features(false), &t, NOW).unwrap();
    assert_eq!(
        (off.control, off.failing, off.failing_resources),
        (ControlId::RootCredentialsManagement, true, 1)
    );
    let on = organization_verdict(&features(true), &t, NOW).unwrap();
    assert_eq!((on.failing, on.failing_resources), (false, 0));

    // An account's refresh never has the organization's facts: the control is absent there.
    let d = data(&[U::root()]);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::RootCredentialsManagement),
        None
    );
    assert_eq!(
        findings(&d, &t, NOW, ControlId::RootCredentialsManagement),
        None
    );
    // The audit's findings agree with the verdict when the facts are there.
    let mut org = AccountData::default();
    org.facts.organization = Some(features(false));
    let f = findings(&org, &t, NOW, ControlId::RootCredentialsManagement).unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].describe(NOW), "o-a1b2c3d4e5 (organization_feature)");
    let c = ControlId::RootCredentialsManagement.control();
    assert_eq!(
        (c.cis, c.cis_v7, c.severity),
        ("", "2.1.1", Severity::Medium)
    );
    assert_eq!(
        c.benchmarks().collect::<Vec<_>>(),
        [("cis-aws-foundations", "7.0.0", "2.1.1")]
    );
}
