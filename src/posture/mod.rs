//! PURE: (report, summary, password policy, MFA devices, now) -> [`Posture`].
//!
//! Second stage of the pipeline. Every number here traces to a credential-report column or a
//! `SummaryMap` key; every control verdict to the benchmark text (see [`controls`]: one table
//! row and one evaluator per control). `now` is an argument, never read from the clock, so every
//! verdict is testable.
//!
//! Unknown is not false: a fact the input does not give (a column missing from the report, a
//! value that could not be read, an API call refused) is `None`, and so is every count and
//! control that needs it. A count needs every user known; a control fails on any known failure
//! and passes only when every user is known.

pub mod controls;
mod finding;
pub mod quarantine;
pub mod root_audit;

pub use controls::{CIS_VERSIONS, CONTROLS, Control, ControlId, Evaluator, Input, Severity};
pub use finding::{Credential, Finding};

use crate::report::{CredentialReport, Date};

/// The account summary, as AWS returns it: key name -> integer. Unknown keys are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary(pub Vec<(String, i64)>);

impl Summary {
    pub fn get(&self, key: &str) -> Option<i64> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// The account password policy (GetAccountPasswordPolicy): every field of AWS's answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub minimum_length: Option<i64>,
    pub reuse_prevention: Option<i64>,
    /// `MaxPasswordAge` in days; 0 or absent: passwords never expire.
    pub max_age_days: Option<i64>,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    pub allow_users_to_change_password: bool,
    /// `HardExpiry`; AWS leaves it out when it was never set (false).
    pub hard_expiry: bool,
    /// `ExpirePasswords`: AWS's own "MaxPasswordAge is more than 0".
    pub expire_passwords: bool,
}

impl PasswordPolicy {
    /// How long passwords live, in seconds; `None` when they never expire (`MaxPasswordAge`
    /// absent or 0, as moto sends it).
    pub fn max_age(&self) -> Option<i64> {
        self.max_age_days
            .filter(|d| *d > 0)
            .map(|d| d.saturating_mul(DAY))
    }
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
    /// Everything else the source fetched (summary, policy, MFA devices, service credentials).
    pub facts: Facts,
}

/// Everything one refresh fetched for one account besides the credential report: what a
/// source ([`crate::aws`], [`crate::offline`]) fills, field by field, and the controls read.
///
/// `None` (or [`PolicyState::Unknown`]) means the call was not made or failed: the facts and
/// controls that need it are then absent, never guessed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// GetAccountSummary.
    pub summary: Option<Summary>,
    /// GetAccountPasswordPolicy (`NoSuchEntity` is the answer "no policy").
    pub password_policy: PolicyState,
    /// Whether a virtual MFA device is assigned to root (ListVirtualMFADevices); `None` when
    /// the call was not made or failed.
    pub root_virtual_mfa: Option<bool>,
    /// IAM users (root excluded) with a virtual (TOTP app) MFA device assigned, from the same
    /// ListVirtualMFADevices call; `None` when unknown. Lets a team follow its move to
    /// phishing-resistant MFA.
    pub virtual_mfa_users: Option<Vec<String>>,
    /// Service-specific credentials of every user (ListServiceSpecificCredentials with
    /// AllUsers=true): CodeCommit, Keyspaces, Bedrock API keys. They never appear in the
    /// credential report. `None` when unknown (refused, unsupported partition).
    pub service_credentials: Option<Vec<ServiceCredential>>,
    /// The SSL/TLS server certificates stored in IAM (ListServerCertificates, every page):
    /// CIS 1.19 / Security Hub IAM.26. `None` when unknown (refused, failed, offline).
    pub server_certificates: Option<Vec<ServerCertificate>>,
    /// The organization's centralized root access features (ListOrganizationsFeatures). Asked
    /// once per refresh interval with the exporter's own credentials, never by an account's
    /// refresh: only the exporter-level part sets it (see [`organization_verdict`]). `None`
    /// when unknown (not asked, refused, not an organization).
    pub organization: Option<OrganizationFeatures>,
    /// The exposed-key quarantine policies attached in the account and who has them
    /// (ListPolicies, ListEntitiesForPolicy, GetGroup); `None` when unknown (a call refused or
    /// failed: the quarantine series and `exposed_key_quarantine` are then absent).
    pub quarantine: Option<quarantine::Quarantine>,
}

/// The AWS Organizations features of the exporter's organization (ListOrganizationsFeatures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationFeatures {
    pub organization_id: String,
    /// Centralized root access: member accounts' root credentials can be removed.
    pub root_credentials_management: bool,
    /// Privileged root sessions can be taken in member accounts.
    pub root_sessions: bool,
}

/// One service-specific credential, as ListServiceSpecificCredentials returns it (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCredential {
    pub user: String,
    /// As AWS names it: `bedrock.amazonaws.com`, `codecommit.amazonaws.com`, ...
    pub service: String,
    /// `ServiceSpecificCredentialId`, an identifier.
    pub id: String,
    /// Lower-cased: `active`, `inactive` or `expired`.
    pub status: String,
    /// `CreateDate`, seconds since the epoch.
    pub created: i64,
    /// `ExpirationDate`, where AWS gives one (Bedrock and CloudWatch Logs API keys created with
    /// an expiry).
    pub expires: Option<i64>,
}

/// The Bedrock service name of IAM-backed (long-term) Bedrock API keys.
pub const BEDROCK: &str = "bedrock.amazonaws.com";

/// The service-specific credentials that are not API keys: CodeCommit HTTPS Git and Amazon
/// Keyspaces passwords, the two kinds that predate API keys. Every other service's credential
/// (Bedrock, CloudWatch, CloudWatch Logs, `aws-external-anthropic`, and any service AWS adds
/// later) is an API key, so a new API-key service is judged without a release.
pub const NOT_API_KEY_SERVICES: [&str; 2] = ["codecommit.amazonaws.com", "cassandra.amazonaws.com"];

impl ServiceCredential {
    /// A long-term API key of some service (not a CodeCommit or Keyspaces password).
    pub fn is_api_key(&self) -> bool {
        !NOT_API_KEY_SERVICES.contains(&self.service.as_str())
    }
}

/// One SSL/TLS server certificate stored in IAM, as ListServerCertificates lists it (its
/// metadata: never the body or the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCertificate {
    /// `ServerCertificateName`: unique in the account (IAM's other certificate calls take only
    /// the name), so it alone names the certificate.
    pub name: String,
    /// `Arn` (it holds the `Path`).
    pub arn: String,
    /// `Expiration` (the certificate's notAfter), when AWS gives it.
    pub expiration: Option<i64>,
}

/// The server certificates, one per name (the first listed wins, should pages overlap), sorted
/// by name for a stable exposition; `None` when unknown.
pub fn server_certificates(data: &AccountData) -> Option<Vec<&ServerCertificate>> {
    let mut all: Vec<&ServerCertificate> =
        data.facts.server_certificates.as_ref()?.iter().collect();
    // A stable sort keeps the first listed of equal names first, and dedup keeps it.
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all.dedup_by(|a, b| a.name == b.name);
    Some(all)
}

/// The service credentials, one per credential id (the first listed wins, should pages
/// overlap), sorted by user, service and id for a stable exposition; `None` when unknown.
pub fn service_credentials(data: &AccountData) -> Option<Vec<&ServiceCredential>> {
    let mut all: Vec<&ServiceCredential> =
        data.facts.service_credentials.as_ref()?.iter().collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all.dedup_by(|a, b| a.id == b.id);
    all.sort_by(|a, b| (&a.user, &a.service, &a.id).cmp(&(&b.user, &b.service, &b.id)));
    Some(all)
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
    /// Security Hub IAM.17: passwords must expire within this many seconds (90 days).
    pub password_max_age: i64,
    /// Security Hub IAM.7's parameters.
    pub strong_password: StrongPassword,
    /// API keys (service-specific credentials of API-key services) may live this long (90 days).
    pub api_key_max_lifetime: i64,
}

/// The parameters of Security Hub IAM.7 ("Password policies for IAM users should have strong
/// configurations") with Security Hub's defaults: every character class and a minimum length of
/// 8; `PasswordReusePrevention` and `MaxPasswordAge` have no default and are then not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrongPassword {
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub min_length: i64,
    /// Checked only when set: the policy must remember at least this many passwords.
    pub reuse_prevention: Option<i64>,
    /// Checked only when set: passwords must expire within this many seconds.
    pub max_age: Option<i64>,
}

impl Default for StrongPassword {
    fn default() -> Self {
        StrongPassword {
            require_uppercase: true,
            require_lowercase: true,
            require_symbols: true,
            require_numbers: true,
            min_length: 8,
            reuse_prevention: None,
            max_age: None,
        }
    }
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
            password_max_age: 90 * DAY,
            strong_password: StrongPassword::default(),
            api_key_max_lifetime: 90 * DAY,
        }
    }
}

/// A control's verdict for one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub control: ControlId,
    pub failing: bool,
    /// How many resources fail: users for user controls, root credentials for root controls,
    /// the policy for password policy controls, each credential or certificate for the others.
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
    /// Report `access_key_N_last_rotated`: when each root key was created or last rotated, for
    /// the slots that hold a key.
    pub access_key_last_rotated: [Option<i64>; 2],
    /// Summary `AccountMFAEnabled`, else the report's `mfa_active`.
    pub mfa_enabled: Option<bool>,
    /// MFA on and no virtual device assigned to root.
    pub hardware_mfa_enabled: Option<bool>,
    /// Summary `AccountPasswordPresent`, where AWS sends it.
    pub password_present: Option<bool>,
    /// Whether root has any credential: a password, an access key (active or not) or a
    /// signing certificate. `Some(false)` in an Organizations member account whose root
    /// credentials were removed (centralized root access); then root MFA is not needed.
    pub credentials_present: Option<bool>,
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
/// input is unknown (its column is missing, or the value could not be read), and every count,
/// the users' too, when the users are (a root audit reads root alone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserCounts {
    pub users: Option<u64>,
    pub with_multiple_active_keys: Option<u64>,
    pub console_users: Option<u64>,
    pub console_users_without_mfa: Option<u64>,
    pub console_users_never_signed_in: Option<u64>,
    pub active_access_keys: Option<u64>,
    pub active_access_keys_never_used: Option<u64>,
    /// Console users with a virtual MFA device; `None` also when the device list is unknown.
    pub console_users_with_virtual_mfa: Option<u64>,
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
}

/// What every metric of one account says, derived once per refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posture {
    pub root: RootPosture,
    pub counts: UserCounts,
    /// Verdicts of the controls that could be evaluated, in [`CONTROLS`] order; a control whose
    /// input is unknown (e.g. password policy call denied) is left out rather than guessed.
    pub verdicts: Vec<Verdict>,
}

/// Derives the posture of one account: the facts, the counts, and every control's verdict.
pub fn derive(data: &AccountData, t: &Thresholds, now: i64) -> Posture {
    let root = derive_root(data);
    let counts = count_users(data);
    let input = Input { data, root: &root };
    let verdicts = ControlId::ALL
        .iter()
        .filter_map(|&control| evaluate(&input, t, now, control))
        .collect();
    Posture {
        root,
        counts,
        verdicts,
    }
}

/// One control's verdict: the counting sink (no allocation per user); `None` when its input
/// is unknown.
fn evaluate(
    input: &Input<'_, '_>,
    t: &Thresholds,
    now: i64,
    control: ControlId,
) -> Option<Verdict> {
    let mut n = 0u64;
    (control.control().evaluate)(input, t, now, &mut |f| {
        n += u64::from(!f.continues);
    })?;
    Some(Verdict {
        control,
        failing: n > 0,
        failing_resources: n,
    })
}

/// The verdict of the exporter-level control `root_credentials_management` (CIS 7.0 2.1.1),
/// from the organization's features alone. Same evaluator as [`findings`] uses; an account's
/// [`derive`] never has these facts, so the control is absent from every account's series.
pub fn organization_verdict(
    features: &OrganizationFeatures,
    t: &Thresholds,
    now: i64,
) -> Option<Verdict> {
    let data = AccountData {
        facts: Facts {
            organization: Some(features.clone()),
            ..Facts::default()
        },
        ..AccountData::default()
    };
    let root = derive_root(&data);
    evaluate(
        &Input {
            data: &data,
            root: &root,
        },
        t,
        now,
        ControlId::RootCredentialsManagement,
    )
}

/// The failing credentials of one control, for the `audit` command: `None` when the control's
/// input is unknown (the control is then absent from the exposition too), else one [`Finding`]
/// per failing credential, in report order. The same evaluator as the daemon's counts, so the
/// list and `aws_iam_control_failing_resources` cannot disagree (a user with two failing
/// credentials gives two findings, the second with `continues` set).
pub fn findings<'a>(
    data: &'a AccountData,
    t: &Thresholds,
    now: i64,
    control: ControlId,
) -> Option<Vec<Finding<'a>>> {
    let root = derive_root(data);
    let mut out = Vec::new();
    (control.control().evaluate)(&Input { data, root: &root }, t, now, &mut |f| out.push(f))?;
    Some(out)
}

fn count_users(data: &AccountData) -> UserCounts {
    let report = &data.report;
    if report.root_only {
        return UserCounts::default();
    }
    let users = &report.users;
    let virtual_mfa = virtual_mfa_users(data);
    let mut tally = UserTallies::default();
    for u in users {
        if let Some(set) = &virtual_mfa {
            tally
                .console_users_with_virtual_mfa
                .add(and3(u.password_enabled, Some(set.contains(report.name(u)))));
        }
        for k in &u.access_keys {
            tally.active_access_keys.add(k.active);
            tally
                .active_access_keys_never_used
                .add(controls::key_never_used(k));
        }
        tally
            .with_multiple_active_keys
            .add(controls::both_keys_active(u));
        tally.console_users.add(u.password_enabled);
        tally
            .console_users_without_mfa
            .add(controls::console_without_mfa(u));
        tally
            .console_users_never_signed_in
            .add(controls::console_never_signed_in(u));
    }
    UserCounts {
        users: Some(users.len() as u64),
        with_multiple_active_keys: tally.with_multiple_active_keys.count(),
        console_users: tally.console_users.count(),
        console_users_without_mfa: tally.console_users_without_mfa.count(),
        console_users_never_signed_in: tally.console_users_never_signed_in.count(),
        active_access_keys: tally.active_access_keys.count(),
        active_access_keys_never_used: tally.active_access_keys_never_used.count(),
        console_users_with_virtual_mfa: virtual_mfa
            .and(tally.console_users_with_virtual_mfa.count()),
    }
}

/// The users with a virtual MFA device, for lookups; `None` when unknown.
pub fn virtual_mfa_users(data: &AccountData) -> Option<std::collections::HashSet<&str>> {
    Some(
        data.facts
            .virtual_mfa_users
            .as_ref()?
            .iter()
            .map(String::as_str)
            .collect(),
    )
}

#[derive(Default)]
struct UserTallies {
    with_multiple_active_keys: Tally,
    console_users: Tally,
    console_users_without_mfa: Tally,
    console_users_never_signed_in: Tally,
    active_access_keys: Tally,
    active_access_keys_never_used: Tally,
    console_users_with_virtual_mfa: Tally,
}

fn derive_root(data: &AccountData) -> RootPosture {
    let row = data.report.root.as_ref();
    let summary = |key| {
        data.facts
            .summary
            .as_ref()
            .and_then(|s| s.get(key))
            .map(|v| v > 0)
    };
    let access_key_active =
        row.and_then(|r| Some([r.access_keys[0].active?, r.access_keys[1].active?]));
    let mfa_enabled = summary("AccountMFAEnabled").or(row.and_then(|r| r.mfa_active));
    let hardware_mfa_enabled = match (mfa_enabled, data.facts.root_virtual_mfa) {
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
    // Where the summary lacks a key, the root row: `password_enabled` `false` means no password
    // (member accounts); root's usual `not_supported` says nothing. A slot holds a key or a
    // certificate if it is active or has a date (an inactive one keeps its `last_rotated`).
    let slot = |active: Option<bool>, rotated: Option<Date>| {
        or3(active, rotated.map(|d| d.timestamp().is_some()))
    };
    let report_password = row.and_then(|r| r.password_enabled);
    let report_keys = row.and_then(|r| {
        let [a, b] = r.access_keys.map(|k| slot(k.active, k.last_rotated));
        or3(a, b)
    });
    let report_certs = row.and_then(|r| {
        let [a, b] = r.certificates.map(|c| slot(c.active, c.last_rotated));
        or3(a, b)
    });
    let credentials_present = or3(
        summary("AccountPasswordPresent").or(report_password),
        or3(
            summary("AccountAccessKeysPresent").or(report_keys),
            summary("AccountSigningCertificatesPresent").or(report_certs),
        ),
    );
    RootPosture {
        credentials_present,
        access_keys_present: summary("AccountAccessKeysPresent")
            .or(access_key_active.map(|k| k.contains(&true))),
        access_key_active,
        access_key_last_rotated: row
            .map(|r| {
                r.access_keys
                    .map(|k| k.last_rotated.and_then(Date::timestamp))
            })
            .unwrap_or_default(),
        mfa_enabled,
        hardware_mfa_enabled,
        password_present: summary("AccountPasswordPresent"),
        signing_certificate_active: row
            .and_then(|r| Some([r.certificates[0].active?, r.certificates[1].active?])),
        last_used,
    }
}

#[cfg(test)]
mod tests;
