//! The password policy (GetAccountPasswordPolicy): every field a metric, the character-class,
//! expiry and strong-policy controls of Security Hub (IAM.7, IAM.11-14, IAM.17) with their
//! flags; no policy fails them, a refused call leaves them absent.

use super::*;

/// The policy's field gauges (one per API field).
const POLICY_FIELDS: [&str; 7] = [
    "aws_iam_password_policy_require_uppercase_characters",
    "aws_iam_password_policy_require_lowercase_characters",
    "aws_iam_password_policy_require_numbers",
    "aws_iam_password_policy_require_symbols",
    "aws_iam_password_policy_allow_users_to_change_password",
    "aws_iam_password_policy_hard_expiry",
    "aws_iam_password_policy_expire_passwords",
];

#[test]
fn every_password_policy_field_is_a_metric_and_missing_classes_fail_their_controls() {
    let s = Scenario::start();
    s.set_password_policy(Some(PasswordPolicy {
        require_symbols: false,
        require_numbers: false,
        max_password_age: Some(120),
        hard_expiry: Some(true),
        ..PasswordPolicy::default()
    }));
    let m = once_ok(&s, &[]);

    let field = |name: &str| val(&m, name, &[ACCT]);
    assert_eq!(
        field("aws_iam_password_policy_require_uppercase_characters"),
        1.0
    );
    assert_eq!(
        field("aws_iam_password_policy_require_lowercase_characters"),
        1.0
    );
    assert_eq!(field("aws_iam_password_policy_require_numbers"), 0.0);
    assert_eq!(field("aws_iam_password_policy_require_symbols"), 0.0);
    assert_eq!(
        field("aws_iam_password_policy_allow_users_to_change_password"),
        1.0
    );
    assert_eq!(field("aws_iam_password_policy_hard_expiry"), 1.0);
    assert_eq!(field("aws_iam_password_policy_expire_passwords"), 1.0);
    assert_eq!(
        field("aws_iam_password_policy_max_age_seconds"),
        120.0 * 86_400.0
    );

    assert_eq!(control(&m, "password_policy_uppercase"), Some(0.0));
    assert_eq!(control(&m, "password_policy_lowercase"), Some(0.0));
    assert_eq!(control(&m, "password_policy_symbols"), Some(1.0));
    assert_eq!(control(&m, "password_policy_numbers"), Some(1.0));
    // 120 days is longer than the 90 of IAM.17.
    assert_eq!(control(&m, "password_policy_expiry"), Some(1.0));
    // IAM.7's defaults want every class: symbols and numbers are missing.
    assert_eq!(control(&m, "password_policy_strong"), Some(1.0));
    for id in PASSWORD_POLICY_CONTROLS {
        let failing = control(&m, id).unwrap();
        // One resource: the account's policy.
        assert_eq!(failing_resources(&m, id), Some(failing), "{id}");
    }
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing",
            &[
                ("control", "password_policy_symbols"),
                ("securityhub", "IAM.13")
            ]
        ),
        1.0
    );
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing",
            &[
                ("control", "password_policy_strong"),
                ("securityhub", "IAM.7")
            ]
        ),
        1.0
    );
    // The CIS 1.8/1.9 controls still pass: length 14, reuse 24.
    assert_eq!(control(&m, "password_policy_length"), Some(0.0));
    assert_eq!(control(&m, "password_policy_reuse"), Some(0.0));
}

#[test]
fn each_strong_policy_parameter_and_the_expiry_threshold_is_a_flag() {
    let s = Scenario::start();
    s.set_password_policy(Some(PasswordPolicy {
        require_symbols: false,
        minimum_password_length: 10,
        max_password_age: Some(120),
        password_reuse_prevention: Some(12),
        ..PasswordPolicy::default()
    }));

    // Security Hub's defaults: every class and length 8; reuse and age not checked.
    let m = once_ok(&s, &[]);
    assert_eq!(control(&m, "password_policy_strong"), Some(1.0));
    let m = once_ok(&s, &["--control.strong-password.require-symbols=false"]);
    assert_eq!(control(&m, "password_policy_strong"), Some(0.0));
    // Stricter parameters fail the same policy again, each on its own.
    for extra in [
        "--control.strong-password.min-length=12",
        "--control.strong-password.reuse-prevention=24",
        "--control.strong-password.max-age=90d",
    ] {
        let m = once_ok(
            &s,
            &["--control.strong-password.require-symbols=false", extra],
        );
        assert_eq!(control(&m, "password_policy_strong"), Some(1.0), "{extra}");
    }
    let m = once_ok(
        &s,
        &[
            "--control.strong-password.require-symbols=false",
            "--control.strong-password.min-length=10",
            "--control.strong-password.reuse-prevention=12",
            "--control.strong-password.max-age=120d",
        ],
    );
    assert_eq!(control(&m, "password_policy_strong"), Some(0.0));

    // IAM.17's 90 days is --control.password-max-age.
    let m = once_ok(&s, &[]);
    assert_eq!(control(&m, "password_policy_expiry"), Some(1.0));
    let m = once_ok(&s, &["--control.password-max-age=120d"]);
    assert_eq!(control(&m, "password_policy_expiry"), Some(0.0));
}

#[test]
fn a_compliant_policy_passes_and_aws_minimal_policy_fails_every_policy_control() {
    let s = Scenario::start();
    s.set_password_policy(Some(PasswordPolicy::default()));
    let m = once_ok(&s, &[]);
    for id in PASSWORD_POLICY_CONTROLS {
        assert_eq!(control(&m, id), Some(0.0), "{id}");
        assert_eq!(failing_resources(&m, id), Some(0.0), "{id}");
    }

    // Length 8, nothing else: no class, passwords never expire.
    s.set_password_policy(Some(PasswordPolicy::weak()));
    let m = once_ok(&s, &[]);
    for id in PASSWORD_POLICY_CONTROLS {
        assert_eq!(control(&m, id), Some(1.0), "{id}");
    }
    for name in POLICY_FIELDS {
        assert_eq!(val(&m, name, &[ACCT]), 0.0, "{name}");
    }
    assert_eq!(
        metric_value(&m, "aws_iam_password_policy_max_age_seconds", &[]),
        None,
        "passwords do not expire"
    );
}

#[test]
fn passwords_that_never_expire_fail_the_expiry_control_whatever_the_threshold() {
    let s = Scenario::start();
    // MaxPasswordAge 0 (moto sends it for a policy without expiry): ExpirePasswords false.
    s.set_password_policy(Some(PasswordPolicy {
        expire_passwords: false,
        max_password_age: Some(0),
        ..PasswordPolicy::default()
    }));
    let m = once_ok(&s, &["--control.password-max-age=3650d"]);
    assert_eq!(control(&m, "password_policy_expiry"), Some(1.0));
    assert_eq!(
        val(&m, "aws_iam_password_policy_expire_passwords", &[ACCT]),
        0.0
    );
    assert_absent(&m, "aws_iam_password_policy_max_age_seconds");
    // A strong-policy max age fails it too; without one, IAM.7 ignores the age.
    let m = once_ok(&s, &["--control.strong-password.max-age=90d"]);
    assert_eq!(control(&m, "password_policy_strong"), Some(1.0));
    let m = once_ok(&s, &[]);
    assert_eq!(control(&m, "password_policy_strong"), Some(0.0));
}

#[test]
fn no_policy_fails_every_policy_control_and_a_refused_call_leaves_them_absent() {
    let s = Scenario::start();
    s.set_password_policy(None);
    let m = once_ok(&s, &[]);
    assert_eq!(val(&m, "aws_iam_password_policy_present", &[ACCT]), 0.0);
    for id in PASSWORD_POLICY_CONTROLS {
        assert_eq!(control(&m, id), Some(1.0), "{id}: no policy fails");
        assert_eq!(failing_resources(&m, id), Some(1.0), "{id}");
    }
    for name in POLICY_FIELDS {
        assert_eq!(
            metric_samples(&m, name).len(),
            0,
            "{name}: no policy, no field"
        );
    }

    s.set_password_policy(Some(PasswordPolicy::default()));
    s.deny("GetAccountPasswordPolicy");
    let m = once_ok(&s, &[]);
    for id in PASSWORD_POLICY_CONTROLS {
        assert_eq!(control(&m, id), None, "{id}: unknown is absent");
    }
    for name in POLICY_FIELDS {
        assert_eq!(metric_samples(&m, name).len(), 0, "{name}");
    }
    assert_eq!(
        metric_samples(&m, "aws_iam_password_policy_present").len(),
        0
    );
    assert_eq!(
        errors_total(&m, "GetAccountPasswordPolicy", "AccessDenied"),
        Some(1.0)
    );
    assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
}
