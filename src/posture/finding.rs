//! What an evaluator reports for each failing credential ([`Finding`]), and how a person reads
//! it (`audit`'s offender lines).

/// Which credential a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The console password.
    Password,
    /// Access key 1 or 2 (the report's slot).
    AccessKey(u8),
    /// An access key the summary reports without saying which (root only).
    SomeAccessKey,
    /// Signing certificate 1 or 2.
    SigningCertificate(u8),
    /// A signing certificate the summary reports without saying which (root only).
    SomeSigningCertificate,
    /// The MFA of the user (missing, or not hardware).
    Mfa,
    /// The account password policy.
    PasswordPolicy,
    /// A service-specific credential (its id is in [`Finding::credential_id`]).
    ServiceCredential,
    /// An SSL/TLS server certificate stored in IAM (its name is in [`Finding::credential_id`]).
    ServerCertificate,
    /// An AWS Organizations feature that is off (centralized root access).
    OrganizationFeature,
    /// An exposed-key quarantine policy on the user (its name is in [`Finding::credential_id`]):
    /// AWS found one of the user's access keys in public.
    QuarantinePolicy,
    /// An exposed-key quarantine policy on a role ([`Finding::user`] is the role's name).
    RoleQuarantinePolicy,
}

impl Credential {
    /// Name as the exposition writes credentials (`credential` label of root last use).
    pub fn as_str(self) -> &'static str {
        match self {
            Credential::Password => "password",
            Credential::AccessKey(1) => "access_key_1",
            Credential::AccessKey(_) => "access_key_2",
            Credential::SomeAccessKey => "access_key",
            Credential::SigningCertificate(1) => "signing_certificate_1",
            Credential::SigningCertificate(_) => "signing_certificate_2",
            Credential::SomeSigningCertificate => "signing_certificate",
            Credential::Mfa => "mfa",
            Credential::PasswordPolicy => "password_policy",
            Credential::ServiceCredential => "service_credential",
            Credential::ServerCertificate => "server_certificate",
            Credential::OrganizationFeature => "organization_feature",
            Credential::QuarantinePolicy => "quarantine_policy",
            Credential::RoleQuarantinePolicy => "role_quarantine_policy",
        }
    }
}

/// One failing credential, borrowed from the account data: enough to print
/// `alice (password, last used 2025-01-10, 324 days)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding<'a> {
    /// The IAM user; [`ROOT_USER`] for root; `""` for the account (password policy, server
    /// certificate); the role for [`Credential::RoleQuarantinePolicy`].
    pub user: &'a str,
    pub credential: Credential,
    /// Last use, when the report has a date.
    pub last_used: Option<i64>,
    /// Created, last rotated or (password) last changed, when known.
    pub created: Option<i64>,
    /// The report records no use of the credential (`N/A`, `no_information`).
    pub never_used: bool,
    /// Same failing resource as the previous finding (another credential of the same user):
    /// counts of failing resources skip it.
    pub continues: bool,
    /// The `ServiceSpecificCredentialId` of a service credential, the name of a server
    /// certificate, the policy of a quarantine.
    pub credential_id: Option<&'a str>,
    /// When the credential expires (or expired): a server certificate's `Expiration`, a service
    /// credential's `ExpirationDate`. `None` for a service credential means it never expires.
    pub expires: Option<i64>,
}

impl<'a> Finding<'a> {
    pub(super) fn new(user: &'a str, credential: Credential) -> Finding<'a> {
        Finding {
            user,
            credential,
            last_used: None,
            created: None,
            never_used: false,
            continues: false,
            credential_id: None,
            expires: None,
        }
    }
}

impl Finding<'_> {
    /// One line for a person: `alice (password, last used 2025-01-10, 324 days)`,
    /// `bob (access_key_2, never used, created 2024-03-01, 400 days)`,
    /// `account (server_certificate web, expired 2024-05-01)`. Days count from `now`.
    pub fn describe(&self, now: i64) -> String {
        let day = |t: i64| {
            time::OffsetDateTime::from_unix_timestamp(t)
                .map(|d| d.date().to_string())
                .unwrap_or_else(|_| t.to_string())
        };
        let age = |t: i64| match (now - t).max(0) / 86_400 {
            1 => "1 day".to_owned(),
            n => format!("{n} days"),
        };
        let who = if self.user.is_empty() {
            "account"
        } else {
            self.user
        };
        let mut s = format!("{who} ({}", self.credential.as_str());
        if let Some(id) = self.credential_id {
            s.push(' ');
            s.push_str(id);
        }
        match (self.last_used, self.created) {
            (Some(t), _) => s.push_str(&format!(", last used {}, {}", day(t), age(t))),
            (None, Some(t)) if self.never_used => {
                s.push_str(&format!(", never used, created {}, {}", day(t), age(t)))
            }
            (None, Some(t)) => s.push_str(&format!(", created {}, {}", day(t), age(t))),
            (None, None) if self.never_used => s.push_str(", never used"),
            (None, None) => {}
        }
        match (self.expires, self.credential) {
            (Some(t), _) if t < now => s.push_str(&format!(", expired {}", day(t))),
            (Some(t), _) => s.push_str(&format!(", expires {}", day(t))),
            (None, Credential::ServiceCredential) => s.push_str(", never expires"),
            (None, _) => {}
        }
        s.push(')');
        s
    }
}
