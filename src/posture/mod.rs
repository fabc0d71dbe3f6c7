//! PURE: (report, summary, password policy, MFA devices, now) -> [`Posture`].
//!
//! Second stage of the pipeline. Every number here traces to a credential-report column or a
//! `SummaryMap` key; every control verdict to the CIS AWS Foundations Benchmark text (v1.4-v4.0
//! numbering). `now` is an argument, never read from the clock, so every verdict is testable.

use crate::report::{AccessKey, CredentialReport, Date, Row};

/// The account summary, as AWS returns it: key name -> integer. Unknown keys are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary(pub Vec<(String, i64)>);

impl Summary {
    pub fn get(&self, key: &str) -> Option<i64> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// The account password policy (GetAccountPasswordPolicy), as far as the controls need it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub minimum_length: Option<i64>,
    pub reuse_prevention: Option<i64>,
    pub max_age_days: Option<i64>,
}

/// What is known of the password policy: `NoSuchEntity` is an answer (no policy), a denied or
/// failed call is not (unknown: the controls that need it are not evaluated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PolicyState {
    #[default]
    Unknown,
    Absent,
    Present(PasswordPolicy),
}

/// Everything fetched for one account in one refresh: the input of [`derive`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountData {
    pub report: CredentialReport,
    /// The report's `GeneratedTime` (seconds since the epoch), when known.
    pub generated: Option<i64>,
    pub summary: Option<Summary>,
    pub password_policy: PolicyState,
    /// Whether a virtual MFA device is assigned to root (ListVirtualMFADevices); `None` when
    /// the call was not made or failed.
    pub root_virtual_mfa: Option<bool>,
}

/// Thresholds of the controls. Defaults are the benchmark's; each is a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// CIS 1.7: root used within this many seconds fails.
    pub root_recent_use: i64,
    /// CIS 1.12 / IAM.22: credentials unused this long fail (45 days).
    pub unused_credentials: i64,
    /// Security Hub IAM.8: the older, looser variant (90 days).
    pub unused_credentials_long: i64,
    /// CIS 1.14 / IAM.3: active keys older than this fail (90 days).
    pub access_key_max_age: i64,
    /// CIS 1.8 / IAM.15.
    pub password_min_length: i64,
    /// CIS 1.9 / IAM.16.
    pub password_reuse_prevention: i64,
    /// CIS 1.11: a key created this close to its user counts as set up with the user.
    pub initial_access_key_window: i64,
}

const DAY: i64 = 86_400;

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            root_recent_use: 7 * DAY,
            unused_credentials: 45 * DAY,
            unused_credentials_long: 90 * DAY,
            access_key_max_age: 90 * DAY,
            password_min_length: 14,
            password_reuse_prevention: 24,
            initial_access_key_window: 10,
        }
    }
}

/// A control: a stable id plus the numbers auditors use.
#[derive(Debug, PartialEq, Eq)]
pub struct Control {
    pub id: &'static str,
    /// CIS AWS Foundations Benchmark v1.4-v4.0 number ("" when the benchmark has none).
    pub cis: &'static str,
    /// AWS Security Hub control id ("" when none).
    pub securityhub: &'static str,
    pub title: &'static str,
}

macro_rules! controls {
    ($($name:ident = ($id:literal, $cis:literal, $sh:literal, $title:literal);)*) => {
        /// Every control, in README order.
        pub const CONTROLS: &[Control] = &[$(Control { id: $id, cis: $cis, securityhub: $sh, title: $title }),*];
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        /// Index of a control in [`CONTROLS`].
        pub enum ControlId { $($name),* }
    };
}

controls! {
    RootAccessKey = ("root_access_key", "1.4", "IAM.4", "No root user access key exists");
    RootMfa = ("root_mfa", "1.5", "IAM.9", "MFA is enabled for the root user");
    RootHardwareMfa = ("root_hardware_mfa", "1.6", "IAM.6", "Hardware MFA is enabled for the root user");
    RootRecentUse = ("root_recent_use", "1.7", "", "The root user is not used for daily tasks");
    PasswordPolicyLength = ("password_policy_length", "1.8", "IAM.15", "Password policy requires a minimum length of 14");
    PasswordPolicyReuse = ("password_policy_reuse", "1.9", "IAM.16", "Password policy prevents password reuse (24)");
    ConsoleUserMfa = ("console_user_mfa", "1.10", "IAM.5", "MFA is enabled for every user with a console password");
    InitialAccessKey = ("initial_access_key", "1.11", "", "No access keys set up with a console user and never used");
    UnusedCredentials45d = ("unused_credentials_45d", "1.12", "IAM.22", "Credentials unused for 45 days are disabled");
    UnusedCredentials90d = ("unused_credentials_90d", "1.12", "IAM.8", "Credentials unused for 90 days are disabled");
    MultipleActiveKeys = ("multiple_active_keys", "1.13", "", "At most one active access key per user");
    AccessKeyRotation = ("access_key_rotation", "1.14", "IAM.3", "Active access keys are rotated within 90 days");
    RootSigningCertificate = ("root_signing_certificate", "", "", "The root user has no active signing certificate");
    ConsoleUserNeverSignedIn = ("console_user_never_signed_in", "", "", "Every console password has been used");
}

impl ControlId {
    pub fn control(self) -> &'static Control {
        &CONTROLS[self as usize]
    }
}

/// A control's verdict for one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub control: ControlId,
    pub failing: bool,
    /// How many resources fail: users for user controls, root credentials for root controls.
    pub failing_resources: u64,
}

/// Which root credential a last-use time belongs to (label `credential`).
pub const ROOT_CREDENTIALS: [&str; 3] = ["password", "access_key_1", "access_key_2"];

/// The root user, as far as the report and the summary tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootPosture {
    /// Summary `AccountAccessKeysPresent` (an inactive key counts), else the report's keys.
    pub access_keys_present: Option<bool>,
    /// Report `access_key_N_active`; `None` without a root row.
    pub access_key_active: Option<[bool; 2]>,
    /// Summary `AccountMFAEnabled`, else the report's `mfa_active`.
    pub mfa_enabled: Option<bool>,
    /// MFA on and no virtual device assigned to root.
    pub hardware_mfa_enabled: Option<bool>,
    /// Summary `AccountPasswordPresent`, where AWS sends it.
    pub password_present: Option<bool>,
    pub signing_certificate_active: Option<[bool; 2]>,
    /// Last use per credential of [`ROOT_CREDENTIALS`], only those with a date.
    pub last_used: Vec<(&'static str, i64)>,
}

impl RootPosture {
    /// The most recent use of any root credential (not the first in a fixed order).
    pub fn most_recent_use(&self) -> Option<i64> {
        self.last_used.iter().map(|(_, t)| *t).max()
    }
}

/// Counts over the IAM users of the report (root excluded). A count is `None` when any user's
/// input is unknown (its column is missing, or the value could not be read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserCounts {
    pub users: u64,
    pub with_multiple_active_keys: Option<u64>,
    pub console_users: Option<u64>,
    pub console_users_without_mfa: Option<u64>,
    pub console_users_never_signed_in: Option<u64>,
    pub active_access_keys: Option<u64>,
    pub active_access_keys_never_used: Option<u64>,
}

/// `a && b` over facts that may be unknown: false wins over unknown.
pub(crate) fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// `a || b` over facts that may be unknown: true wins over unknown.
pub(crate) fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// A count over rows, some of which may not say.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    n: u64,
    unknown: u64,
}

impl Tally {
    pub(crate) fn add(&mut self, v: Option<bool>) {
        match v {
            Some(true) => self.n += 1,
            Some(false) => {}
            None => self.unknown += 1,
        }
    }

    /// As a gauge: absent when any row could not say, as a lower bound would read as the count.
    pub(crate) fn count(self) -> Option<u64> {
        (self.unknown == 0).then_some(self.n)
    }

    /// As a control's failing resources: a known failure fails; a pass needs every row known.
    pub(crate) fn failing(self) -> Option<u64> {
        (self.n > 0 || self.unknown == 0).then_some(self.n)
    }
}

/// What every metric of one account says, derived once per refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posture {
    pub root: RootPosture,
    pub counts: UserCounts,
    /// Verdicts of the controls that could be evaluated; a control whose input is unknown
    /// (e.g. password policy call denied) is left out rather than guessed.
    pub verdicts: Vec<Verdict>,
}

/// Derives the posture of one account.
pub fn derive(data: &AccountData, t: &Thresholds, now: i64) -> Posture {
    let root = derive_root(data);
    let users = &data.report.users;
    let mut tally = UserTallies::default();
    for u in users {
        let console = u.password_enabled;
        for k in &u.access_keys {
            tally.active_access_keys.add(k.active);
            tally.active_access_keys_never_used.add(key_never_used(k));
        }
        tally
            .with_multiple_active_keys
            .add(and3(u.access_keys[0].active, u.access_keys[1].active));
        tally.console_users.add(console);
        tally
            .console_users_without_mfa
            .add(and3(console, u.mfa_active.map(|m| !m)));
        tally.console_users_never_signed_in.add(and3(
            console,
            u.password_last_used.map(|d| d.timestamp().is_none()),
        ));
        tally.initial_access_key.add(has_initial_access_key(u, t));
        tally
            .unused_45d
            .add(has_unused_credential(u, t.unused_credentials, now));
        tally
            .unused_90d
            .add(has_unused_credential(u, t.unused_credentials_long, now));
        tally
            .rotation
            .add(has_stale_key(u, t.access_key_max_age, now));
    }
    let counts = UserCounts {
        users: users.len() as u64,
        with_multiple_active_keys: tally.with_multiple_active_keys.count(),
        console_users: tally.console_users.count(),
        console_users_without_mfa: tally.console_users_without_mfa.count(),
        console_users_never_signed_in: tally.console_users_never_signed_in.count(),
        active_access_keys: tally.active_access_keys.count(),
        active_access_keys_never_used: tally.active_access_keys_never_used.count(),
    };

    let mut verdicts = Vec::with_capacity(CONTROLS.len());
    let mut push = |control, failing_resources: Option<u64>| {
        if let Some(n) = failing_resources {
            verdicts.push(Verdict {
                control,
                failing: n > 0,
                failing_resources: n,
            });
        }
    };

    // 1.4: a key counts if the live summary says so (an inactive key still counts, as for the
    // AWS Config rule: it should be deleted), or if the report shows an active one.
    let report_keys = root
        .access_key_active
        .map(|k| k.iter().filter(|a| **a).count() as u64);
    let summary_keys = data
        .summary
        .as_ref()
        .and_then(|s| s.get("AccountAccessKeysPresent"))
        .map(|v| u64::from(v > 0));
    push(
        ControlId::RootAccessKey,
        match (report_keys, summary_keys) {
            (Some(r), Some(s)) => Some(r.max(s)),
            (r, s) => r.or(s),
        },
    );
    push(ControlId::RootMfa, root.mfa_enabled.map(|m| u64::from(!m)));
    push(
        ControlId::RootHardwareMfa,
        root.hardware_mfa_enabled.map(|h| u64::from(!h)),
    );
    let mut recent = Tally::default();
    if let Some(r) = &data.report.root {
        for used in [
            r.password_last_used,
            r.access_keys[0].last_used,
            r.access_keys[1].last_used,
        ] {
            recent.add(used.map(|d| {
                d.timestamp()
                    .is_some_and(|at| now - at <= t.root_recent_use)
            }));
        }
    }
    push(
        ControlId::RootRecentUse,
        data.report.root.as_ref().and_then(|_| recent.failing()),
    );
    let (length, reuse) = match data.password_policy {
        PolicyState::Unknown => (None, None),
        PolicyState::Absent => (Some(1), Some(1)),
        PolicyState::Present(p) => (
            Some(u64::from(
                p.minimum_length.unwrap_or(0) < t.password_min_length,
            )),
            Some(u64::from(
                p.reuse_prevention.unwrap_or(0) < t.password_reuse_prevention,
            )),
        ),
    };
    push(ControlId::PasswordPolicyLength, length);
    push(ControlId::PasswordPolicyReuse, reuse);
    push(
        ControlId::ConsoleUserMfa,
        tally.console_users_without_mfa.failing(),
    );
    push(
        ControlId::InitialAccessKey,
        tally.initial_access_key.failing(),
    );
    push(ControlId::UnusedCredentials45d, tally.unused_45d.failing());
    push(ControlId::UnusedCredentials90d, tally.unused_90d.failing());
    push(
        ControlId::MultipleActiveKeys,
        tally.with_multiple_active_keys.failing(),
    );
    push(ControlId::AccessKeyRotation, tally.rotation.failing());
    let report_certs = root
        .signing_certificate_active
        .map(|c| c.iter().filter(|a| **a).count() as u64);
    let summary_certs = data
        .summary
        .as_ref()
        .and_then(|s| s.get("AccountSigningCertificatesPresent"))
        .map(|v| u64::from(v > 0));
    push(
        ControlId::RootSigningCertificate,
        // The report says which certificate is active; the summary only that one exists.
        report_certs.or(summary_certs),
    );
    push(
        ControlId::ConsoleUserNeverSignedIn,
        tally.console_users_never_signed_in.failing(),
    );

    Posture {
        root,
        counts,
        verdicts,
    }
}

#[derive(Default)]
struct UserTallies {
    with_multiple_active_keys: Tally,
    console_users: Tally,
    console_users_without_mfa: Tally,
    console_users_never_signed_in: Tally,
    active_access_keys: Tally,
    active_access_keys_never_used: Tally,
    initial_access_key: Tally,
    unused_45d: Tally,
    unused_90d: Tally,
    rotation: Tally,
}

fn derive_root(data: &AccountData) -> RootPosture {
    let row = data.report.root.as_ref();
    let summary = |key| {
        data.summary
            .as_ref()
            .and_then(|s| s.get(key))
            .map(|v| v > 0)
    };
    let access_key_active =
        row.and_then(|r| Some([r.access_keys[0].active?, r.access_keys[1].active?]));
    let mfa_enabled = summary("AccountMFAEnabled").or(row.and_then(|r| r.mfa_active));
    let hardware_mfa_enabled = match (mfa_enabled, data.root_virtual_mfa) {
        (Some(false), _) => Some(false),
        (Some(true), Some(virtual_mfa)) => Some(!virtual_mfa),
        _ => None,
    };
    let last_used = row
        .map(|r| {
            [
                r.password_last_used,
                r.access_keys[0].last_used,
                r.access_keys[1].last_used,
            ]
            .into_iter()
            .zip(ROOT_CREDENTIALS)
            .filter_map(|(d, name)| d.and_then(Date::timestamp).map(|t| (name, t)))
            .collect()
        })
        .unwrap_or_default();
    RootPosture {
        access_keys_present: summary("AccountAccessKeysPresent")
            .or(access_key_active.map(|k| k.contains(&true))),
        access_key_active,
        mfa_enabled,
        hardware_mfa_enabled,
        password_present: summary("AccountPasswordPresent"),
        signing_certificate_active: row
            .and_then(|r| Some([r.certificates[0].active?, r.certificates[1].active?])),
        last_used,
    }
}

/// An active key with no recorded use (`N/A` last used while active).
fn key_never_used(k: &AccessKey) -> Option<bool> {
    and3(k.active, k.last_used.map(|d| d.timestamp().is_none()))
}

/// When a key was created or last rotated. An active key whose `last_rotated` is `N/A` has an
/// unknown age: guessing the user's creation would fail a key that may be a day old.
fn key_created(u: &Row, key: usize) -> Option<i64> {
    u.access_keys[key].last_rotated?.timestamp()
}

/// CIS 1.11: a console user whose active key was created together with the user and never used.
fn has_initial_access_key(u: &Row, t: &Thresholds) -> Option<bool> {
    let created = u.user_creation_time.map(Date::timestamp);
    let key = |k: &AccessKey| {
        let same_time = match (k.last_rotated, created) {
            (Some(Date::At(r)), Some(Some(c))) => {
                Some((r - c).abs() <= t.initial_access_key_window)
            }
            _ => None,
        };
        and3(key_never_used(k), same_time)
    };
    and3(
        u.password_enabled,
        or3(key(&u.access_keys[0]), key(&u.access_keys[1])),
    )
}

/// CIS 1.12: a password or active key not used for `limit` seconds. A credential never used is
/// as old as its creation (password change, key rotation, else the user): never-used keys do
/// not pass silently, as they do in Prowler.
fn has_unused_credential(u: &Row, limit: i64, now: i64) -> Option<bool> {
    let stale = |last: Option<i64>| last.map(|at| now - at > limit);
    let password = and3(
        u.password_enabled,
        match u.password_last_used {
            None => None,
            Some(Date::At(t)) => stale(Some(t)),
            Some(_) => stale(
                u.password_last_changed
                    .and_then(Date::timestamp)
                    .or(u.user_creation_time.and_then(Date::timestamp)),
            ),
        },
    );
    let key = |i: usize| {
        let k = &u.access_keys[i];
        and3(
            k.active,
            match k.last_used {
                None => None,
                Some(Date::At(t)) => stale(Some(t)),
                Some(_) => stale(key_created(u, i)),
            },
        )
    };
    or3(password, or3(key(0), key(1)))
}

/// CIS 1.14: an active key not rotated for `limit` seconds.
fn has_stale_key(u: &Row, limit: i64, now: i64) -> Option<bool> {
    let key = |i: usize| {
        and3(
            u.access_keys[i].active,
            key_created(u, i).map(|c| now - c > limit),
        )
    };
    or3(key(0), key(1))
}

#[cfg(test)]
mod tests;
