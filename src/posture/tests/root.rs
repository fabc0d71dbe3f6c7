//! The root controls (CIS 1.4-1.7) and the root facts.

use super::*;

#[test]
fn root_with_an_active_key_fails_1_4_from_the_report_alone() {
    let d = data(&[U::root().key(1, days_ago(10), "N/A")]);
    let p = derive_default(&d);
    assert_eq!(p.root.access_key_active, Some([false, true]));
    assert_eq!(p.root.access_keys_present, Some(true));
    assert_eq!(verdict(&p, ControlId::RootAccessKey), Some((true, 1)));
}

#[test]
fn root_without_keys_passes_1_4() {
    let p = derive_default(&data(&[U::root()]));
    assert_eq!(p.root.access_keys_present, Some(false));
    assert_eq!(verdict(&p, ControlId::RootAccessKey), Some((false, 0)));
}

#[test]
fn the_live_summary_wins_over_a_stale_report_for_root_keys() {
    // A key created after the report was generated appears only in the summary.
    let mut d = data(&[U::root()]);
    d.facts.summary = Some(Summary(vec![("AccountAccessKeysPresent".into(), 1)]));
    let p = derive_default(&d);
    assert_eq!(p.root.access_keys_present, Some(true));
    assert_eq!(verdict(&p, ControlId::RootAccessKey), Some((true, 1)));
}

#[test]
fn an_inactive_root_key_still_fails_1_4_through_the_summary() {
    let mut d = data(&[U::root().inactive_key(0, days_ago(5))]);
    d.facts.summary = Some(Summary(vec![("AccountAccessKeysPresent".into(), 1)]));
    assert_eq!(
        verdict(&derive_default(&d), ControlId::RootAccessKey),
        Some((true, 1))
    );
}

#[test]
fn without_root_row_or_summary_root_controls_are_not_guessed() {
    let p = derive_default(&data(&[U::new("alice")]));
    assert_eq!(p.root, RootPosture::default());
    for c in [
        ControlId::RootAccessKey,
        ControlId::RootMfa,
        ControlId::RootHardwareMfa,
        ControlId::RootRecentUse,
        ControlId::RootSigningCertificate,
    ] {
        assert_eq!(verdict(&p, c), None, "{c:?}");
    }
}

#[test]
fn root_mfa_comes_from_the_summary_else_the_report() {
    let p = derive_default(&data(&[U::root()]));
    assert_eq!(verdict(&p, ControlId::RootMfa), Some((true, 1)));
    let p = derive_default(&data(&[U::root().mfa()]));
    assert_eq!(verdict(&p, ControlId::RootMfa), Some((false, 0)));
    let mut d = data(&[U::root()]);
    d.facts.summary = Some(Summary(vec![("AccountMFAEnabled".into(), 1)]));
    assert_eq!(derive_default(&d).root.mfa_enabled, Some(true));
}

fn member_root() -> U {
    // An Organizations member account after centralized root access removed root's password,
    // keys and certificates: the report says `false` for the password.
    let mut root = U::root();
    root.password = "false";
    root
}

#[test]
fn a_root_without_any_credential_passes_root_mfa_and_hardware_mfa_and_keeps_the_mfa_fact() {
    let mut d = data(&[U::root()]);
    d.facts.summary = Some(Summary(vec![
        ("AccountMFAEnabled".into(), 0),
        ("AccountPasswordPresent".into(), 0),
        ("AccountAccessKeysPresent".into(), 0),
        ("AccountSigningCertificatesPresent".into(), 0),
    ]));
    let p = derive_default(&d);
    assert_eq!(p.root.credentials_present, Some(false));
    assert_eq!(p.root.mfa_enabled, Some(false));
    assert_eq!(verdict(&p, ControlId::RootMfa), Some((false, 0)));
    assert_eq!(verdict(&p, ControlId::RootHardwareMfa), Some((false, 0)));
}

#[test]
fn a_member_account_root_row_with_password_false_and_no_key_or_certificate_has_no_credentials() {
    let p = derive_default(&data(&[member_root()]));
    assert_eq!(p.root.credentials_present, Some(false));
    assert_eq!(verdict(&p, ControlId::RootMfa), Some((false, 0)));
}

#[test]
fn root_password_not_supported_says_nothing_about_root_credentials() {
    let p = derive_default(&data(&[U::root()]));
    assert_eq!(p.root.credentials_present, None);
    assert_eq!(verdict(&p, ControlId::RootMfa), Some((true, 1)));
}

#[test]
fn a_root_with_a_password_and_no_mfa_still_fails() {
    let mut d = data(&[member_root()]);
    d.facts.summary = Some(Summary(vec![("AccountPasswordPresent".into(), 1)]));
    let p = derive_default(&d);
    assert_eq!(p.root.credentials_present, Some(true));
    assert_eq!(verdict(&p, ControlId::RootMfa), Some((true, 1)));
    assert_eq!(verdict(&p, ControlId::RootHardwareMfa), Some((true, 1)));
}

#[test]
fn an_inactive_root_key_or_certificate_with_a_date_is_a_root_credential() {
    let p = derive_default(&data(&[member_root().inactive_key(1, days_ago(30))]));
    assert_eq!(p.root.credentials_present, Some(true));
    assert_eq!(verdict(&p, ControlId::RootMfa), Some((true, 1)));
}

#[test]
fn root_hardware_mfa_needs_mfa_and_no_virtual_device() {
    let mut d = data(&[U::root().mfa()]);
    assert_eq!(derive_default(&d).root.hardware_mfa_enabled, None);
    d.facts.root_virtual_mfa = Some(true);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::RootHardwareMfa),
        Some((true, 1))
    );
    d.facts.root_virtual_mfa = Some(false);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::RootHardwareMfa),
        Some((false, 0))
    );
    // No MFA at all fails 1.6 too, whatever the device list says.
    let d = data(&[U::root()]);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::RootHardwareMfa),
        Some((true, 1))
    );
}

#[test]
fn root_recent_use_takes_the_most_recent_credential_not_the_first() {
    // Password used long ago, key 2 used yesterday: Prowler would look at the password only.
    let mut root = U::root().key(1, days_ago(100), &days_ago(1));
    root.password_last_used = days_ago(300);
    let p = derive_default(&data(&[root]));
    assert_eq!(p.root.most_recent_use(), Some(NOW - DAY));
    assert_eq!(p.root.last_used.len(), 2);
    assert_eq!(verdict(&p, ControlId::RootRecentUse), Some((true, 1)));
}

#[test]
fn root_never_used_passes_1_7_and_has_no_last_use() {
    let p = derive_default(&data(&[U::root()]));
    assert_eq!(p.root.most_recent_use(), None);
    assert_eq!(verdict(&p, ControlId::RootRecentUse), Some((false, 0)));
    let mut root = U::root();
    root.password_last_used = days_ago(8);
    let p = derive_default(&data(&[root]));
    assert_eq!(verdict(&p, ControlId::RootRecentUse), Some((false, 0)));
}
