//! The controls: one table row each (id, benchmark numbers, severity, title) and one evaluator.
//!
//! To add a control: write an evaluator below (the same code counts and names offenders: it
//! reports each failing credential to a sink and returns `None` when its input is unknown), then
//! add a row to `controls!`. The exposition, the `audit` command and the benchmark info metric
//! read the table; nothing else needs to change. The evaluators of the password policy are in
//! `password.rs`, those of the credentials outside the report (service-specific credentials,
//! server certificates) in `credentials.rs`; the root and user ones here.
//!
//! Benchmark numbers: CIS AWS Foundations Benchmark 1.4.0-7.0.0 and the AWS Security Hub ids are
//! taken from Prowler's compliance files (`prowler/compliance/aws/cis_{1.4..7.0}_aws.json`,
//! commit 3e000faa), cross-checked with Steampipe's `cis_v500`/`cis_v600` and
//! `foundational_security` packs and, for 7.0.0, Tenable's audit items (2.8, 2.11). The Security
//! Hub controls with no CIS number in 1.4.0-7.0.0 (IAM.7, IAM.11-14, IAM.17, IAM.19), the
//! numbers of the expired server certificates (CIS 1.19 / 1.18 / 2.18 / 2.17, IAM.26) and which
//! of them are in the FSBP standard (IAM.7 only) are from Security Hub's control reference
//! (`iam-controls`: each control's "Related requirements") and FSBP standard page, checked
//! against the same Prowler files (`iam_no_expired_server_certificates_stored`) and Steampipe's
//! `cis_v120`-`cis_v600` and `foundational_security/iam.pp` (turbot/steampipe-mod-aws-compliance
//! at a1d0b446): docs/controls.md, "Sources".

mod credentials;
mod password;
mod root;

use super::finding::{Credential, Finding};
use super::quarantine::exposed_key_quarantine;
use super::{AccountData, RootPosture, Thresholds, and3, or3};
use crate::report::{AccessKey, Date, Row};
use credentials::*;
use password::*;
use root::*;

/// How bad a failure is (Security Hub's scale, which the alerts follow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// What an evaluator sees. Findings borrow from `data` only, so they outlive `root`.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a, 'r> {
    pub data: &'a AccountData,
    /// The root facts, merged from summary and report once per refresh.
    pub root: &'r RootPosture,
}

/// Reports each failing credential to the sink; returns `None` when the input is unknown (the
/// control is then absent, neither passing nor failing).
pub type Evaluator =
    for<'a, 'r> fn(&Input<'a, 'r>, &Thresholds, i64, &mut dyn FnMut(Finding<'a>)) -> Option<()>;

/// The CIS versions the table has numbers for (`standard="cis-aws-foundations"`); the FSBP
/// standard is `standard="aws-fsbp"`, version `1.0.0` (Security Hub's only version of it).
pub const CIS_VERSIONS: [&str; 8] = [
    "1.4.0", "1.5.0", "2.0.0", "3.0.0", "4.0.1", "5.0.0", "6.0.0", "7.0.0",
];

/// A control: a stable id, the numbers auditors use, and how to evaluate it.
#[derive(Debug)]
pub struct Control {
    /// Exported id (`control` label); stable: alerts and dashboards use it.
    pub id: &'static str,
    /// CIS v1.4.0-v4.0.1 number, the `cis` label ("" when the benchmark has none).
    pub cis: &'static str,
    /// The `cis` label names the recommendation this control loosens, but a pass does not meet
    /// it: the info metric and the table list no CIS number for it.
    pub cis_label_only: bool,
    /// CIS 5.0.0, 6.0.0 and 7.0.0 numbers (renumbered; "" where the version has none).
    pub cis_v5: &'static str,
    pub cis_v6: &'static str,
    pub cis_v7: &'static str,
    /// AWS Security Hub control id, the `securityhub` label ("" when none).
    pub securityhub: &'static str,
    /// Whether that Security Hub control is in the AWS Foundational Security Best Practices
    /// standard (IAM.9, .15, .16, .22 are in Security Hub's CIS standards only).
    pub fsbp: bool,
    pub severity: Severity,
    /// One line for the audit table and docs/controls.md.
    pub title: &'static str,
    /// docs/controls.md: when the control fails, in a sentence (Markdown).
    pub fails_when: &'static str,
    /// docs/controls.md: the flag that sets its threshold, or "".
    pub threshold: &'static str,
    /// docs/controls.md: where its input comes from (report, summary, API calls).
    pub source: &'static str,
    pub evaluate: Evaluator,
}

impl Control {
    /// `(standard, version, id)` of every benchmark that has this control, for
    /// `aws_iam_control_info`.
    pub fn benchmarks(&self) -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
        let cis = CIS_VERSIONS.iter().enumerate().map(|(i, v)| {
            let id = match i {
                0..=4 if self.cis_label_only => "",
                0..=4 => self.cis,
                5 => self.cis_v5,
                6 => self.cis_v6,
                _ => self.cis_v7,
            };
            ("cis-aws-foundations", *v, id)
        });
        let fsbp = self
            .fsbp
            .then_some(("aws-fsbp", "1.0.0", self.securityhub))
            .into_iter();
        cis.chain(fsbp).filter(|(_, _, id)| !id.is_empty())
    }
}

macro_rules! controls {
    ($($(#[$doc:meta])* $name:ident { $($field:ident: $value:expr),* $(,)? })*) => {
        /// Every control, in README order.
        pub const CONTROLS: &[Control] = &[$(Control { $($field: $value),* }),*];
        /// Index of a control in [`CONTROLS`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum ControlId { $($(#[$doc])* $name),* }
        impl ControlId {
            /// Every control, in [`CONTROLS`] order.
            pub const ALL: &'static [ControlId] = &[$(ControlId::$name),*];
        }
    };
}

controls! {
    /// CIS 1.4: an access key on root, active or not (an inactive key still exists).
    RootAccessKey {
        id: "root_access_key", cis: "1.4", cis_label_only: false, cis_v5: "1.3", cis_v6: "2.3", cis_v7: "2.4",
        securityhub: "IAM.4", fsbp: true, severity: Severity::Critical,
        title: "No root user access key exists",
        fails_when: "root has an access key: summary `AccountAccessKeysPresent` > 0 (an inactive key counts, as for AWS Config), or a root key active in the report",
        threshold: "", source: "summary, report (root audit: ListAccessKeys)",
        evaluate: root_access_key,
    }
    /// CIS 1.5: root has MFA.
    RootMfa {
        id: "root_mfa", cis: "1.5", cis_label_only: false, cis_v5: "1.4", cis_v6: "2.4", cis_v7: "2.5",
        securityhub: "IAM.9", fsbp: false, severity: Severity::Critical,
        title: "MFA is enabled for the root user",
        fails_when: "root has no MFA",
        threshold: "", source: "summary (report when offline)",
        evaluate: root_mfa,
    }
    /// CIS 1.6: root MFA is a hardware device.
    RootHardwareMfa {
        id: "root_hardware_mfa", cis: "1.6", cis_label_only: false, cis_v5: "1.5", cis_v6: "2.5", cis_v7: "2.6",
        securityhub: "IAM.6", fsbp: true, severity: Severity::Critical,
        title: "Hardware MFA is enabled for the root user",
        fails_when: "root has no MFA, or a virtual MFA device is assigned to root (serial `:mfa/root-account-mfa-device` or user ARN `:root`; in a root audit, any device whose serial is an `:mfa/` ARN; a FIDO security key `:u2f/` or a hardware token is hardware)",
        threshold: "", source: "summary, ListVirtualMFADevices (root audit: ListMFADevices)",
        evaluate: root_hardware_mfa,
    }
    /// CIS 1.7: no root credential used within `--control.root-recent-use`.
    RootRecentUse {
        id: "root_recent_use", cis: "1.7", cis_label_only: false, cis_v5: "1.6", cis_v6: "2.6", cis_v7: "2.7",
        securityhub: "", fsbp: false, severity: Severity::High,
        title: "The root user is not used for daily tasks",
        fails_when: "the most recent use of any root credential is within the window (7 days by default; CloudSploit rootAccountInUse)",
        threshold: "--control.root-recent-use", source: "report (root audit: GetUser, GetAccessKeyLastUsed)",
        evaluate: root_recent_use,
    }
    /// CIS 1.8: the password policy's minimum length (14 by default).
    PasswordPolicyLength {
        id: "password_policy_length", cis: "1.8", cis_label_only: false, cis_v5: "1.7", cis_v6: "2.7", cis_v7: "2.8",
        securityhub: "IAM.15", fsbp: false, severity: Severity::Medium,
        title: "The password policy requires a minimum length (14 by default)",
        fails_when: "no policy, or `MinimumPasswordLength` < 14 (by default)",
        threshold: "--control.password-min-length", source: "GetAccountPasswordPolicy",
        evaluate: password_policy_length,
    }
    /// CIS 1.9: the password policy prevents reuse (24 by default).
    PasswordPolicyReuse {
        id: "password_policy_reuse", cis: "1.9", cis_label_only: false, cis_v5: "1.8", cis_v6: "2.8", cis_v7: "2.9",
        securityhub: "IAM.16", fsbp: false, severity: Severity::Low,
        title: "The password policy prevents password reuse (24 by default)",
        fails_when: "no policy, or `PasswordReusePrevention` unset or < 24 (by default)",
        threshold: "--control.password-reuse-prevention", source: "GetAccountPasswordPolicy",
        evaluate: password_policy_reuse,
    }
    /// CIS 1.10: every console user has MFA.
    ConsoleUserMfa {
        id: "console_user_mfa", cis: "1.10", cis_label_only: false, cis_v5: "1.9", cis_v6: "2.9", cis_v7: "2.10",
        securityhub: "IAM.5", fsbp: true, severity: Severity::Medium,
        title: "MFA is enabled for every user with a console password",
        fails_when: "a user with a console password has no MFA",
        threshold: "", source: "report",
        evaluate: console_user_mfa,
    }
    /// CIS 1.11 (dropped in 7.0.0): no key set up with a console user and never used.
    InitialAccessKey {
        id: "initial_access_key", cis: "1.11", cis_label_only: false, cis_v5: "1.10", cis_v6: "2.10", cis_v7: "",
        securityhub: "", fsbp: false, severity: Severity::Low,
        title: "No access key set up with a console user and never used",
        fails_when: "a console user has an active key created within the window of the user's creation (10 s by default) and never used (Prowler iam_user_no_setup_initial_access_key)",
        threshold: "--control.initial-access-key-window", source: "report",
        evaluate: initial_access_key,
    }
    /// CIS 1.12 / IAM.22: credentials unused past `--control.unused-credentials`. The id names
    /// the benchmark's default, 45 days; the threshold is the flag's.
    UnusedCredentials {
        id: "unused_credentials_45d", cis: "1.12", cis_label_only: false, cis_v5: "1.11", cis_v6: "2.11", cis_v7: "2.11",
        securityhub: "IAM.22", fsbp: false, severity: Severity::Medium,
        title: "Credentials unused for 45 days (--control.unused-credentials) are disabled",
        fails_when: "a password or active key unused for more than 45 days (never used: counted from the password change / key rotation, else user creation)",
        threshold: "--control.unused-credentials", source: "report",
        evaluate: unused_credentials,
    }
    /// Security Hub IAM.8: credentials unused past `--control.unused-credentials-long`. The id
    /// names the default, 90 days. The `cis` label says 1.12, the recommendation it loosens;
    /// a pass here does not meet CIS, so the info metric lists no CIS number for it.
    UnusedCredentialsLong {
        id: "unused_credentials_90d", cis: "1.12", cis_label_only: true, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "IAM.8", fsbp: true, severity: Severity::Medium,
        title: "Credentials unused for 90 days (--control.unused-credentials-long) are disabled",
        fails_when: "the same with 90 days",
        threshold: "--control.unused-credentials-long", source: "report",
        evaluate: unused_credentials_long,
    }
    /// CIS 1.13 (dropped in 7.0.0): at most one active key per user.
    MultipleActiveKeys {
        id: "multiple_active_keys", cis: "1.13", cis_label_only: false, cis_v5: "1.12", cis_v6: "2.12", cis_v7: "",
        securityhub: "", fsbp: false, severity: Severity::Low,
        title: "At most one active access key per user",
        fails_when: "a user has two active access keys",
        threshold: "", source: "report",
        evaluate: multiple_active_keys,
    }
    /// CIS 1.14 / IAM.3: active keys rotated within `--control.access-key-max-age`.
    AccessKeyRotation {
        id: "access_key_rotation", cis: "1.14", cis_label_only: false, cis_v5: "1.13", cis_v6: "2.13", cis_v7: "2.12",
        securityhub: "IAM.3", fsbp: true, severity: Severity::Medium,
        title: "Active access keys are rotated within 90 days (--control.access-key-max-age)",
        fails_when: "an active key is older than 90 days",
        threshold: "--control.access-key-max-age", source: "report",
        evaluate: access_key_rotation,
    }
    /// Not in a benchmark: a signing certificate on root is a long-lived root credential.
    RootSigningCertificate {
        id: "root_signing_certificate", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "", fsbp: false, severity: Severity::High,
        title: "The root user has no active signing certificate",
        fails_when: "root has an active signing certificate (report; summary `AccountSigningCertificatesPresent` when there is no root row; CloudSploit rootSigningCertificate)",
        threshold: "", source: "report, summary (root audit: ListSigningCertificates)",
        evaluate: root_signing_certificate,
    }
    /// Not in a benchmark: a console password never used is a credential nobody needs.
    ConsoleUserNeverSignedIn {
        id: "console_user_never_signed_in", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "", fsbp: false, severity: Severity::Low,
        title: "Every console password has been used",
        fails_when: "a console password has never been used",
        threshold: "", source: "report",
        evaluate: console_user_never_signed_in,
    }
    /// Not in a benchmark: every IAM-backed Bedrock API key is a long-term key; AWS recommends
    /// short-term ones. Failing resources: active, unexpired `bedrock.amazonaws.com` credentials.
    BedrockLongTermApiKey {
        id: "bedrock_long_term_api_key", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "", fsbp: false, severity: Severity::High,
        title: "No active long-term Amazon Bedrock API key",
        fails_when: "an active Bedrock API key (service-specific credential for `bedrock.amazonaws.com`) has not expired: every IAM-backed Bedrock key is long-term; failing resources = such keys",
        threshold: "", source: "ListServiceSpecificCredentials",
        evaluate: bedrock_long_term_api_key,
    }
    /// Not in a benchmark: service-specific credentials are long-lived secrets like access keys,
    /// held to the same age (`--control.access-key-max-age`).
    ServiceCredentialRotation {
        id: "service_credential_rotation", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "", fsbp: false, severity: Severity::Medium,
        title: "Active service-specific credentials are rotated within 90 days (--control.access-key-max-age)",
        fails_when: "an active service-specific credential (CodeCommit, Keyspaces, Bedrock, ...) is older than 90 days; failing resources = such credentials",
        threshold: "--control.access-key-max-age", source: "ListServiceSpecificCredentials",
        evaluate: service_credential_rotation,
    }
    /// Security Hub IAM.11 (CIS 1.2.0 1.5, dropped from 1.3.0 on).
    PasswordPolicyUppercase {
        id: "password_policy_uppercase", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "IAM.11", fsbp: false, severity: Severity::Medium,
        title: "The password policy requires an uppercase letter",
        fails_when: "no policy, or `RequireUppercaseCharacters` is false", threshold: "", source: "GetAccountPasswordPolicy",
        evaluate: password_policy_uppercase,
    }
    /// Security Hub IAM.12 (CIS 1.2.0 1.6).
    PasswordPolicyLowercase {
        id: "password_policy_lowercase", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "IAM.12", fsbp: false, severity: Severity::Medium,
        title: "The password policy requires a lowercase letter",
        fails_when: "no policy, or `RequireLowercaseCharacters` is false", threshold: "", source: "GetAccountPasswordPolicy",
        evaluate: password_policy_lowercase,
    }
    /// Security Hub IAM.13 (CIS 1.2.0 1.7).
    PasswordPolicySymbols {
        id: "password_policy_symbols", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "IAM.13", fsbp: false, severity: Severity::Medium,
        title: "The password policy requires a symbol",
        fails_when: "no policy, or `RequireSymbols` is false", threshold: "", source: "GetAccountPasswordPolicy",
        evaluate: password_policy_symbols,
    }
    /// Security Hub IAM.14 (CIS 1.2.0 1.8).
    PasswordPolicyNumbers {
        id: "password_policy_numbers", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "IAM.14", fsbp: false, severity: Severity::Medium,
        title: "The password policy requires a number",
        fails_when: "no policy, or `RequireNumbers` is false", threshold: "", source: "GetAccountPasswordPolicy",
        evaluate: password_policy_numbers,
    }
    /// Security Hub IAM.17 (CIS 1.2.0 1.11): passwords expire within `--control.password-max-age`.
    PasswordPolicyExpiry {
        id: "password_policy_expiry", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "IAM.17", fsbp: false, severity: Severity::Low,
        title: "The password policy expires passwords within 90 days (--control.password-max-age)",
        fails_when: "no policy, passwords never expire (`MaxPasswordAge` absent or 0), or `MaxPasswordAge` > 90 days (by default)",
        threshold: "--control.password-max-age", source: "GetAccountPasswordPolicy",
        evaluate: password_policy_expiry,
    }
    /// Security Hub IAM.7 (FSBP) with its parameters, each a `--control.strong-password.*` flag.
    PasswordPolicyStrong {
        id: "password_policy_strong", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "IAM.7", fsbp: true, severity: Severity::Medium,
        title: "The password policy is strong (Security Hub IAM.7 parameters, --control.strong-password.*)",
        fails_when: "no policy, or it misses a parameter of IAM.7: by default (Security Hub's) every character class and `MinimumPasswordLength` >= 8; reuse prevention and maximum age only when set",
        threshold: "--control.strong-password.*", source: "GetAccountPasswordPolicy",
        evaluate: password_policy_strong,
    }
    /// Security Hub IAM.19: every IAM user has MFA, console or not, credentials or not.
    UserMfa {
        id: "user_mfa", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "IAM.19", fsbp: false, severity: Severity::Medium,
        title: "MFA is enabled for every IAM user",
        fails_when: "an IAM user has no MFA (`mfa_active` false), whether it has a console password, access keys or no credential at all; failing resources = such users",
        threshold: "", source: "report",
        evaluate: user_mfa,
    }
    /// CIS 1.19 (1.18 in 5.0.0, 2.18 in 6.0.0, 2.17 in 7.0.0) / Security Hub IAM.26.
    ExpiredServerCertificate {
        id: "expired_server_certificate", cis: "1.19", cis_label_only: false, cis_v5: "1.18", cis_v6: "2.18", cis_v7: "2.17",
        securityhub: "IAM.26", fsbp: false, severity: Severity::Medium,
        title: "No expired SSL/TLS server certificate is stored in IAM",
        fails_when: "a server certificate stored in IAM is past its `Expiration`; failing resources = such certificates",
        threshold: "", source: "ListServerCertificates",
        evaluate: expired_server_certificate,
    }
    /// Not in a benchmark: an API key of any service (Bedrock, CloudWatch, CloudWatch Logs,
    /// ...; every service-specific credential but CodeCommit's and Keyspaces' passwords) lives
    /// at most `--control.api-key-max-lifetime`.
    ApiKeyLifetime {
        id: "api_key_lifetime", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "", fsbp: false, severity: Severity::Medium,
        title: "Active API keys expire within 90 days of their creation (--control.api-key-max-lifetime)",
        fails_when: "an active API key (a service-specific credential of any service but `codecommit.amazonaws.com` and `cassandra.amazonaws.com`) never expires, or `ExpirationDate` - `CreateDate` > 90 days (by default); failing resources = such keys",
        threshold: "--control.api-key-max-lifetime", source: "ListServiceSpecificCredentials",
        evaluate: api_key_lifetime,
    }
    /// CIS 7.0.0 2.1.1 (Level 2, manual): centralized root access (RootCredentialsManagement)
    /// is enabled in AWS Organizations. Exporter-level: evaluated from ListOrganizationsFeatures,
    /// asked once per interval with the exporter's own credentials (management account or
    /// delegated administrator), and exported under the exporter's own `account_id`; absent
    /// from every watched account's series (an account's facts never hold the organization).
    /// Enabling it does not remove existing root credentials (Prowler #7967): the root controls
    /// keep checking each account.
    RootCredentialsManagement {
        id: "root_credentials_management", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "2.1.1",
        securityhub: "", fsbp: false, severity: Severity::Medium,
        title: "Centralized root access (RootCredentialsManagement) is enabled in AWS Organizations",
        fails_when: "`RootCredentialsManagement` is not enabled in the organization (CIS v7.0 2.1.1); exporter-level, see below",
        threshold: "", source: "ListOrganizationsFeatures",
        evaluate: root_credentials_management,
    }
    /// Not in a benchmark: AWS found one of the user's access keys in public and attached a
    /// quarantine policy (`AWSCompromisedKeyQuarantine*`, any version) to the user.
    ExposedKeyQuarantine {
        id: "exposed_key_quarantine", cis: "", cis_label_only: false, cis_v5: "", cis_v6: "", cis_v7: "",
        securityhub: "", fsbp: false, severity: Severity::Critical,
        title: "No access key found exposed in public by AWS (no quarantine policy attached)",
        fails_when: "an AWS managed policy whose name starts with `AWSCompromisedKeyQuarantine` (V1-V4 and later versions) is attached to a user, to a group with members, or to a role; failing resources = the quarantined users (each once) and the roles",
        threshold: "", source: "ListPolicies, ListEntitiesForPolicy, GetGroup",
        evaluate: exposed_key_quarantine,
    }
}

impl ControlId {
    pub fn control(self) -> &'static Control {
        &CONTROLS[self as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluators of the users (the root's, the password policy's and the other credentials' are in
// root.rs, password.rs and credentials.rs). User controls count users.

type Sink<'s, 'a> = &'s mut dyn FnMut(Finding<'a>);

/// Runs a per-user check over every IAM user. The check reports the user's failing credentials
/// and says whether the user fails; the control is unknown only when no user is known to fail
/// and some user could not be judged (a known failure is a failure whatever the others say).
fn per_user<'a>(
    i: &Input<'a, '_>,
    sink: Sink<'_, 'a>,
    mut check: impl FnMut(&'a str, &'a Row, &mut dyn FnMut(Finding<'a>)) -> Option<bool>,
) -> Option<()> {
    let report = &i.data.report;
    // Root alone (a root audit): the users are unknown, and an empty list would pass.
    if report.root_only {
        return None;
    }
    let (mut failing, mut unknown) = (false, false);
    for u in &report.users {
        let mut first = true;
        let mut user_sink = |mut f: Finding<'a>| {
            f.continues = !first;
            first = false;
            sink(f);
        };
        match check(report.name(u), u, &mut user_sink) {
            Some(true) => failing = true,
            Some(false) => {}
            None => unknown = true,
        }
    }
    (failing || !unknown).then_some(())
}

fn console_user_mfa<'a>(
    i: &Input<'a, '_>,
    _: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    password_control(i, sink, console_without_mfa)
}

fn console_user_never_signed_in<'a>(
    i: &Input<'a, '_>,
    _: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    password_control(i, sink, console_never_signed_in)
}

/// IAM.19: every IAM user, whatever its credentials (Security Hub's rule `iam-user-mfa-enabled`
/// has no exemption); root has its own controls.
fn user_mfa<'a>(i: &Input<'a, '_>, _: &Thresholds, _: i64, sink: Sink<'_, 'a>) -> Option<()> {
    per_user(i, sink, |name, u, sink| {
        let fails = u.mfa_active.map(|m| !m);
        if fails == Some(true) {
            sink(Finding::new(name, Credential::Mfa));
        }
        fails
    })
}

/// A user control on the console password: a user `fails` says fails with its password.
fn password_control<'a>(
    i: &Input<'a, '_>,
    sink: Sink<'_, 'a>,
    fails: fn(&Row) -> Option<bool>,
) -> Option<()> {
    per_user(i, sink, |name, u, sink| {
        let verdict = fails(u);
        if verdict == Some(true) {
            sink(password_finding(name, u));
        }
        verdict
    })
}

fn multiple_active_keys<'a>(
    i: &Input<'a, '_>,
    _: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    per_user(i, sink, |name, u, sink| {
        let fails = both_keys_active(u);
        if fails == Some(true) {
            for (slot, k) in u.access_keys.iter().enumerate() {
                sink(key_finding(name, slot, k));
            }
        }
        fails
    })
}

/// CIS 1.11: a console user whose active key was created together with the user (within
/// `--control.initial-access-key-window`) and never used.
fn initial_access_key<'a>(
    i: &Input<'a, '_>,
    t: &Thresholds,
    _: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    per_user(i, sink, |name, u, sink| {
        let created = u.user_creation_time.map(Date::timestamp);
        per_key(name, u, sink, u.password_enabled, |_, k| {
            let same_time = match (k.last_rotated, created) {
                (Some(Date::At(r)), Some(Some(c))) => {
                    Some((r - c).abs() <= t.initial_access_key_window)
                }
                _ => None,
            };
            and3(key_never_used(k), same_time)
        })
    })
}

fn unused_credentials<'a>(
    i: &Input<'a, '_>,
    t: &Thresholds,
    now: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    unused(i, t.unused_credentials, now, sink)
}

fn unused_credentials_long<'a>(
    i: &Input<'a, '_>,
    t: &Thresholds,
    now: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    unused(i, t.unused_credentials_long, now, sink)
}

/// CIS 1.12: a password or active key not used for `limit` seconds. A credential never used is
/// as old as its creation (password change, key rotation, else the user): never-used keys do not
/// pass silently, as they do in Prowler.
fn unused<'a>(i: &Input<'a, '_>, limit: i64, now: i64, sink: Sink<'_, 'a>) -> Option<()> {
    let stale = |last: Option<i64>| last.map(|at| now - at > limit);
    per_user(i, sink, |name, u, sink| {
        let password = and3(
            u.password_enabled,
            match u.password_last_used {
                None => None,
                Some(Date::At(at)) => stale(Some(at)),
                Some(_) => stale(password_set(u)),
            },
        );
        if password == Some(true) {
            sink(password_finding(name, u));
        }
        let keys = per_key(name, u, sink, Some(true), |_, k| {
            and3(
                k.active,
                match k.last_used {
                    None => None,
                    Some(Date::At(at)) => stale(Some(at)),
                    Some(_) => stale(key_created(k)),
                },
            )
        });
        or3(password, keys)
    })
}

/// CIS 1.14: an active key not rotated for `--control.access-key-max-age`.
fn access_key_rotation<'a>(
    i: &Input<'a, '_>,
    t: &Thresholds,
    now: i64,
    sink: Sink<'_, 'a>,
) -> Option<()> {
    per_user(i, sink, |name, u, sink| {
        per_key(name, u, sink, Some(true), |_, k| {
            and3(
                k.active,
                key_created(k).map(|c| now - c > t.access_key_max_age),
            )
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the evaluators and the counts.

/// `gate && (key 1 fails || key 2 fails)`, reporting each failing key.
fn per_key<'a>(
    name: &'a str,
    u: &'a Row,
    sink: &mut dyn FnMut(Finding<'a>),
    gate: Option<bool>,
    fails: impl Fn(usize, &AccessKey) -> Option<bool>,
) -> Option<bool> {
    if gate == Some(false) {
        return Some(false);
    }
    let verdicts = [0, 1].map(|slot| fails(slot, &u.access_keys[slot]));
    let any = or3(verdicts[0], verdicts[1]);
    if gate == Some(true) {
        for (slot, v) in verdicts.into_iter().enumerate() {
            if v == Some(true) {
                sink(key_finding(name, slot, &u.access_keys[slot]));
            }
        }
    }
    and3(gate, any)
}

fn key_finding<'a>(user: &'a str, slot: usize, k: &AccessKey) -> Finding<'a> {
    Finding {
        last_used: k.last_used.and_then(Date::timestamp),
        created: key_created(k),
        never_used: k.last_used.is_some_and(|d| d.timestamp().is_none()),
        ..Finding::new(user, Credential::AccessKey(slot as u8 + 1))
    }
}

fn password_finding<'a>(user: &'a str, u: &Row) -> Finding<'a> {
    Finding {
        last_used: u.password_last_used.and_then(Date::timestamp),
        created: password_set(u),
        never_used: u
            .password_last_used
            .is_some_and(|d| d.timestamp().is_none()),
        ..Finding::new(user, Credential::Password)
    }
}

/// When the password was set: its last change, else the user's creation.
fn password_set(u: &Row) -> Option<i64> {
    u.password_last_changed
        .and_then(Date::timestamp)
        .or(u.user_creation_time.and_then(Date::timestamp))
}

// The predicates of the user controls that the user counts of `super::count_users` share: a
// count and its control cannot disagree on who fails.

/// A console user (password enabled) without MFA (`console_user_mfa`).
pub(super) fn console_without_mfa(u: &Row) -> Option<bool> {
    and3(u.password_enabled, u.mfa_active.map(|m| !m))
}

/// A console password never used (`console_user_never_signed_in`).
pub(super) fn console_never_signed_in(u: &Row) -> Option<bool> {
    and3(
        u.password_enabled,
        u.password_last_used.map(|d| d.timestamp().is_none()),
    )
}

/// Both access keys active (`multiple_active_keys`).
pub(super) fn both_keys_active(u: &Row) -> Option<bool> {
    and3(u.access_keys[0].active, u.access_keys[1].active)
}

/// An active key with no recorded use (`N/A` last used while active).
pub(super) fn key_never_used(k: &AccessKey) -> Option<bool> {
    and3(k.active, k.last_used.map(|d| d.timestamp().is_none()))
}

/// When a key was created or last rotated. An active key whose `last_rotated` is `N/A` has an
/// unknown age: guessing the user's creation would fail a key that may be a day old.
fn key_created(k: &AccessKey) -> Option<i64> {
    k.last_rotated?.timestamp()
}
