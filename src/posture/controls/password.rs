//! The evaluators of the account password policy (GetAccountPasswordPolicy): CIS 1.8/1.9
//! (Security Hub IAM.15/IAM.16), the character classes IAM.11-14, expiry IAM.17 and the strong
//! policy IAM.7. No policy (`NoSuchEntity`) fails each of them, as AWS's default policy requires
//! no class and never expires passwords; an unknown policy (call refused or failed) leaves them
//! absent. The failing resource is the account's policy.

use super::{Input, Sink};
use crate::posture::{
    Credential, Finding, PasswordPolicy, PolicyState, StrongPassword, Thresholds,
};

/// A policy control: `weak` says whether a present policy fails.
fn password_policy<'a>(
    i: &Input<'a, '_>,
    sink: Sink<'_, 'a>,
    weak: impl Fn(&PasswordPolicy) -> bool,
) -> Option<()> {
    let failing = match i.data.facts.password_policy {
        PolicyState::Unknown => return None,
        PolicyState::Absent => true,
        PolicyState::Present(p) => weak(&p),
    };
    if failing {
        sink(Finding::new("", Credential::PasswordPolicy));
    }
    Some(())
}

pub(super) fn password_policy_length<'a>(
    i: &Input<'a, '_>,
    t: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    password_policy(i, sink, |p| {
        p.minimum_length.unwrap_or(0) < t.password_min_length
    })
}

pub(super) fn password_policy_reuse<'a>(
    i: &Input<'a, '_>,
    t: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    password_policy(i, sink, |p| {
        p.reuse_prevention.unwrap_or(0) < t.password_reuse_prevention
    })
}

/// The character-class controls: each fails when its field of the policy is false.
macro_rules! class_controls {
    ($($(#[$doc:meta])* $name:ident: $field:ident;)*) => {$(
        $(#[$doc])*
        pub(super) fn $name<'a>(
            i: &Input<'a, '_>,
            _: &Thresholds,
            _: i64,
            sink: Sink<'_, 'a>,
        ) -> Option<()> {
            password_policy(i, sink, |p| !p.$field)
        }
    )*};
}

class_controls! {
    /// IAM.11: `RequireUppercaseCharacters`.
    password_policy_uppercase: require_uppercase;
    /// IAM.12: `RequireLowercaseCharacters`.
    password_policy_lowercase: require_lowercase;
    /// IAM.13: `RequireSymbols`.
    password_policy_symbols: require_symbols;
    /// IAM.14: `RequireNumbers`.
    password_policy_numbers: require_numbers;
}

/// IAM.17: passwords expire, within `--control.password-max-age` (90 days by default).
pub(super) fn password_policy_expiry<'a>(
    i: &Input<'a, '_>,
    t: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    password_policy(i, sink, |p| expires_later_than(p, t.password_max_age))
}

/// IAM.7 with the parameters of `--control.strong-password.*`.
pub(super) fn password_policy_strong<'a>(
    i: &Input<'a, '_>,
    t: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    password_policy(i, sink, |p| !strong(p, &t.strong_password))
}

/// Whether the policy meets every parameter of IAM.7 (Security Hub's `iam-password-policy`
/// rule): each required class required, at least the minimum length, and, only where a
/// parameter is set, at least that reuse prevention and an expiry no later than that age.
fn strong(p: &PasswordPolicy, want: &StrongPassword) -> bool {
    let class = |wanted: bool, required: bool| !wanted || required;
    class(want.require_uppercase, p.require_uppercase)
        && class(want.require_lowercase, p.require_lowercase)
        && class(want.require_symbols, p.require_symbols)
        && class(want.require_numbers, p.require_numbers)
        && p.minimum_length.unwrap_or(0) >= want.min_length
        && want
            .reuse_prevention
            .is_none_or(|n| p.reuse_prevention.unwrap_or(0) >= n)
        && want.max_age.is_none_or(|age| !expires_later_than(p, age))
}

/// Passwords never expire, or live longer than `max_age` seconds.
fn expires_later_than(p: &PasswordPolicy, max_age: i64) -> bool {
    p.max_age().is_none_or(|age| age > max_age)
}
