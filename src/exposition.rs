//! PURE: snapshots -> exposition bytes, rendered once per refresh, copied on every scrape.
//!
//! Last stage of the pipeline. Samples are encoded by prometheus-client (OpenMetrics text) once
//! per account per refresh and kept grouped by metric family. A scrape body is assembled from
//! those groups under one header per family, so many accounts still give one contiguous family
//! each (both formats require it). The sample lines of gauges and counters are the same in
//! OpenMetrics and in the classic 0.0.4 text format; only the headers differ (`# TYPE x counter`
//! vs `# TYPE x_total counter`, `info` vs `gauge`, `# EOF`). So the classic form is the same
//! samples under classic headers, written here from the same family table: no second encoder,
//! no text rewriting of samples. That is how the classic format, which prometheus-client does not
//! write, is produced.
//!
//! Values that age between refreshes (`aws_iam_root_last_used_seconds`) are not in the rendered
//! body: they form a small tail encoded at scrape time (see [`Published::body`]).

use std::fmt::Write as _;
use std::io::Write as _;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::posture::{AccountData, CONTROLS, Posture, ROOT_CREDENTIALS};
use crate::report::Row;

/// How a family is typed in each format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    /// Samples `<name>_total`.
    Counter,
    /// OpenMetrics `info` (sample `<name>_info`); a gauge in the classic format.
    Info,
}

/// One metric family: the contract of a metric name.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
}

macro_rules! families {
    ($($variant:ident = ($name:literal, $kind:ident, $help:literal);)*) => {
        /// Every family the exporter can emit, in exposition order.
        pub const FAMILIES: &[Family] = &[$(Family { name: $name, help: $help, kind: Kind::$kind }),*];
        /// Index into [`FAMILIES`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Fam { $($variant),* }
    };
}

families! {
    RootAccessKeysPresent = ("aws_iam_root_access_keys_present", Gauge, "1 if the root user has an access key, active or not (GetAccountSummary AccountAccessKeysPresent; the report's root keys when no summary). CIS 1.4, Security Hub IAM.4.");
    RootAccessKeyActive = ("aws_iam_root_access_key_active", Gauge, "1 if root access key 1 or 2 is active (credential report access_key_N_active of <root_account>).");
    RootMfaEnabled = ("aws_iam_root_mfa_enabled", Gauge, "1 if the root user has MFA (GetAccountSummary AccountMFAEnabled; the report's root mfa_active when no summary). CIS 1.5, Security Hub IAM.9.");
    RootHardwareMfaEnabled = ("aws_iam_root_hardware_mfa_enabled", Gauge, "1 if root MFA is on and no virtual MFA device is assigned to root (ListVirtualMFADevices). CIS 1.6, Security Hub IAM.6.");
    RootPasswordPresent = ("aws_iam_root_password_present", Gauge, "1 if the root user has a password (GetAccountSummary AccountPasswordPresent, where AWS sends it).");
    RootCredentialsPresent = ("aws_iam_root_credentials_present", Gauge, "1 if the root user has a password, an access key (active or not) or a signing certificate (GetAccountSummary AccountPasswordPresent, AccountAccessKeysPresent, AccountSigningCertificatesPresent; the report's root row where the summary lacks a key); absent when unknown. 0 in an Organizations member account whose root credentials were removed: root_mfa and root_hardware_mfa then pass (CIS 5.0 1.4-1.5).");
    RootSigningCertificateActive = ("aws_iam_root_signing_certificate_active", Gauge, "1 if root signing certificate 1 or 2 is active (credential report cert_N_active).");
    RootLastUsedTimestamp = ("aws_iam_root_last_used_timestamp_seconds", Gauge, "When a root credential was last used (credential report password_last_used, access_key_N_last_used_date); only credentials with a date.");
    RootLastUsedSeconds = ("aws_iam_root_last_used_seconds", Gauge, "Seconds since the most recent use of any root credential, computed at scrape time; absent if root was never used. CIS 1.7.");
    Users = ("aws_iam_users", Gauge, "IAM users in the credential report, root excluded.");
    UsersWithMultipleActiveKeys = ("aws_iam_users_with_multiple_active_keys", Gauge, "IAM users with both access keys active. CIS 1.13.");
    ConsoleUsers = ("aws_iam_console_users", Gauge, "IAM users with a console password (password_enabled).");
    ConsoleUsersWithoutMfa = ("aws_iam_console_users_without_mfa", Gauge, "IAM users with a console password and no MFA. CIS 1.10, Security Hub IAM.5.");
    ConsoleUsersNeverSignedIn = ("aws_iam_console_users_never_signed_in", Gauge, "IAM users with a console password never used (password_last_used has no date).");
    ConsoleUsersWithVirtualMfa = ("aws_iam_console_users_with_virtual_mfa", Gauge, "IAM users with a console password whose MFA is a virtual (TOTP app) device (ListVirtualMFADevices); absent when the device list is unknown. Phishing-resistant MFA (FIDO security keys) is not virtual.");
    ActiveAccessKeys = ("aws_iam_active_access_keys", Gauge, "Active access keys of IAM users.");
    ActiveAccessKeysNeverUsed = ("aws_iam_active_access_keys_never_used", Gauge, "Active access keys of IAM users with no recorded use (access_key_N_last_used_date N/A).");
    UserActiveAccessKeys = ("aws_iam_user_active_access_keys", Gauge, "Active access keys of the user: 0, 1 or 2.");
    UserPasswordEnabled = ("aws_iam_user_password_enabled", Gauge, "1 if the user has a console password (password_enabled).");
    UserPasswordLastUsed = ("aws_iam_user_password_last_used_timestamp_seconds", Gauge, "When the user's password was last used (password_last_used); absent when never used.");
    UserMfaActive = ("aws_iam_user_mfa_active", Gauge, "1 if the user has an MFA device (mfa_active).");
    UserVirtualMfa = ("aws_iam_user_virtual_mfa", Gauge, "1 if the console user's MFA is a virtual (TOTP app) device, 0 if not (ListVirtualMFADevices); only console users.");
    UserCreated = ("aws_iam_user_created_timestamp_seconds", Gauge, "When the user was created (user_creation_time).");
    AccessKeyLastRotated = ("aws_iam_access_key_last_rotated_timestamp_seconds", Gauge, "When the active access key was created or last rotated (access_key_N_last_rotated).");
    AccessKeyLastUsed = ("aws_iam_access_key_last_used_timestamp_seconds", Gauge, "When the active access key was last used (access_key_N_last_used_date); absent when never used.");
    AccessKeyNeverUsed = ("aws_iam_access_key_never_used", Gauge, "1 if the active access key has no recorded use.");
    ServiceSpecificCredentials = ("aws_iam_service_specific_credentials", Gauge, "Service-specific credentials (Bedrock API keys, CodeCommit HTTPS Git, Keyspaces; ListServiceSpecificCredentials) by service as AWS names it and lower-cased status; absent when the list is unknown. They never appear in the credential report.");
    ServiceCredentialCreated = ("aws_iam_service_specific_credential_created_timestamp_seconds", Gauge, "When the service-specific credential was created (CreateDate).");
    ServiceCredentialExpiration = ("aws_iam_service_specific_credential_expiration_timestamp_seconds", Gauge, "When the service-specific credential expires (ExpirationDate); absent when AWS gives none (it never expires).");
    AccountSummary = ("aws_iam_account_summary", Gauge, "Every GetAccountSummary SummaryMap entry; the AWS key name is the label key.");
    ReportGenerated = ("aws_iam_credential_report_generated_timestamp_seconds", Gauge, "The credential report's GeneratedTime. AWS regenerates it at most every 4 hours.");
    PasswordPolicyPresent = ("aws_iam_password_policy_present", Gauge, "1 if the account has a password policy (GetAccountPasswordPolicy; NoSuchEntity is 0).");
    PasswordPolicyMinimumLength = ("aws_iam_password_policy_minimum_length", Gauge, "Password policy MinimumPasswordLength. CIS 1.8 wants 14 or more.");
    PasswordPolicyReusePrevention = ("aws_iam_password_policy_reuse_prevention", Gauge, "Password policy PasswordReusePrevention (0 when not set). CIS 1.9 wants 24.");
    PasswordPolicyMaxAge = ("aws_iam_password_policy_max_age_seconds", Gauge, "Password policy MaxPasswordAge, in seconds; absent when passwords do not expire.");
    ControlFailing = ("aws_iam_control_failing", Gauge, "1 if the control fails for the account, 0 if it passes; absent when its input is unknown. Labels: control id, CIS v1.4-v4.0 number, Security Hub id.");
    ControlFailingResources = ("aws_iam_control_failing_resources", Gauge, "How many resources fail the control: users for user controls, root credentials for root controls.");
    RefreshSuccess = ("aws_iam_exporter_refresh_success", Gauge, "1 if the last refresh of the account succeeded.");
    LastRefreshSuccess = ("aws_iam_exporter_last_refresh_success_timestamp_seconds", Gauge, "When a refresh of the account last succeeded.");
    RefreshDuration = ("aws_iam_exporter_refresh_duration_seconds", Gauge, "How long the last refresh of the account took.");
    Refreshes = ("aws_iam_exporter_refreshes", Counter, "Refreshes of the account by result.");
    AwsErrors = ("aws_iam_exporter_aws_errors", Counter, "AWS API errors by operation and AWS error code.");
    ReportValuesUnparsed = ("aws_iam_exporter_report_values_unparsed", Counter, "Credential report values that fit no known form, by column, summed over refreshes. Each is unknown for its row (the facts and controls that need it are absent); the rest of the report is served.");
    Accounts = ("aws_iam_exporter_accounts", Gauge, "Accounts this exporter watches.");
    DiscoverySuccess = ("aws_iam_exporter_account_discovery_success", Gauge, "1 if the last discovery of the accounts (config file, Organizations ListAccounts) succeeded; only in multi-account mode.");
    ControlInfo = ("aws_iam_control", Info, "The number of a control in each benchmark version that has it (standard cis-aws-foundations 1.4.0-7.0.0, aws-fsbp 1.0.0); join on control with aws_iam_control_failing to read compliance for one standard and version.");
    BuildInfo = ("aws_iam_exporter_build", Info, "Version and git revision of the exporter.");
}

impl Fam {
    fn family(self) -> &'static Family {
        &FAMILIES[self as usize]
    }
}

/// The exposition formats a scrape can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`, what `promtool check metrics` and textfile collectors read.
    Classic,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Classic => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The `# HELP`/`# TYPE` lines of a family in a format.
fn write_header(out: &mut String, f: &Family, format: Format) {
    let (suffix, kind) = match (f.kind, format) {
        (Kind::Gauge, _) => ("", "gauge"),
        (Kind::Counter, Format::OpenMetrics) => ("", "counter"),
        (Kind::Counter, Format::Classic) => ("_total", "counter"),
        (Kind::Info, Format::OpenMetrics) => ("", "info"),
        (Kind::Info, Format::Classic) => ("_info", "gauge"),
    };
    let _ = writeln!(out, "# HELP {}{suffix} {}", f.name, f.help);
    let _ = writeln!(out, "# TYPE {}{suffix} {kind}", f.name);
}

/// Labels every series of an account carries: `account_id`, and `account_name` when known.
pub type AccountLabels = Vec<(&'static str, String)>;

/// Samples of one source (an account's data, its self-metrics, or the globals), grouped by
/// family: `spans[f]` is the byte range of family `f`'s sample lines in `text`.
#[derive(Debug, Default, Clone)]
pub struct Rendered {
    text: String,
    spans: Vec<Range<usize>>,
}

impl Rendered {
    /// Encodes with prometheus-client and indexes the output by family.
    fn encode(collector: impl prometheus_client::collector::Collector) -> Rendered {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(collector));
        let mut text = String::new();
        // Writing to a String cannot fail; an Err would only come from our own collector.
        let _ = prometheus_client::encoding::text::encode_registry(&mut text, &registry);
        let spans = index_families(&text);
        Rendered { text, spans }
    }

    fn samples(&self, f: usize) -> &str {
        self.spans
            .get(f)
            .and_then(|r| self.text.get(r.clone()))
            .unwrap_or_default()
    }

    /// Bytes held, for the memory accounting of benchmarks.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// Finds each family's sample lines in prometheus-client output (`# HELP` starts a family).
fn index_families(text: &str) -> Vec<Range<usize>> {
    let mut spans = vec![0..0; FAMILIES.len()];
    let mut current: Option<usize> = None;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let end = pos + line.len();
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default();
            current = FAMILIES.iter().position(|f| f.name == name);
            if let Some(f) = current {
                spans[f] = end..end;
            }
        } else if line.starts_with('#') {
            if let Some(f) = current {
                spans[f] = end..end;
            }
        } else if let Some(f) = current {
            spans[f].end = end;
        }
        pos = end;
    }
    spans
}

/// A family writer over prometheus-client's encoder: skips families with no samples.
struct Out<'e> {
    enc: DescriptorEncoder<'e>,
}

impl Out<'_> {
    fn gauges<L: EncodeLabelSet, V: EncodeGaugeValue>(
        &mut self,
        f: Fam,
        samples: impl IntoIterator<Item = (L, V)>,
    ) -> std::fmt::Result {
        let mut samples = samples.into_iter().peekable();
        if samples.peek().is_none() {
            return Ok(());
        }
        let fam = f.family();
        let mut metric = self
            .enc
            .encode_descriptor(fam.name, fam.help, None, MetricType::Gauge)?;
        for (labels, v) in samples {
            metric.encode_family(&labels)?.encode_gauge(&v)?;
        }
        Ok(())
    }

    fn gauge<L: EncodeLabelSet, V: EncodeGaugeValue>(
        &mut self,
        f: Fam,
        labels: L,
        v: Option<V>,
    ) -> std::fmt::Result {
        self.gauges(f, v.map(|v| (labels, v)))
    }

    fn counters<L: EncodeLabelSet>(
        &mut self,
        f: Fam,
        samples: impl IntoIterator<Item = (L, u64)>,
    ) -> std::fmt::Result {
        let mut samples = samples.into_iter().peekable();
        if samples.peek().is_none() {
            return Ok(());
        }
        let fam = f.family();
        let mut metric =
            self.enc
                .encode_descriptor(fam.name, fam.help, None, MetricType::Counter)?;
        for (labels, v) in samples {
            metric
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, u64, u64>(&v, None)?;
        }
        Ok(())
    }
}

fn b(v: bool) -> i64 {
    i64::from(v)
}

/// An account's data as of its last good refresh.
#[derive(Debug)]
pub struct AccountView {
    pub labels: AccountLabels,
    pub data: AccountData,
    pub posture: Posture,
    /// Per-user series on (`--metrics.per-user`).
    pub per_user: bool,
}

#[derive(Debug)]
struct AccountCollector(Arc<AccountView>);

impl prometheus_client::collector::Collector for AccountCollector {
    fn encode(&self, enc: DescriptorEncoder) -> std::fmt::Result {
        encode_account(&self.0, &mut Out { enc })
    }
}

fn encode_account(v: &AccountView, out: &mut Out<'_>) -> std::fmt::Result {
    let acct = v.labels.as_slice();
    let root = &v.posture.root;
    let c = &v.posture.counts;
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
    debug_assert_eq!(ROOT_CREDENTIALS.len(), 3);

    for (f, n) in [
        (Fam::Users, Some(c.users)),
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

    if v.per_user {
        encode_users(v, out)?;
    }

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
    use crate::posture::PolicyState;
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
        present
            .and_then(|p| p.max_age_days)
            .map(|d| d.saturating_mul(86_400)),
    )?;

    let control_labels = |i: usize| {
        let c = &CONTROLS[i];
        (
            acct,
            [
                ("control", c.id),
                ("cis", c.cis),
                ("securityhub", c.securityhub),
            ],
        )
    };
    out.gauges(
        Fam::ControlFailing,
        v.posture
            .verdicts
            .iter()
            .map(|x| (control_labels(x.control as usize), b(x.failing))),
    )?;
    out.gauges(
        Fam::ControlFailingResources,
        v.posture
            .verdicts
            .iter()
            .map(|x| (control_labels(x.control as usize), x.failing_resources)),
    )
}

fn encode_users(v: &AccountView, out: &mut Out<'_>) -> std::fmt::Result {
    let acct = v.labels.as_slice();
    let report = &v.data.report;
    let users = &report.users;
    let user = |u: &Row| (acct, [("user", report.name(u))]);
    let per_key = |u| active_keys(acct, report, u);
    out.gauges(
        Fam::UserActiveAccessKeys,
        users
            .iter()
            .filter_map(|u| Some((user(u), u.active_access_keys()? as i64))),
    )?;
    out.gauges(
        Fam::UserPasswordEnabled,
        users
            .iter()
            .filter_map(|u| Some((user(u), b(u.password_enabled?)))),
    )?;
    out.gauges(
        Fam::UserPasswordLastUsed,
        users
            .iter()
            .filter_map(|u| Some((user(u), u.password_last_used?.timestamp()?))),
    )?;
    out.gauges(
        Fam::UserMfaActive,
        users
            .iter()
            .filter_map(|u| Some((user(u), b(u.mfa_active?)))),
    )?;
    if let Some(set) = crate::posture::virtual_mfa_users(&v.data) {
        out.gauges(
            Fam::UserVirtualMfa,
            users
                .iter()
                .filter(|u| u.password_enabled == Some(true))
                .map(|u| (user(u), b(set.contains(report.name(u))))),
        )?;
    }
    out.gauges(
        Fam::UserCreated,
        users
            .iter()
            .filter_map(|u| Some((user(u), u.user_creation_time?.timestamp()?))),
    )?;
    out.gauges(
        Fam::AccessKeyLastRotated,
        users
            .iter()
            .flat_map(|u| per_key(u).filter_map(|(l, k)| Some((l, k.last_rotated?.timestamp()?)))),
    )?;
    out.gauges(
        Fam::AccessKeyLastUsed,
        users
            .iter()
            .flat_map(|u| per_key(u).filter_map(|(l, k)| Some((l, k.last_used?.timestamp()?)))),
    )?;
    out.gauges(
        Fam::AccessKeyNeverUsed,
        users.iter().flat_map(|u| {
            per_key(u).filter_map(|(l, k)| Some((l, b(k.last_used?.timestamp().is_none()))))
        }),
    )
}

type CredentialLabels<'a> = (&'a [(&'static str, String)], [(&'static str, &'a str); 3]);

/// `user`, `service`, `credential_id` of a service-specific credential.
fn credential_labels<'a>(
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

type KeyLabels<'a> = (&'a [(&'static str, String)], [(&'static str, &'a str); 2]);

/// The active keys of a user with their `user`/`key` labels.
fn active_keys<'a>(
    acct: &'a [(&'static str, String)],
    report: &'a crate::report::CredentialReport,
    u: &'a Row,
) -> impl Iterator<Item = (KeyLabels<'a>, &'a crate::report::AccessKey)> + 'a {
    [("1", &u.access_keys[0]), ("2", &u.access_keys[1])]
        .into_iter()
        .filter(|(_, k)| k.active == Some(true))
        .map(move |(n, k)| ((acct, [("user", report.name(u)), ("key", n)]), k))
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
    /// (operation, code) -> count, sorted for a stable exposition.
    pub aws_errors: std::collections::BTreeMap<(&'static str, String), u64>,
    /// Report column -> values that fit no known form, over every report parsed.
    pub unparsed: std::collections::BTreeMap<&'static str, u64>,
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
        out.counters(
            Fam::AwsErrors,
            s.aws_errors
                .iter()
                .map(|((op, code), n)| ((acct, [("operation", *op), ("code", code.as_str())]), *n)),
        )?;
        out.counters(
            Fam::ReportValuesUnparsed,
            s.unparsed
                .iter()
                .map(|(column, n)| ((acct, [("column", *column)]), *n)),
        )
    }
}

#[derive(Debug)]
struct RefreshStatsCollector(RefreshStats);

#[derive(Debug)]
struct GlobalCollector {
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
struct NoLabels {}

/// Renders an account's data samples (once per successful refresh).
pub fn render_account(view: Arc<AccountView>) -> Rendered {
    Rendered::encode(AccountCollector(view))
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

/// Assembles rendered parts into one body without the tail: each family once, under its header.
pub fn assemble<'a>(parts: impl Iterator<Item = &'a Rendered> + Clone, format: Format) -> String {
    let capacity = parts.clone().map(|p| p.text.len()).sum::<usize>() + 16 * 1024;
    let mut out = String::with_capacity(capacity);
    for (i, fam) in FAMILIES.iter().enumerate() {
        if parts.clone().all(|p| p.samples(i).is_empty()) {
            continue;
        }
        write_header(&mut out, fam, format);
        for p in parts.clone() {
            out.push_str(p.samples(i));
        }
    }
    out
}

/// The scrape-time tail: ages computed from `now`, plus `# EOF` for OpenMetrics.
pub fn tail(root_uses: &[RootUse], now: f64, format: Format) -> String {
    let mut out = String::new();
    if !root_uses.is_empty() {
        #[derive(Debug)]
        struct Ages(Vec<(AccountLabels, f64)>);
        impl prometheus_client::collector::Collector for Ages {
            fn encode(&self, enc: DescriptorEncoder) -> std::fmt::Result {
                Out { enc }.gauges(
                    Fam::RootLastUsedSeconds,
                    self.0.iter().map(|(l, age)| (l.as_slice(), *age)),
                )
            }
        }
        let ages = root_uses
            .iter()
            .map(|r| (r.labels.clone(), (now - r.at as f64).max(0.0)))
            .collect();
        let rendered = Rendered::encode(Ages(ages));
        out = assemble(std::iter::once(&rendered), format);
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

/// A gzip stream whose head (gzip header + the deflated body, sync-flushed) is made once per
/// refresh; a scrape appends the deflated tail and the trailer. One gzip member, so every
/// client decodes it, and the big part is compressed once, not per scrape.
#[derive(Debug, Clone)]
pub struct Precompressed {
    head: Bytes,
    crc: crc32fast::Hasher,
    len: u64,
}

const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

impl Precompressed {
    pub fn new(body: &[u8]) -> Precompressed {
        let mut head = Vec::with_capacity(body.len() / 6 + 64);
        head.extend_from_slice(&GZIP_HEADER);
        let mut enc = flate2::write::DeflateEncoder::new(head, flate2::Compression::fast());
        // Writes and flushes into a Vec cannot fail.
        let _ = enc.write_all(body);
        let _ = enc.flush();
        let head = std::mem::take(enc.get_mut());
        let mut crc = crc32fast::Hasher::new();
        crc.update(body);
        Precompressed {
            head: Bytes::from(head),
            crc,
            len: body.len() as u64,
        }
    }

    /// The head, and the deflated tail with the gzip trailer.
    pub fn finish(&self, tail: &[u8]) -> [Bytes; 2] {
        let mut enc = flate2::write::DeflateEncoder::new(
            Vec::with_capacity(tail.len() / 2 + 32),
            flate2::Compression::fast(),
        );
        let _ = enc.write_all(tail);
        let mut end = enc.finish().unwrap_or_default();
        let mut crc = self.crc.clone();
        crc.update(tail);
        end.extend_from_slice(&crc.finalize().to_le_bytes());
        // ISIZE is the length modulo 2^32 (RFC 1952).
        end.extend_from_slice(&((self.len + tail.len() as u64) as u32).to_le_bytes());
        [self.head.clone(), Bytes::from(end)]
    }

    pub fn compressed_len(&self) -> usize {
        self.head.len()
    }
}

/// One format's body, plain and pre-compressed.
#[derive(Debug, Clone)]
pub struct Body {
    pub plain: Bytes,
    pub gzip: Precompressed,
}

impl Body {
    fn new(text: String) -> Body {
        let gzip = Precompressed::new(text.as_bytes());
        Body {
            plain: Bytes::from(text),
            gzip,
        }
    }
}

/// What scrapes read: swapped in whole after each refresh.
#[derive(Debug, Clone)]
pub struct Published {
    pub classic: Body,
    pub openmetrics: Body,
    pub root_uses: Vec<RootUse>,
}

impl Published {
    pub fn build<'a>(
        parts: impl Iterator<Item = &'a Rendered> + Clone,
        root_uses: Vec<RootUse>,
    ) -> Published {
        let classic = assemble(parts.clone(), Format::Classic);
        let openmetrics = assemble(parts, Format::OpenMetrics);
        // Compressing is most of the publishing cost; the two formats compress side by side.
        let (classic, openmetrics) = std::thread::scope(|scope| {
            let om = scope.spawn(|| Body::new(openmetrics));
            let classic = Body::new(classic);
            (classic, om.join())
        });
        let openmetrics = match openmetrics {
            Ok(body) => body,
            // Compressing a String cannot panic; if it ever did, serve the panic upwards.
            Err(panic) => std::panic::resume_unwind(panic),
        };
        Published {
            classic,
            openmetrics,
            root_uses,
        }
    }

    /// The chunks of a scrape response (copies of reference-counted bytes plus a small tail).
    pub fn body(&self, format: Format, gzip: bool, now: f64) -> [Bytes; 2] {
        let body = match format {
            Format::Classic => &self.classic,
            Format::OpenMetrics => &self.openmetrics,
        };
        let tail = tail(&self.root_uses, now, format);
        if gzip {
            body.gzip.finish(tail.as_bytes())
        } else {
            [body.plain.clone(), Bytes::from(tail)]
        }
    }

    /// The whole classic exposition as text (for `--once` and tests).
    pub fn classic_text(&self, now: f64) -> String {
        let [a, b] = self.body(Format::Classic, false, now);
        let mut s = String::from_utf8_lossy(&a).into_owned();
        s.push_str(&String::from_utf8_lossy(&b));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posture::{Facts, Summary, Thresholds, derive};
    use crate::report::parse;
    use std::io::Read;

    const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::123456789012:root,2015-01-01T00:00:00+00:00,not_supported,2024-05-01T00:00:00+00:00,not_supported,not_supported,false,true,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
\"o\"\"dd,name\",\"arn:aws:iam::123456789012:user/o\"\"dd,name\",2020-01-01T00:00:00Z,true,no_information,2020-01-01T00:00:00Z,N/A,false,true,2020-01-01T00:00:00Z,N/A,N/A,N/A,true,2020-01-01T00:00:00Z,2024-05-01T00:00:00Z,us-east-1,s3,false,N/A,false,N/A
";

    fn view(per_user: bool) -> Arc<AccountView> {
        let data = AccountData {
            report: parse(REPORT.as_bytes()).unwrap(),
            generated: Some(1_717_000_000),
            facts: Facts {
                summary: Some(Summary(vec![
                    ("AccountAccessKeysPresent".into(), 1),
                    ("Users".into(), 1),
                ])),
                ..Facts::default()
            },
        };
        let posture = derive(&data, &Thresholds::default(), 1_717_200_000);
        Arc::new(AccountView {
            labels: vec![("account_id", "123456789012".into())],
            data,
            posture,
            per_user,
        })
    }

    fn published(per_user: bool) -> Published {
        let parts = [
            render_account(view(per_user)),
            render_stats(RefreshStats {
                labels: vec![("account_id", "123456789012".into())],
                success: true,
                last_success: Some(1_717_200_000.0),
                duration_seconds: 0.25,
                successes: 1,
                failures: 0,
                aws_errors: [(("GetCredentialReport", "Throttling".to_string()), 2)].into(),
                ..RefreshStats::default()
            }),
            render_global(1, None, "0.1.0", "abc"),
        ];
        Published::build(
            parts.iter(),
            vec![RootUse {
                labels: vec![("account_id", "123456789012".into())],
                at: 1_714_521_600,
            }],
        )
    }

    #[test]
    fn every_family_name_is_unique_and_prefixed() {
        let mut names: Vec<_> = FAMILIES.iter().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FAMILIES.len());
        assert!(FAMILIES.iter().all(|f| f.name.starts_with("aws_iam_")));
        assert!(
            FAMILIES
                .iter()
                .all(|f| !f.help.contains('\n') && !f.help.contains('\\'))
        );
    }

    #[test]
    fn classic_format_has_classic_headers_and_exact_samples() {
        let text = published(true).classic_text(1_714_521_700.0);
        assert!(text.contains("# TYPE aws_iam_exporter_aws_errors_total counter\n"));
        assert!(text.contains(
            "aws_iam_exporter_aws_errors_total{account_id=\"123456789012\",operation=\"GetCredentialReport\",code=\"Throttling\"} 2\n"
        ));
        assert!(text.contains("# TYPE aws_iam_exporter_build_info gauge\n"));
        assert!(
            text.contains("aws_iam_exporter_build_info{version=\"0.1.0\",revision=\"abc\"} 1\n")
        );
        assert!(text.contains("aws_iam_root_access_keys_present{account_id=\"123456789012\"} 1\n"));
        assert!(
            text.contains(
                "aws_iam_root_access_key_active{account_id=\"123456789012\",key=\"1\"} 1\n"
            )
        );
        assert!(
            text.contains("aws_iam_root_last_used_seconds{account_id=\"123456789012\"} 100.0\n")
        );
        assert!(!text.contains("# EOF"));
        assert!(!text.contains("# UNIT"));
    }

    #[test]
    fn unparsed_report_values_are_a_counter_summed_over_refreshes() {
        let mut stats = RefreshStats {
            labels: vec![("account_id", "123456789012".into())],
            ..RefreshStats::default()
        };
        let report = parse(
            REPORT
                .replacen("true,no_information", "maybe,no_information", 1)
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(report.unparsed, [("password_enabled", 1)].into());
        stats.count_unparsed(&report.unparsed);
        stats.count_unparsed(&report.unparsed);
        let text = assemble(std::iter::once(&render_stats(stats)), Format::Classic);
        assert!(text.contains("# TYPE aws_iam_exporter_report_values_unparsed_total counter\n"));
        assert!(text.contains(
            "aws_iam_exporter_report_values_unparsed_total{account_id=\"123456789012\",column=\"password_enabled\"} 2\n"
        ), "{text}");
    }

    #[test]
    fn control_info_lists_each_control_once_per_benchmark_version() {
        let text = assemble(std::iter::once(&render_control_info()), Format::Classic);
        assert!(
            text.contains("# TYPE aws_iam_control_info gauge\n"),
            "{text}"
        );
        assert!(text.contains(
            "aws_iam_control_info{control=\"root_access_key\",standard=\"cis-aws-foundations\",version=\"7.0.0\",id=\"2.4\"} 1\n"
        ), "{text}");
        assert!(text.contains(
            "aws_iam_control_info{control=\"access_key_rotation\",standard=\"aws-fsbp\",version=\"1.0.0\",id=\"IAM.3\"} 1\n"
        ));
        assert!(!text.contains("account_id"));
        let series = text.lines().filter(|l| !l.starts_with('#')).count();
        let expected: usize = CONTROLS.iter().map(|c| c.benchmarks().count()).sum();
        assert_eq!(series, expected);
        let om = assemble(std::iter::once(&render_control_info()), Format::OpenMetrics);
        assert!(om.contains("# TYPE aws_iam_control info\n"));
    }

    #[test]
    fn virtual_mfa_is_exported_per_console_user_and_counted_only_when_the_device_list_is_known() {
        let mut v = view(true).clone_for_test();
        let text = assemble(
            std::iter::once(&render_account(Arc::new(v.clone_for_test()))),
            Format::Classic,
        );
        assert!(!text.contains("virtual_mfa"), "{text}");
        v.data.facts.virtual_mfa_users = Some(vec!["o\"dd,name".into()]);
        v.posture = derive(&v.data, &Thresholds::default(), 1_717_200_000);
        let text = assemble(
            std::iter::once(&render_account(Arc::new(v))),
            Format::Classic,
        );
        assert!(
            text.contains(
                "aws_iam_user_virtual_mfa{account_id=\"123456789012\",user=\"o\\\"dd,name\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "aws_iam_console_users_with_virtual_mfa{account_id=\"123456789012\"} 1\n"
            )
        );
    }

    #[test]
    fn service_credentials_are_counted_by_service_and_status_and_listed_per_credential() {
        use crate::posture::ServiceCredential;
        let mut v = view(true).clone_for_test();
        let cred = |id: &str, service: &str, status: &str, expires| ServiceCredential {
            user: "dev".into(),
            service: service.into(),
            id: id.into(),
            status: status.into(),
            created: 1_700_000_000,
            expires,
        };
        v.data.facts.service_credentials = Some(vec![
            cred(
                "ACCA1",
                "bedrock.amazonaws.com",
                "active",
                Some(1_800_000_000),
            ),
            cred("ACCA2", "bedrock.amazonaws.com", "active", None),
            cred("ACCA3", "codecommit.amazonaws.com", "inactive", None),
        ]);
        v.posture = derive(&v.data, &Thresholds::default(), 1_717_200_000);
        let text = assemble(
            std::iter::once(&render_account(Arc::new(v))),
            Format::Classic,
        );
        for line in [
            "aws_iam_service_specific_credentials{account_id=\"123456789012\",service=\"bedrock.amazonaws.com\",status=\"active\"} 2\n",
            "aws_iam_service_specific_credentials{account_id=\"123456789012\",service=\"codecommit.amazonaws.com\",status=\"inactive\"} 1\n",
            "aws_iam_service_specific_credential_created_timestamp_seconds{account_id=\"123456789012\",user=\"dev\",service=\"bedrock.amazonaws.com\",credential_id=\"ACCA1\"} 1700000000\n",
            "aws_iam_service_specific_credential_expiration_timestamp_seconds{account_id=\"123456789012\",user=\"dev\",service=\"bedrock.amazonaws.com\",credential_id=\"ACCA1\"} 1800000000\n",
            "aws_iam_control_failing{account_id=\"123456789012\",control=\"bedrock_long_term_api_key\",cis=\"\",securityhub=\"\"} 1\n",
            "aws_iam_control_failing_resources{account_id=\"123456789012\",control=\"bedrock_long_term_api_key\",cis=\"\",securityhub=\"\"} 2\n",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
        assert_eq!(text.matches("_expiration_timestamp_seconds{").count(), 1);
    }

    #[test]
    fn label_values_with_quotes_and_commas_are_escaped() {
        let text = published(true).classic_text(0.0);
        assert!(
            text.contains("aws_iam_user_active_access_keys{account_id=\"123456789012\",user=\"o\\\"dd,name\"} 2\n"),
            "{text}"
        );
    }

    #[test]
    fn openmetrics_format_ends_with_eof_and_types_counters_by_family_name() {
        let p = published(true);
        let [a, b] = p.body(Format::OpenMetrics, false, 0.0);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b)
        );
        assert!(text.ends_with("# EOF\n"));
        assert!(text.contains("# TYPE aws_iam_exporter_aws_errors counter\n"));
        assert!(text.contains("# TYPE aws_iam_exporter_build info\n"));
    }

    #[test]
    fn each_family_appears_once_even_with_many_accounts() {
        let a = render_account(view(true));
        let mut other = (*view(true)).clone_for_test();
        other.labels = vec![("account_id", "999999999999".into())];
        let b = render_account(Arc::new(other));
        let text = assemble([&a, &b].into_iter(), Format::Classic);
        assert_eq!(text.matches("# TYPE aws_iam_users gauge").count(), 1);
        let users: Vec<_> = text
            .lines()
            .filter(|l| l.starts_with("aws_iam_users{"))
            .collect();
        assert_eq!(users.len(), 2);
    }

    #[test]
    fn per_user_series_can_be_switched_off_and_aggregates_and_controls_stay() {
        let text = published(false).classic_text(0.0);
        assert!(!text.contains("aws_iam_user_active_access_keys"));
        assert!(!text.contains("user=\""));
        assert!(
            text.contains("aws_iam_users_with_multiple_active_keys{account_id=\"123456789012\"} 1")
        );
        assert!(text.contains(
            "aws_iam_control_failing{account_id=\"123456789012\",control=\"multiple_active_keys\",cis=\"1.13\",securityhub=\"\"} 1"
        ));
    }

    #[test]
    fn gzip_body_decodes_to_the_plain_body() {
        let p = published(true);
        for format in [Format::Classic, Format::OpenMetrics] {
            let [a, b] = p.body(format, false, 42.0);
            let [ga, gb] = p.body(format, true, 42.0);
            let mut gz = ga.to_vec();
            gz.extend_from_slice(&gb);
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut out)
                .unwrap();
            let mut plain = a.to_vec();
            plain.extend_from_slice(&b);
            assert_eq!(out, plain);
            // Exactly one gzip member: a strict single-member decoder reads it all too.
            let mut single = Vec::new();
            let mut dec = flate2::bufread::GzDecoder::new(&gz[..]);
            dec.read_to_end(&mut single).unwrap();
            assert_eq!(single, plain);
        }
    }

    #[test]
    fn no_root_use_means_no_age_series() {
        let p = Published::build(std::iter::empty(), vec![]);
        assert_eq!(p.classic_text(0.0), "");
        let [_, t] = p.body(Format::OpenMetrics, false, 0.0);
        assert_eq!(&t[..], b"# EOF\n");
    }

    impl AccountView {
        fn clone_for_test(&self) -> AccountView {
            AccountView {
                labels: self.labels.clone(),
                data: self.data.clone(),
                posture: self.posture.clone(),
                per_user: self.per_user,
            }
        }
    }
}
