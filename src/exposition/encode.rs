//! The per-account, per-exporter and self-metric encoders: what each family's samples say.

use std::sync::Arc;

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::MetricType;

use crate::posture::{AccountData, CONTROLS, Posture};

use super::*;

/// An account's data as of its last good refresh.
#[derive(Debug)]
pub struct AccountView {
    pub labels: AccountLabels,
    /// Shared with the account's fast check, which re-derives from it (`crate::fast`).
    pub data: Arc<AccountData>,
    pub posture: Posture,
    /// Per-user series on (`--metrics.per-user`).
    pub per_user: bool,
}

#[derive(Debug)]
pub(super) struct AccountCollector(Arc<AccountView>);

impl prometheus_client::collector::Collector for AccountCollector {
    fn encode(&self, enc: DescriptorEncoder) -> std::fmt::Result {
        encode_account(&self.0, &mut Out { enc })
    }
}

pub(super) fn encode_account(v: &AccountView, out: &mut Out<'_>) -> std::fmt::Result {
    let acct = v.labels.as_slice();
    let root = &v.posture.root;
    let c = &v.posture.counts;
    // Per user, but few and each one urgent: also without --metrics.per-user.
    if let Some(q) = &v.data.facts.quarantine {
        let users = q.users();
        out.gauges(
            Fam::UserQuarantined,
            users.iter().flat_map(|(user, policies)| {
                policies
                    .iter()
                    .map(move |p| ((acct, [("user", *user), ("policy", *p)]), 1))
            }),
        )?;
        out.gauge(Fam::QuarantinedUsers, acct, Some(users.len() as u64))?;
        out.gauges(
            Fam::QuarantinePolicyAttachments,
            q.policies.iter().flat_map(|p| {
                p.attachments().map(|(entity, n)| {
                    ((acct, [("policy", p.name.as_str()), ("entity", entity)]), n)
                })
            }),
        )?;
    }
    out.gauge(
        Fam::RootAccessKeysPresent,
        acct,
        root.access_keys_present.map(b),
    )?;
    out.gauges(
        Fam::RootAccessKeyActive,
        root.access_key_active.iter().flat_map(|keys| {
            [("1", keys[0]), ("2", keys[1])].map(|(k, a)| ((acct, [("key", k)]), b(a)))
        }),
    )?;
    out.gauges(
        Fam::RootAccessKeyLastRotated,
        [
            ("1", root.access_key_last_rotated[0]),
            ("2", root.access_key_last_rotated[1]),
        ]
        .into_iter()
        .filter_map(|(k, at)| Some(((acct, [("key", k)]), at?))),
    )?;
    out.gauge(Fam::RootMfaEnabled, acct, root.mfa_enabled.map(b))?;
    out.gauge(
        Fam::RootHardwareMfaEnabled,
        acct,
        root.hardware_mfa_enabled.map(b),
    )?;
    out.gauge(Fam::RootPasswordPresent, acct, root.password_present.map(b))?;
    out.gauge(
        Fam::RootCredentialsPresent,
        acct,
        root.credentials_present.map(b),
    )?;
    out.gauges(
        Fam::RootSigningCertificateActive,
        root.signing_certificate_active.iter().flat_map(|certs| {
            [("1", certs[0]), ("2", certs[1])].map(|(k, a)| ((acct, [("cert", k)]), b(a)))
        }),
    )?;
    out.gauges(
        Fam::RootLastUsedTimestamp,
        root.last_used
            .iter()
            .map(|(cred, at)| ((acct, [("credential", *cred)]), *at)),
    )?;

    for (f, n) in [
        (Fam::Users, c.users),
        (
            Fam::UsersWithMultipleActiveKeys,
            c.with_multiple_active_keys,
        ),
        (Fam::ConsoleUsers, c.console_users),
        (Fam::ConsoleUsersWithoutMfa, c.console_users_without_mfa),
        (
            Fam::ConsoleUsersNeverSignedIn,
            c.console_users_never_signed_in,
        ),
        (
            Fam::ConsoleUsersWithVirtualMfa,
            c.console_users_with_virtual_mfa,
        ),
        (Fam::ActiveAccessKeys, c.active_access_keys),
        (
            Fam::ActiveAccessKeysNeverUsed,
            c.active_access_keys_never_used,
        ),
    ] {
        out.gauge(f, acct, n)?;
    }

    // The per-user families are written by `users::TextWriter` (see `render_account`).

    if let Some(creds) = crate::posture::service_credentials(&v.data) {
        let mut counts = std::collections::BTreeMap::<(&str, &str), u64>::new();
        for c in &creds {
            *counts
                .entry((c.service.as_str(), c.status.as_str()))
                .or_default() += 1;
        }
        out.gauges(
            Fam::ServiceSpecificCredentials,
            counts.iter().map(|((service, status), n)| {
                ((acct, [("service", *service), ("status", *status)]), *n)
            }),
        )?;
        if v.per_user {
            let labels = |c| credential_labels(acct, c);
            out.gauges(
                Fam::ServiceCredentialCreated,
                creds.iter().map(|c| (labels(c), c.created)),
            )?;
            out.gauges(
                Fam::ServiceCredentialExpiration,
                creds.iter().filter_map(|c| Some((labels(c), c.expires?))),
            )?;
        }
    }

    if let Some(summary) = &v.data.facts.summary {
        out.gauges(
            Fam::AccountSummary,
            summary
                .0
                .iter()
                .map(|(k, n)| ((acct, [("key", k.as_str())]), *n)),
        )?;
    }
    out.gauge(Fam::ReportGenerated, acct, v.data.generated)?;
    use crate::posture::{PasswordPolicy, PolicyState};
    let policy = match v.data.facts.password_policy {
        PolicyState::Unknown => None,
        PolicyState::Absent => Some(None),
        PolicyState::Present(p) => Some(Some(p)),
    };
    out.gauge(
        Fam::PasswordPolicyPresent,
        acct,
        policy.map(|p| b(p.is_some())),
    )?;
    let present = policy.flatten();
    out.gauge(
        Fam::PasswordPolicyMinimumLength,
        acct,
        present.map(|p| p.minimum_length.unwrap_or(0)),
    )?;
    out.gauge(
        Fam::PasswordPolicyReusePrevention,
        acct,
        present.map(|p| p.reuse_prevention.unwrap_or(0)),
    )?;
    out.gauge(
        Fam::PasswordPolicyMaxAge,
        acct,
        present.and_then(|p| p.max_age()),
    )?;
    for (f, field) in [
        (
            Fam::PasswordPolicyRequireUppercase,
            (|p| p.require_uppercase) as fn(&PasswordPolicy) -> bool,
        ),
        (Fam::PasswordPolicyRequireLowercase, |p| p.require_lowercase),
        (Fam::PasswordPolicyRequireSymbols, |p| p.require_symbols),
        (Fam::PasswordPolicyRequireNumbers, |p| p.require_numbers),
        (Fam::PasswordPolicyAllowUsersToChangePassword, |p| {
            p.allow_users_to_change_password
        }),
        (Fam::PasswordPolicyHardExpiry, |p| p.hard_expiry),
        (Fam::PasswordPolicyExpirePasswords, |p| p.expire_passwords),
    ] {
        out.gauge(f, acct, present.map(|p| b(field(&p))))?;
    }
    if let Some(certs) = crate::posture::server_certificates(&v.data) {
        out.gauges(
            Fam::ServerCertificateExpiration,
            certs
                .iter()
                .filter_map(|c| Some(((acct, [("certificate", c.name.as_str())]), c.expiration?))),
        )?;
    }

    out.verdicts(acct, &v.posture.verdicts)
}

pub(super) type CredentialLabels<'a> = (&'a [(&'static str, String)], [(&'static str, &'a str); 3]);

/// `user`, `service`, `credential_id` of a service-specific credential.
pub(super) fn credential_labels<'a>(
    acct: &'a [(&'static str, String)],
    c: &'a crate::posture::ServiceCredential,
) -> CredentialLabels<'a> {
    (
        acct,
        [
            ("user", c.user.as_str()),
            ("service", c.service.as_str()),
            ("credential_id", c.id.as_str()),
        ],
    )
}

/// AWS errors by (operation, code), counted over the life of an account's refreshes or of the
/// exporter-level job: `aws_iam_exporter_aws_errors_total`. Sorted, for a stable exposition.
#[derive(Debug, Clone, Default)]
pub struct AwsErrors(std::collections::BTreeMap<(&'static str, String), u64>);

impl AwsErrors {
    /// Counts one failed call; its labels come from [`crate::fetch::ErrorCode::label`] only.
    pub fn count(&mut self, e: &crate::fetch::FetchError) {
        *self
            .0
            .entry((e.operation.as_str(), e.code.label().into_owned()))
            .or_default() += 1;
    }
}

/// Counts as given (tests, benchmarks).
impl<const N: usize> From<[((&'static str, String), u64); N]> for AwsErrors {
    fn from(counts: [((&'static str, String), u64); N]) -> Self {
        AwsErrors(counts.into())
    }
}

impl Out<'_> {
    /// `aws_iam_control_failing` and `aws_iam_control_failing_resources` of `verdicts`, each
    /// under `acct` and the control's `control`, `cis` and `securityhub` labels.
    fn verdicts<L: EncodeLabelSet + Copy>(
        &mut self,
        acct: L,
        verdicts: &[crate::posture::Verdict],
    ) -> std::fmt::Result {
        let labels = |v: &crate::posture::Verdict| {
            let c = v.control.control();
            (
                acct,
                [
                    ("control", c.id),
                    ("cis", c.cis),
                    ("securityhub", c.securityhub),
                ],
            )
        };
        self.gauges(
            Fam::ControlFailing,
            verdicts.iter().map(|v| (labels(v), b(v.failing))),
        )?;
        self.gauges(
            Fam::ControlFailingResources,
            verdicts.iter().map(|v| (labels(v), v.failing_resources)),
        )
    }

    /// `aws_iam_exporter_aws_errors_total` under `acct` (an account's labels, or none).
    fn aws_errors<L: EncodeLabelSet + Copy>(
        &mut self,
        acct: L,
        errors: &AwsErrors,
    ) -> std::fmt::Result {
        self.counters(
            Fam::AwsErrors,
            errors
                .0
                .iter()
                .map(|((op, code), n)| ((acct, [("operation", *op), ("code", code.as_str())]), *n)),
        )
    }
}

/// What a refresh attempt of an account leaves behind, good or bad.
#[derive(Debug, Clone, Default)]
pub struct RefreshStats {
    pub labels: AccountLabels,
    pub success: bool,
    pub last_success: Option<f64>,
    pub duration_seconds: f64,
    pub successes: u64,
    pub failures: u64,
    pub aws_errors: AwsErrors,
    /// Report column -> values that fit no known form, over every report parsed.
    pub unparsed: std::collections::BTreeMap<&'static str, u64>,
    /// Whether the last fast check succeeded; `None` where the account has none (yet).
    pub fast_success: Option<bool>,
    /// Fast checks that found a change and re-rendered the account.
    pub fast_updates: u64,
}

impl RefreshStats {
    /// Adds a parsed report's unparsed values (`CredentialReport::unparsed`), once per refresh,
    /// so `aws_iam_exporter_report_values_unparsed_total` stays monotonic across reports.
    pub fn count_unparsed(&mut self, unparsed: &std::collections::BTreeMap<&'static str, u64>) {
        for (column, n) in unparsed {
            *self.unparsed.entry(column).or_default() += n;
        }
    }
}

impl prometheus_client::collector::Collector for RefreshStatsCollector {
    fn encode(&self, enc: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.0;
        let acct = s.labels.as_slice();
        let mut out = Out { enc };
        out.gauge(Fam::RefreshSuccess, acct, Some(b(s.success)))?;
        out.gauge(Fam::LastRefreshSuccess, acct, s.last_success)?;
        out.gauge(Fam::RefreshDuration, acct, Some(s.duration_seconds))?;
        out.counters(
            Fam::Refreshes,
            [("success", s.successes), ("failure", s.failures)]
                .map(|(r, n)| ((acct, [("result", r)]), n)),
        )?;
        out.gauge(Fam::FastCheckSuccess, acct, s.fast_success.map(b))?;
        out.counters(
            Fam::FastCheckUpdates,
            s.fast_success.map(|_| (acct, s.fast_updates)),
        )?;
        out.aws_errors(acct, &s.aws_errors)?;
        out.counters(
            Fam::ReportValuesUnparsed,
            s.unparsed
                .iter()
                .map(|(column, n)| ((acct, [("column", *column)]), *n)),
        )
    }
}

#[derive(Debug)]
pub(super) struct RefreshStatsCollector(RefreshStats);

#[derive(Debug)]
pub(super) struct GlobalCollector {
    accounts: usize,
    discovery: Option<bool>,
    version: &'static str,
    revision: &'static str,
}

impl prometheus_client::collector::Collector for GlobalCollector {
    fn encode(&self, enc: DescriptorEncoder) -> std::fmt::Result {
        let mut out = Out { enc };
        out.gauge(Fam::Accounts, NoLabels {}, Some(self.accounts as i64))?;
        out.gauge(Fam::DiscoverySuccess, NoLabels {}, self.discovery.map(b))?;
        let fam = Fam::BuildInfo.family();
        let mut metric = out
            .enc
            .encode_descriptor(fam.name, fam.help, None, MetricType::Info)?;
        metric.encode_info(&[("version", self.version), ("revision", self.revision)])
    }
}

/// An empty label set (prometheus-client's `NoLabelSet` cannot be constructed).
#[derive(Debug, Clone, Copy, EncodeLabelSet)]
pub(super) struct NoLabels {}

/// Renders an account's data samples (once per successful refresh): prometheus-client writes
/// the account-level families, [`users::TextWriter`] appends the per-user ones.
pub fn render_account(view: Arc<AccountView>) -> Rendered {
    // Per-user samples per user, a little over what generated reports measure (docs/
    // performance.md, "Numbers behind the code").
    const PER_USER: usize = 720;
    let users = view.data.report.users.len();
    let appended = if view.per_user { users * PER_USER } else { 0 };
    let per_user = view.per_user.then(|| view.clone());
    Rendered::encode_then(AccountCollector(view), appended, |text, spans| {
        if let Some(v) = per_user {
            users::encode_users(&v, &mut users::TextWriter::new(&v, text, spans));
        }
    })
}

/// Renders an account's self-metrics (once per refresh attempt).
pub fn render_stats(stats: RefreshStats) -> Rendered {
    Rendered::encode(RefreshStatsCollector(stats))
}

/// The benchmark numbers of every control, once per exporter (no account labels): rendered
/// once at start and included with the exporter-wide series.
pub fn render_control_info() -> Rendered {
    #[derive(Debug)]
    struct ControlInfo;
    impl prometheus_client::collector::Collector for ControlInfo {
        fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
            let fam = Fam::ControlInfo.family();
            let mut metric = enc.encode_descriptor(fam.name, fam.help, None, MetricType::Info)?;
            for c in CONTROLS {
                for (standard, version, id) in c.benchmarks() {
                    metric.encode_info(&[
                        ("control", c.id),
                        ("standard", standard),
                        ("version", version),
                        ("id", id),
                    ])?;
                }
            }
            Ok(())
        }
    }
    Rendered::encode(ControlInfo)
}

/// The exporter-level refresh's data: the organization's features, the control derived from
/// them and the errors of its calls.
#[derive(Debug, Default, Clone)]
pub struct OrganizationView {
    /// ListOrganizationsFeatures' answer; `None` when unknown (the gauges are then absent).
    pub features: Option<crate::fetch::OrganizationFeatures>,
    /// The `root_credentials_management` verdict with the exporter's own account labels;
    /// `None` when unknown.
    pub control: Option<(AccountLabels, crate::posture::Verdict)>,
    /// Exporter-level: no account labels.
    pub aws_errors: AwsErrors,
}

#[derive(Debug)]
pub(super) struct OrganizationCollector(OrganizationView);

impl prometheus_client::collector::Collector for OrganizationCollector {
    fn encode(&self, enc: DescriptorEncoder) -> std::fmt::Result {
        let v = &self.0;
        let mut out = Out { enc };
        if let Some(f) = &v.features {
            let org = f.organization_id.as_str();
            out.gauges(
                Fam::OrganizationFeatureEnabled,
                [
                    ("RootCredentialsManagement", f.root_credentials_management),
                    ("RootSessions", f.root_sessions),
                ]
                .map(|(feature, on)| ([("organization_id", org), ("feature", feature)], b(on))),
            )?;
        }
        if let Some((acct, verdict)) = &v.control {
            out.verdicts(acct.as_slice(), std::slice::from_ref(verdict))?;
        }
        out.aws_errors(NoLabels {}, &v.aws_errors)
    }
}

/// Renders the exporter-level part (once per organization refresh).
pub fn render_organization(view: &OrganizationView) -> Rendered {
    Rendered::encode(OrganizationCollector(view.clone()))
}

/// Renders the exporter-wide series.
pub fn render_global(
    accounts: usize,
    discovery: Option<bool>,
    version: &'static str,
    revision: &'static str,
) -> Rendered {
    Rendered::encode(GlobalCollector {
        accounts,
        discovery,
        version,
        revision,
    })
}

/// One account's root last use, kept for the scrape-time tail.
#[derive(Debug, Clone)]
pub struct RootUse {
    pub labels: AccountLabels,
    pub at: i64,
}
