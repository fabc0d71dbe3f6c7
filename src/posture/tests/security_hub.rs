//! The Security Hub controls beyond CIS 1.4-7.0 (password classes IAM.11-14, expiry IAM.17,
//! strong policy IAM.7, MFA for every user IAM.19), expired server certificates (CIS 1.19 /
//! IAM.26) and the lifetime of every service's API keys: fail, pass, unknown.

use super::*;

/// A policy that meets CIS and every Security Hub parameter: length 14, reuse 24, every class,
/// 90 days.
fn strong_policy() -> PasswordPolicy {
    PasswordPolicy {
        minimum_length: Some(14),
        reuse_prevention: Some(24),
        max_age_days: Some(90),
        require_uppercase: true,
        require_lowercase: true,
        require_numbers: true,
        require_symbols: true,
        allow_users_to_change_password: true,
        hard_expiry: false,
        expire_passwords: true,
    }
}

fn with_policy(p: PolicyState) -> AccountData {
    let mut d = data(&[]);
    d.facts.password_policy = p;
    d
}

const POLICY_CONTROLS: [ControlId; 6] = [
    ControlId::PasswordPolicyUppercase,
    ControlId::PasswordPolicyLowercase,
    ControlId::PasswordPolicySymbols,
    ControlId::PasswordPolicyNumbers,
    ControlId::PasswordPolicyExpiry,
    ControlId::PasswordPolicyStrong,
];

#[test]
fn a_strong_policy_passes_every_policy_control_no_policy_fails_them_and_unknown_evaluates_none() {
    let p = derive_default(&with_policy(PolicyState::Present(strong_policy())));
    for c in POLICY_CONTROLS {
        assert_eq!(verdict(&p, c), Some((false, 0)), "{c:?}");
    }
    let p = derive_default(&with_policy(PolicyState::Absent));
    for c in POLICY_CONTROLS {
        assert_eq!(verdict(&p, c), Some((true, 1)), "{c:?}: no policy fails");
    }
    let p = derive_default(&with_policy(PolicyState::Unknown));
    for c in POLICY_CONTROLS {
        assert_eq!(verdict(&p, c), None, "{c:?}: unknown is absent");
    }
}

#[test]
fn each_missing_character_class_fails_its_own_control_and_the_strong_one() {
    type Weaken = fn(&mut PasswordPolicy);
    let cases: [(Weaken, ControlId); 4] = [
        (
            |p| p.require_uppercase = false,
            ControlId::PasswordPolicyUppercase,
        ),
        (
            |p| p.require_lowercase = false,
            ControlId::PasswordPolicyLowercase,
        ),
        (
            |p| p.require_symbols = false,
            ControlId::PasswordPolicySymbols,
        ),
        (
            |p| p.require_numbers = false,
            ControlId::PasswordPolicyNumbers,
        ),
    ];
    for (weaken, failing) in cases {
        let mut policy = strong_policy();
        weaken(&mut policy);
        let p = derive_default(&with_policy(PolicyState::Present(policy)));
        for c in POLICY_CONTROLS {
            let fails = c == failing || c == ControlId::PasswordPolicyStrong;
            assert_eq!(
                verdict(&p, c).map(|(f, _)| f),
                Some(fails),
                "{failing:?} missing: {c:?}"
            );
        }
    }
}

#[test]
fn passwords_must_expire_within_the_max_age_and_zero_means_never() {
    let expiry = |days: Option<i64>, t: &Thresholds| {
        let policy = PasswordPolicy {
            max_age_days: days,
            expire_passwords: days.is_some_and(|d| d > 0),
            ..strong_policy()
        };
        let d = with_policy(PolicyState::Present(policy));
        verdict(&derive(&d, t, NOW), ControlId::PasswordPolicyExpiry).map(|(f, _)| f)
    };
    let t = Thresholds::default();
    assert_eq!(expiry(Some(90), &t), Some(false), "90 days is the limit");
    assert_eq!(expiry(Some(1), &t), Some(false));
    assert_eq!(expiry(Some(91), &t), Some(true));
    assert_eq!(expiry(None, &t), Some(true), "never expires");
    assert_eq!(expiry(Some(0), &t), Some(true), "0: never expires (moto)");
    let long = Thresholds {
        password_max_age: 365 * DAY,
        ..Thresholds::default()
    };
    assert_eq!(expiry(Some(91), &long), Some(false));
    assert_eq!(expiry(Some(0), &long), Some(true));
}

#[test]
fn the_strong_policy_takes_security_hubs_defaults_and_each_parameter_from_its_threshold() {
    let strong = |policy: PasswordPolicy, want: StrongPassword| {
        let t = Thresholds {
            strong_password: want,
            ..Thresholds::default()
        };
        let d = with_policy(PolicyState::Present(policy));
        verdict(&derive(&d, &t, NOW), ControlId::PasswordPolicyStrong).map(|(f, _)| f)
    };
    let defaults = StrongPassword::default();
    assert!(defaults.require_uppercase && defaults.require_symbols);
    assert_eq!(defaults.min_length, 8);
    // Security Hub's defaults do not check reuse or age: a policy with neither passes.
    let bare = PasswordPolicy {
        minimum_length: Some(8),
        reuse_prevention: None,
        max_age_days: None,
        ..strong_policy()
    };
    assert_eq!(strong(bare, defaults), Some(false));
    let short = PasswordPolicy {
        minimum_length: Some(7),
        ..bare
    };
    assert_eq!(strong(short, defaults), Some(true), "length 7 < 8");
    // A class not wanted is not checked.
    let no_symbols = PasswordPolicy {
        require_symbols: false,
        ..bare
    };
    assert_eq!(strong(no_symbols, defaults), Some(true));
    let relaxed = StrongPassword {
        require_symbols: false,
        ..defaults
    };
    assert_eq!(strong(no_symbols, relaxed), Some(false));
    // Reuse and age are checked once set, each at its value inclusive.
    let reuse = StrongPassword {
        reuse_prevention: Some(12),
        ..defaults
    };
    assert_eq!(strong(bare, reuse), Some(true), "reuse unset");
    let remembers = |n| PasswordPolicy {
        reuse_prevention: Some(n),
        ..bare
    };
    assert_eq!(strong(remembers(11), reuse), Some(true));
    assert_eq!(strong(remembers(12), reuse), Some(false));
    let age = StrongPassword {
        max_age: Some(90 * DAY),
        ..defaults
    };
    let lives = |days| PasswordPolicy {
        max_age_days: Some(days),
        ..bare
    };
    assert_eq!(strong(bare, age), Some(true), "never expires");
    assert_eq!(strong(lives(0), age), Some(true), "0: never expires");
    assert_eq!(strong(lives(90), age), Some(false));
    assert_eq!(strong(lives(91), age), Some(true));
}

#[test]
fn every_user_without_mfa_fails_iam_19_whatever_its_credentials() {
    let d = data(&[
        U::root(),
        U::new("console-mfa").console(&days_ago(1)).mfa(),
        U::new("console-no-mfa").console(&days_ago(1)),
        U::new("keys-only").key(0, days_ago(10), &days_ago(1)),
        U::new("nothing"),
        U::new("keys-mfa").key(0, days_ago(10), &days_ago(1)).mfa(),
    ]);
    let p = derive_default(&d);
    assert_eq!(verdict(&p, ControlId::UserMfa), Some((true, 3)));
    assert_eq!(verdict(&p, ControlId::ConsoleUserMfa), Some((true, 1)));
    let f = findings_default(&d, ControlId::UserMfa);
    let users: Vec<&str> = f.iter().map(|f| f.user).collect();
    assert_eq!(users, ["console-no-mfa", "keys-only", "nothing"]);
    assert!(f.iter().all(|f| f.credential == Credential::Mfa));
    assert_eq!(f[2].describe(NOW), "nothing (mfa)");

    // Everyone with MFA passes; no user at all passes.
    let d = data(&[U::new("a").mfa(), U::new("b").console(&days_ago(1)).mfa()]);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::UserMfa),
        Some((false, 0))
    );
    assert_eq!(
        verdict(&derive_default(&data(&[])), ControlId::UserMfa),
        Some((false, 0))
    );
}

#[test]
fn a_user_whose_mfa_cannot_be_read_is_unknown_unless_another_fails() {
    let mut unreadable = U::new("odd").line();
    // `mfa_active` is the 8th column.
    let mut cols: Vec<&str> = unreadable.split(',').collect();
    cols[7] = "maybe";
    unreadable = cols.join(",");
    let report = |extra: &str| {
        let body = format!("{HEADER}\n{unreadable}{extra}");
        AccountData {
            report: parse(body.as_bytes()).expect("parses"),
            ..AccountData::default()
        }
    };
    assert_eq!(
        verdict(&derive_default(&report("")), ControlId::UserMfa),
        None
    );
    let with_failing = report(&format!("\n{}", U::new("plain").line()));
    assert_eq!(
        verdict(&derive_default(&with_failing), ControlId::UserMfa),
        Some((true, 1))
    );
}

fn certificate(name: &str, expiration: Option<i64>) -> ServerCertificate {
    ServerCertificate {
        name: name.into(),
        arn: format!("arn:aws:iam::123456789012:server-certificate/{name}"),
        expiration,
    }
}

fn with_certificates(certs: Option<Vec<ServerCertificate>>) -> AccountData {
    let mut d = data(&[]);
    d.facts.server_certificates = certs;
    d
}

#[test]
fn expired_server_certificates_fail_one_each_valid_ones_pass_and_an_unknown_list_is_absent() {
    let d = with_certificates(Some(vec![
        certificate("old", Some(NOW - 30 * DAY)),
        certificate("valid", Some(NOW + DAY)),
        certificate("just-expired", Some(NOW - 1)),
        certificate("expires-now", Some(NOW)),
    ]));
    let p = derive_default(&d);
    assert_eq!(
        verdict(&p, ControlId::ExpiredServerCertificate),
        Some((true, 2))
    );
    let f = findings_default(&d, ControlId::ExpiredServerCertificate);
    assert_eq!(f[0].credential_id, Some("just-expired"), "sorted by name");
    assert_eq!(f[0].credential, Credential::ServerCertificate);
    assert_eq!(f[0].user, "");
    assert_eq!(
        f[1].describe(NOW),
        "account (server_certificate old, expired 2024-05-02)"
    );

    let d = with_certificates(Some(vec![certificate("valid", Some(NOW + DAY))]));
    assert_eq!(
        verdict(&derive_default(&d), ControlId::ExpiredServerCertificate),
        Some((false, 0))
    );
    let d = with_certificates(Some(vec![]));
    assert_eq!(
        verdict(&derive_default(&d), ControlId::ExpiredServerCertificate),
        Some((false, 0))
    );
    let d = with_certificates(None);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::ExpiredServerCertificate),
        None
    );
}

#[test]
fn a_certificate_without_an_expiration_is_unknown_unless_another_has_expired() {
    let d = with_certificates(Some(vec![
        certificate("no-date", None),
        certificate("valid", Some(NOW + DAY)),
    ]));
    assert_eq!(
        verdict(&derive_default(&d), ControlId::ExpiredServerCertificate),
        None
    );
    let d = with_certificates(Some(vec![
        certificate("no-date", None),
        certificate("old", Some(NOW - DAY)),
    ]));
    assert_eq!(
        verdict(&derive_default(&d), ControlId::ExpiredServerCertificate),
        Some((true, 1))
    );
}

#[test]
fn a_certificate_listed_twice_counts_once() {
    let d = with_certificates(Some(vec![
        certificate("old", Some(NOW - DAY)),
        certificate("old", Some(NOW - DAY)),
    ]));
    assert_eq!(server_certificates(&d).unwrap().len(), 1);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::ExpiredServerCertificate),
        Some((true, 1))
    );
}

fn key(service: &str, id: &str, status: &str, lifetime_days: Option<i64>) -> ServiceCredential {
    let created = NOW - 10 * DAY;
    ServiceCredential {
        user: "app".into(),
        service: service.into(),
        id: id.into(),
        status: status.into(),
        created,
        expires: lifetime_days.map(|d| created + d * DAY),
    }
}

fn with_credentials(creds: Option<Vec<ServiceCredential>>) -> AccountData {
    let mut d = data(&[]);
    d.facts.service_credentials = creds;
    d
}

#[test]
fn api_keys_of_every_service_fail_when_they_never_expire_or_outlive_the_limit() {
    let d = with_credentials(Some(vec![
        key("bedrock.amazonaws.com", "A1", "active", None),
        key("logs.amazonaws.com", "A2", "active", Some(90)),
        key("logs.amazonaws.com", "A3", "active", Some(91)),
        key("cloudwatch.amazonaws.com", "A4", "active", Some(30)),
        key("aws-external-anthropic.amazonaws.com", "A5", "active", None),
        // A service AWS adds later is an API-key service by default.
        key("newservice.amazonaws.com", "A6", "active", None),
        // Not live.
        key("bedrock.amazonaws.com", "A7", "inactive", None),
        key("logs.amazonaws.com", "A8", "expired", Some(365)),
        // Not API keys: CodeCommit and Keyspaces passwords.
        key("codecommit.amazonaws.com", "A9", "active", None),
        key("cassandra.amazonaws.com", "B1", "active", None),
    ]));
    let p = derive_default(&d);
    assert_eq!(verdict(&p, ControlId::ApiKeyLifetime), Some((true, 4)));
    let f = findings_default(&d, ControlId::ApiKeyLifetime);
    let ids: Vec<&str> = f.iter().filter_map(|f| f.credential_id).collect();
    // By user, service, id.
    assert_eq!(ids, ["A5", "A1", "A3", "A6"]);
    assert_eq!(
        f[1].describe(NOW),
        "app (service_credential A1, created 2024-05-22, 10 days, never expires)"
    );
    assert_eq!(
        f[2].describe(NOW),
        "app (service_credential A3, created 2024-05-22, 10 days, expires 2024-08-21)"
    );
    // The limit is a threshold: at 1 day, every live API key fails.
    let t = Thresholds {
        api_key_max_lifetime: DAY,
        ..Thresholds::default()
    };
    assert_eq!(
        verdict(&derive(&d, &t, NOW), ControlId::ApiKeyLifetime),
        Some((true, 6))
    );
    // bedrock_long_term_api_key is unchanged: Bedrock's live key only.
    assert_eq!(
        verdict(&p, ControlId::BedrockLongTermApiKey),
        Some((true, 1))
    );
}

#[test]
fn short_lived_api_keys_and_no_keys_pass_and_an_unknown_list_is_absent() {
    let d = with_credentials(Some(vec![
        key("bedrock.amazonaws.com", "A1", "active", Some(7)),
        key("codecommit.amazonaws.com", "A2", "active", None),
    ]));
    assert_eq!(
        verdict(&derive_default(&d), ControlId::ApiKeyLifetime),
        Some((false, 0))
    );
    let d = with_credentials(Some(vec![]));
    assert_eq!(
        verdict(&derive_default(&d), ControlId::ApiKeyLifetime),
        Some((false, 0))
    );
    let d = with_credentials(None);
    assert_eq!(
        verdict(&derive_default(&d), ControlId::ApiKeyLifetime),
        None
    );
}

#[test]
fn only_codecommit_and_keyspaces_credentials_are_not_api_keys() {
    for (service, api_key) in [
        ("bedrock.amazonaws.com", true),
        ("aws-external-anthropic.amazonaws.com", true),
        ("cloudwatch.amazonaws.com", true),
        ("logs.amazonaws.com", true),
        ("anything-new.amazonaws.com", true),
        ("codecommit.amazonaws.com", false),
        ("cassandra.amazonaws.com", false),
    ] {
        assert_eq!(
            key(service, "X", "active", None).is_api_key(),
            api_key,
            "{service}"
        );
    }
}
