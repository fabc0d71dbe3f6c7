//! Centralized root access (sts:AssumeRoot): what a member account's root holds, the task
//! policy the exporter may ask for, and the refusals a test can set.
//!
//! The answers follow the STS and IAM API references and AWS's own audit script ("Secure root
//! user access for member accounts in AWS Organizations", AWS Security Blog, 2024-11-22:
//! `aws sts assume-root --task-policy-arn arn=...IAMAuditRootUserCredentials`, then
//! `aws iam get-account-summary` and `aws iam get-user` with the returned credentials):
//!
//! - `AssumeRoot` (STS, Query protocol) takes `TargetPrincipal` (the member's account id or root
//!   ARN), `TaskPolicyArn.arn` and `DurationSeconds` (0 to 900, default 900), and answers
//!   `<Credentials>` and, when the caller's session has one, `<SourceIdentity>`; no
//!   `<AssumedRoleUser>`. Its documented errors are `ExpiredToken` and `RegionDisabled` only.
//! - With the root session, the task policy `IAMAuditRootUserCredentials` allows
//!   `iam:GetAccountSummary` and, on `arn:aws:iam::*:root` only, `iam:GetUser`,
//!   `iam:GetLoginProfile`, `iam:ListAccessKeys`, `iam:GetAccessKeyLastUsed`,
//!   `iam:ListMFADevices` and `iam:ListSigningCertificates`, each called without `UserName`
//!   (the root itself). Anything else is refused `AccessDenied` "because no session policy
//!   allows" it, and recorded ([`RootSessionCall`]): the exporter making such a call is a bug.
//! - Root answers carry no `UserName` and no `Path` (root is not an IAM user):
//!   `GetUser` gives `UserId` (the account id), `Arn` (`arn:aws:iam::<id>:root`), `CreateDate`
//!   and `PasswordLastUsed` when root ever signed in with a password; `GetLoginProfile` answers
//!   404 `NoSuchEntity` when root has no password.
//! - MFA device serials: a virtual device is its ARN `arn:aws:iam::<id>:mfa/<name>`, a FIDO
//!   security key `arn:aws:iam::<id>:u2f/root-account-mfa-device/<id>` (the `u2f/` resource),
//!   a hardware TOTP token its printed serial (`GAHT...`), not an ARN.
//!
//! Refusals: AWS documents no dedicated error code for "centralized root access is off" or for
//! a caller that is neither the management account nor the delegated administrator; every
//! STS authorization refusal is `AccessDenied` (HTTP 403), and that is what this server sends,
//! with a message saying which refusal it models. An SCP's explicit deny uses AWS's message
//! form `... with an explicit deny in a service control policy`.

use time::OffsetDateTime;

use super::clock::days_ago;

/// The task policy of a read-only root audit; the only one this server grants.
pub const AUDIT_TASK_POLICY: &str = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials";

/// The longest root session AWS grants (`DurationSeconds` at most 900).
pub const MAX_ROOT_SESSION_SECONDS: i64 = 900;

/// What `IAMAuditRootUserCredentials` allows a root session, and whether the action acts on the
/// root user (then only without `UserName`).
pub const AUDIT_TASK_ACTIONS: [(&str, bool); 7] = [
    ("GetAccountSummary", false),
    ("GetUser", true),
    ("GetLoginProfile", true),
    ("ListAccessKeys", true),
    ("GetAccessKeyLastUsed", true),
    ("ListMFADevices", true),
    ("ListSigningCertificates", true),
];

/// Why AssumeRoot is refused (see the module documentation for the codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootRefusal {
    /// Centralized root access (root credentials management) is not enabled.
    FeatureOff,
    /// The caller is neither the management account nor the IAM delegated administrator.
    NotManagementOrDelegatedAdministrator,
    /// A service control policy denies sts:AssumeRoot (on the delegated administrator, or on
    /// this target).
    ScpDeny,
}

impl RootRefusal {
    /// The 403 `AccessDenied` message for `caller` asking for the root of `target`.
    pub fn message(self, caller: &str, target: &str) -> String {
        let base = format!(
            "User: {caller} is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::{target}:root"
        );
        match self {
            RootRefusal::FeatureOff => format!(
                "{base} (scenario: centralized root access is not enabled in the organization)"
            ),
            RootRefusal::NotManagementOrDelegatedAdministrator => format!(
                "{base} (scenario: the account is not the management account or the delegated administrator for IAM)"
            ),
            RootRefusal::ScpDeny => {
                format!("{base} with an explicit deny in a service control policy")
            }
        }
    }
}

/// One root access key.
#[derive(Debug, Clone, PartialEq)]
pub struct RootAccessKey {
    pub id: String,
    pub active: bool,
    pub created: OffsetDateTime,
    /// Last use: when, the service and the region; `None`: never used (GetAccessKeyLastUsed
    /// then has no `LastUsedDate` and `N/A` for both names).
    pub last_used: Option<(OffsetDateTime, String, String)>,
}

impl RootAccessKey {
    /// An active key `id` created `age_days` ago, used `used_days_ago` days ago (in s3,
    /// us-east-1) or never.
    pub fn active(id: &str, age_days: i64, used_days_ago: Option<i64>) -> RootAccessKey {
        RootAccessKey {
            id: id.into(),
            active: true,
            created: days_ago(age_days),
            last_used: used_days_ago.map(|d| (days_ago(d), "s3".into(), "us-east-1".into())),
        }
    }
}

/// The kind of an MFA device, by its serial (ListMFADevices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaKind {
    Virtual,
    Fido,
    HardwareTotp,
}

/// One MFA device of root.
#[derive(Debug, Clone, PartialEq)]
pub struct RootMfaDevice {
    pub serial: String,
    pub enabled: OffsetDateTime,
}

impl RootMfaDevice {
    /// A device of `kind` in `account_id`, with the serial AWS gives that kind.
    pub fn new(kind: MfaKind, account_id: &str) -> RootMfaDevice {
        let serial = match kind {
            MfaKind::Virtual => format!("arn:aws:iam::{account_id}:mfa/root-account-mfa-device"),
            MfaKind::Fido => {
                format!("arn:aws:iam::{account_id}:u2f/root-account-mfa-device/FIDOKEY7Q2ZJ4XW")
            }
            MfaKind::HardwareTotp => "GAHT12345678".to_string(),
        };
        RootMfaDevice {
            serial,
            enabled: days_ago(200),
        }
    }
}

/// One root signing certificate (X.509, for SOAP APIs).
#[derive(Debug, Clone, PartialEq)]
pub struct RootSigningCertificate {
    pub id: String,
    pub active: bool,
    pub uploaded: OffsetDateTime,
}

/// A member account's root credentials, as the root-task calls report them. The default is a
/// credential-less root (what centralized root access leaves after "delete root credentials").
#[derive(Debug, Clone, PartialEq)]
pub struct RootState {
    /// When root was created (GetUser `CreateDate`).
    pub created: OffsetDateTime,
    /// The console password's creation (GetLoginProfile `CreateDate`); `None`: no password
    /// (404 NoSuchEntity).
    pub password_created: Option<OffsetDateTime>,
    /// GetUser `PasswordLastUsed`: also kept after the password is deleted, as AWS does.
    pub password_last_used: Option<OffsetDateTime>,
    pub access_keys: Vec<RootAccessKey>,
    pub mfa_devices: Vec<RootMfaDevice>,
    pub signing_certificates: Vec<RootSigningCertificate>,
}

impl Default for RootState {
    fn default() -> Self {
        RootState {
            created: days_ago(3 * 365),
            password_created: None,
            password_last_used: None,
            access_keys: Vec::new(),
            mfa_devices: Vec::new(),
            signing_certificates: Vec::new(),
        }
    }
}

impl RootState {
    /// A root with a password set `age_days` ago and last used `used_days_ago` days ago.
    pub fn with_password(mut self, age_days: i64, used_days_ago: Option<i64>) -> RootState {
        self.password_created = Some(days_ago(age_days));
        self.password_last_used = used_days_ago.map(days_ago);
        self
    }

    pub fn with_key(mut self, key: RootAccessKey) -> RootState {
        self.access_keys.push(key);
        self
    }

    pub fn with_mfa(mut self, kind: MfaKind, account_id: &str) -> RootState {
        self.mfa_devices.push(RootMfaDevice::new(kind, account_id));
        self
    }

    pub fn with_certificate(mut self, id: &str, active: bool, age_days: i64) -> RootState {
        self.signing_certificates.push(RootSigningCertificate {
            id: id.into(),
            active,
            uploaded: days_ago(age_days),
        });
        self
    }

    /// The `SummaryMap` keys about root that GetAccountSummary derives from this state.
    pub fn summary_keys(&self) -> [(&'static str, i64); 4] {
        [
            (
                "AccountAccessKeysPresent",
                i64::from(!self.access_keys.is_empty()),
            ),
            ("AccountMFAEnabled", i64::from(!self.mfa_devices.is_empty())),
            (
                "AccountPasswordPresent",
                i64::from(self.password_created.is_some()),
            ),
            (
                "AccountSigningCertificatesPresent",
                i64::from(!self.signing_certificates.is_empty()),
            ),
        ]
    }
}

/// A call made with root-session credentials that the task policy does not allow: the
/// exporter must never make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSessionCall {
    /// The member account of the session.
    pub account_id: String,
    pub action: String,
    /// The `UserName` parameter, when the call named a user (not root).
    pub user_name: Option<String>,
}
