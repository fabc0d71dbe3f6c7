//! Unit tests of the posture: each control on rows built to state only what it is about.

use super::*;
use crate::report::parse;

use crate::report::TEST_HEADER as HEADER;
/// 2024-06-01T00:00:00Z
const NOW: i64 = 1_717_200_000;

fn iso(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}
fn days_ago(d: i64) -> String {
    iso(NOW - d * DAY)
}

/// A row builder so each test states only what it is about.
#[derive(Clone)]
struct U {
    name: &'static str,
    created: String,
    password: &'static str,
    password_last_used: String,
    password_changed: String,
    mfa: bool,
    keys: [(bool, String, String); 2],
    certs: [bool; 2],
}

impl U {
    fn new(name: &'static str) -> U {
        U {
            name,
            created: days_ago(400),
            password: "false",
            password_last_used: "N/A".into(),
            password_changed: "N/A".into(),
            mfa: false,
            keys: [
                (false, "N/A".into(), "N/A".into()),
                (false, "N/A".into(), "N/A".into()),
            ],
            certs: [false, false],
        }
    }
    fn root() -> U {
        let mut u = U::new("<root_account>");
        u.password = "not_supported";
        u.password_last_used = "no_information".into();
        u.password_changed = "not_supported".into();
        u
    }
    fn console(mut self, last_used: &str) -> U {
        self.password = "true";
        self.password_last_used = last_used.into();
        self.password_changed = days_ago(300);
        self
    }
    fn mfa(mut self) -> U {
        self.mfa = true;
        self
    }
    fn key(mut self, n: usize, rotated: String, used: &str) -> U {
        self.keys[n] = (true, rotated, used.into());
        self
    }
    fn inactive_key(mut self, n: usize, rotated: String) -> U {
        self.keys[n] = (false, rotated, "N/A".into());
        self
    }
    fn line(&self) -> String {
        let arn = if self.name == "<root_account>" {
            "arn:aws:iam::123456789012:root".to_string()
        } else {
            format!("arn:aws:iam::123456789012:user/{}", self.name)
        };
        let k = |i: usize| {
            let (a, r, u) = &self.keys[i];
            format!("{a},{r},{u},N/A,N/A")
        };
        format!(
            "{},{arn},{},{},{},{},N/A,{},{},{},{},N/A,{},N/A",
            self.name,
            self.created,
            self.password,
            self.password_last_used,
            self.password_changed,
            self.mfa,
            k(0),
            k(1),
            self.certs[0],
            self.certs[1]
        )
    }
}

fn data(rows: &[U]) -> AccountData {
    let mut body = String::from(HEADER);
    for r in rows {
        body.push('\n');
        body.push_str(&r.line());
    }
    AccountData {
        report: parse(body.as_bytes()).expect("test report parses"),
        ..AccountData::default()
    }
}

fn verdict(p: &Posture, c: ControlId) -> Option<(bool, u64)> {
    p.verdicts
        .iter()
        .find(|v| v.control == c)
        .map(|v| (v.failing, v.failing_resources))
}

fn derive_default(d: &AccountData) -> Posture {
    derive(d, &Thresholds::default(), NOW)
}

#[test]
fn control_table_and_enum_agree() {
    assert_eq!(
        ControlId::RootCredentialsManagement as usize + 1,
        CONTROLS.len()
    );
    assert_eq!(ControlId::AccessKeyRotation.control().cis, "1.14");
    let mut ids: Vec<_> = CONTROLS.iter().map(|c| c.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), CONTROLS.len());
}

#[test]
fn every_control_row_has_a_title_a_severity_and_an_entry_in_all() {
    assert_eq!(ControlId::ALL.len(), CONTROLS.len());
    for (i, id) in ControlId::ALL.iter().enumerate() {
        assert_eq!(*id as usize, i);
        let c = id.control();
        assert!(!c.title.is_empty() && !c.title.contains('\n'), "{}", c.id);
        assert!(
            c.id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
    }
    // Exported ids are stable although the Rust names now say what they check.
    assert_eq!(
        ControlId::UnusedCredentials.control().id,
        "unused_credentials_45d"
    );
    assert_eq!(
        ControlId::UnusedCredentialsLong.control().id,
        "unused_credentials_90d"
    );
    assert_eq!(ControlId::RootMfa.control().severity, Severity::Critical);
}

#[test]
fn benchmark_numbers_cover_every_cis_version_and_the_fsbp_standard() {
    let of = |c: ControlId| c.control().benchmarks().collect::<Vec<_>>();
    let root_key = of(ControlId::RootAccessKey);
    assert_eq!(root_key.len(), CIS_VERSIONS.len() + 1);
    assert!(root_key.contains(&("cis-aws-foundations", "1.4.0", "1.4")));
    assert!(root_key.contains(&("cis-aws-foundations", "4.0.1", "1.4")));
    assert!(root_key.contains(&("cis-aws-foundations", "5.0.0", "1.3")));
    assert!(root_key.contains(&("cis-aws-foundations", "6.0.0", "2.3")));
    assert!(root_key.contains(&("cis-aws-foundations", "7.0.0", "2.4")));
    assert!(root_key.contains(&("aws-fsbp", "1.0.0", "IAM.4")));
    // Dropped in CIS 7.0.0; IAM.9 is not an FSBP control.
    let initial = of(ControlId::InitialAccessKey);
    assert!(!initial.iter().any(|(_, v, _)| *v == "7.0.0"));
    assert!(
        !of(ControlId::RootMfa)
            .iter()
            .any(|(s, _, _)| *s == "aws-fsbp")
    );
    assert!(of(ControlId::RootSigningCertificate).is_empty());
    // The 90-day variant keeps its `cis="1.12"` label but meets no CIS version.
    assert_eq!(ControlId::UnusedCredentialsLong.control().cis, "1.12");
    assert_eq!(
        of(ControlId::UnusedCredentialsLong),
        [("aws-fsbp", "1.0.0", "IAM.8")]
    );
}

#[test]
fn findings_name_each_offender_credential_and_its_dates() {
    let d = data(&[
        U::new("idle").console(&days_ago(100)),
        U::new("busy").key(0, days_ago(200), &days_ago(1)),
        U::new("two-old-keys")
            .key(0, days_ago(120), &days_ago(60))
            .key(1, days_ago(100), "N/A"),
    ]);
    let t = Thresholds::default();
    let unused = findings(&d, &t, NOW, ControlId::UnusedCredentials).unwrap();
    assert_eq!(unused.len(), 3);
    assert_eq!(unused[0].user, "idle");
    assert_eq!(unused[0].credential, Credential::Password);
    assert_eq!(unused[0].last_used, Some(NOW - 100 * DAY));
    assert!(!unused[0].continues);
    assert_eq!(unused[1].user, "two-old-keys");
    assert_eq!(unused[1].credential, Credential::AccessKey(1));
    assert_eq!(unused[1].created, Some(NOW - 120 * DAY));
    assert_eq!(unused[2].credential, Credential::AccessKey(2));
    assert!(unused[2].never_used && unused[2].continues);
    // The counting sink of the daemon agrees: two users fail.
    assert_eq!(
        verdict(&derive_default(&d), ControlId::UnusedCredentials),
        Some((true, 2))
    );
    // Unknown input: no list, as no series.
    assert_eq!(findings(&d, &t, NOW, ControlId::PasswordPolicyLength), None);
}

#[test]
fn a_finding_reads_as_one_line_for_the_audit_table() {
    let d = data(&[
        U::new("alice").console(&days_ago(324)),
        U::new("bob").key(1, days_ago(400), "N/A"),
    ]);
    let f = findings(
        &d,
        &Thresholds::default(),
        NOW,
        ControlId::UnusedCredentials,
    )
    .unwrap();
    assert_eq!(
        f[0].describe(NOW),
        "alice (password, last used 2023-07-13, 324 days)"
    );
    assert_eq!(
        f[1].describe(NOW),
        "bob (access_key_2, never used, created 2023-04-28, 400 days)"
    );
    let one = Finding {
        last_used: Some(NOW - 86_400),
        ..f[0]
    };
    assert_eq!(
        one.describe(NOW),
        "alice (password, last used 2024-05-31, 1 day)"
    );
}

#[test]
fn the_markdown_control_table_has_one_row_per_control() {
    let table = controls::markdown_table();
    assert_eq!(table.lines().count(), CONTROLS.len() + 2);
    assert!(table.contains(
        "| `root_access_key` | 1.4 | 1.3 | 2.3 | 2.4 | IAM.4 (FSBP) | critical | No root user access key exists |"
    ));
}

#[test]
fn findings_and_failing_resources_agree_for_every_control() {
    let mut d = data(&[
        U::root().key(0, days_ago(3), &days_ago(1)),
        U::new("console-no-mfa").console("no_information"),
        U::new("two")
            .key(0, days_ago(1), "N/A")
            .key(1, days_ago(300), &days_ago(200)),
    ]);
    d.facts.password_policy = PolicyState::Absent;
    d.facts.summary = Some(Summary(vec![(
        "AccountSigningCertificatesPresent".into(),
        1,
    )]));
    let t = Thresholds::default();
    let p = derive(&d, &t, NOW);
    for &c in ControlId::ALL {
        let listed =
            findings(&d, &t, NOW, c).map(|f| f.iter().filter(|f| !f.continues).count() as u64);
        assert_eq!(listed, verdict(&p, c).map(|(_, n)| n), "{c:?}");
    }
}

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
        max_age_days: None,
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
        reuse_prevention: None,
        max_age_days: None,
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
    let f = findings(
        &d,
        &Thresholds::default(),
        NOW,
        ControlId::BedrockLongTermApiKey,
    )
    .unwrap();
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

/// docs/controls.md, after checking that it holds `table` (generated by `name`; else the
/// message is the text to paste).
fn controls_md_holding(name: &str, table: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/controls.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    assert!(
        doc.contains(table),
        "paste the table of posture::controls::{name}() into {}:\n{table}",
        path.display()
    );
    doc
}

#[test]
fn docs_controls_md_holds_the_generated_benchmark_table() {
    controls_md_holding("markdown_table", &controls::markdown_table());
}

#[test]
fn docs_controls_md_holds_the_generated_checks_table_and_no_other() {
    let doc = controls_md_holding("markdown_checks", &controls::markdown_checks());
    // A row of a control is in one of the two generated tables, and nowhere else.
    for c in CONTROLS {
        let rows = doc
            .lines()
            .filter(|l| l.starts_with(&format!("| `{}` |", c.id)))
            .count();
        assert_eq!(rows, 2, "rows of `{}` in docs/controls.md", c.id);
    }
}
