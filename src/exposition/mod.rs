//! PURE: snapshots -> exposition bytes, rendered once per refresh, shared by every scrape.
//!
//! Last stage of the pipeline. Samples are encoded by prometheus-client (OpenMetrics text) once
//! per account per refresh and kept grouped by metric family; the per-user families, nearly all
//! the bytes of a large account, are written in the same bytes by `users.rs`, faster. A scrape
//! body is made of those groups under one header per family, so many accounts still give one
//! contiguous family each (both formats require it). The sample lines of gauges and counters are the same in
//! OpenMetrics and in the classic 0.0.4 text format; only the headers differ (`# TYPE x counter`
//! vs `# TYPE x_total counter`, `info` vs `gauge`, `# EOF`). So the classic form is the same
//! samples under classic headers, written here from the same family table: no second encoder,
//! no text rewriting of samples. That is how the classic format, which prometheus-client does not
//! write, is produced.
//!
//! The sample text is held once: a [`Published`] body is a list of reference-counted slices of
//! the rendered parts with each format's family headers between them, sent as they are (HTTP
//! chunks, or `write_all` to stdout for `--once`). Gzip heads are compressed on first request.
//!
//! Values that age between refreshes (`aws_iam_root_last_used_seconds`) are not in the rendered
//! body: they form a small tail encoded at scrape time (see [`Published::body`]).

use std::fmt::Write as _;
use std::ops::Range;

use bytes::Bytes;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

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
    UserQuarantined = ("aws_iam_user_quarantined", Gauge, "1 for each IAM user and AWS exposed-key quarantine policy (AWSCompromisedKeyQuarantine, V2, V3, V4 and later versions: the name prefix) that quarantines the user, directly or through a group (ListPolicies, ListEntitiesForPolicy, GetGroup): AWS found one of the user's access keys in public. Also with --metrics.per-user=false. Absent when the lookup failed.");
    QuarantinedUsers = ("aws_iam_quarantined_users", Gauge, "IAM users with an exposed-key quarantine policy, directly or through a group, each counted once; absent when the lookup failed.");
    QuarantinePolicyAttachments = ("aws_iam_quarantine_policy_attachments", Gauge, "Users, groups and roles (entity) an exposed-key quarantine policy (policy) is attached to (ListEntitiesForPolicy); only the policies attached in the account.");
    RootAccessKeysPresent = ("aws_iam_root_access_keys_present", Gauge, "1 if the root user has an access key, active or not (GetAccountSummary AccountAccessKeysPresent; the report's root keys when no summary). CIS 1.4, Security Hub IAM.4.");
    RootAccessKeyActive = ("aws_iam_root_access_key_active", Gauge, "1 if root access key 1 or 2 is active (credential report access_key_N_active of <root_account>; a root audit's ListAccessKeys, keys numbered in creation order).");
    RootAccessKeyLastRotated = ("aws_iam_root_access_key_last_rotated_timestamp_seconds", Gauge, "When root access key 1 or 2 was created or last rotated (credential report access_key_N_last_rotated; a root audit's ListAccessKeys CreateDate); only keys that exist, active or not.");
    RootMfaEnabled = ("aws_iam_root_mfa_enabled", Gauge, "1 if the root user has MFA (GetAccountSummary AccountMFAEnabled; the report's root mfa_active when no summary). CIS 1.5, Security Hub IAM.9.");
    RootHardwareMfaEnabled = ("aws_iam_root_hardware_mfa_enabled", Gauge, "1 if root MFA is on and no virtual MFA device is assigned to root (ListVirtualMFADevices; a root audit's ListMFADevices: a FIDO security key or a hardware TOTP token is hardware). CIS 1.6, Security Hub IAM.6.");
    RootPasswordPresent = ("aws_iam_root_password_present", Gauge, "1 if the root user has a password (GetAccountSummary AccountPasswordPresent, where AWS sends it).");
    RootCredentialsPresent = ("aws_iam_root_credentials_present", Gauge, "1 if the root user has a password, an access key (active or not) or a signing certificate (GetAccountSummary AccountPasswordPresent, AccountAccessKeysPresent, AccountSigningCertificatesPresent; the report's root row where the summary lacks a key); absent when unknown. 0 in an Organizations member account whose root credentials were removed: root_mfa and root_hardware_mfa then pass (CIS 5.0 1.4-1.5).");
    RootSigningCertificateActive = ("aws_iam_root_signing_certificate_active", Gauge, "1 if root signing certificate 1 or 2 is active (credential report cert_N_active; a root audit's ListSigningCertificates).");
    RootLastUsedTimestamp = ("aws_iam_root_last_used_timestamp_seconds", Gauge, "When a root credential was last used (credential report password_last_used, access_key_N_last_used_date; a root audit's GetUser PasswordLastUsed and GetAccessKeyLastUsed); only credentials with a date.");
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
    ServiceSpecificCredentials = ("aws_iam_service_specific_credentials", Gauge, "Service-specific credentials (API keys of Bedrock, CloudWatch Logs and other services, CodeCommit HTTPS Git, Keyspaces; ListServiceSpecificCredentials) by service as AWS names it and lower-cased status; absent when the list is unknown. They never appear in the credential report.");
    ServiceCredentialCreated = ("aws_iam_service_specific_credential_created_timestamp_seconds", Gauge, "When the service-specific credential was created (CreateDate).");
    ServiceCredentialExpiration = ("aws_iam_service_specific_credential_expiration_timestamp_seconds", Gauge, "When the service-specific credential expires (ExpirationDate); absent when AWS gives none (it never expires).");
    AccountSummary = ("aws_iam_account_summary", Gauge, "Every GetAccountSummary SummaryMap entry; the AWS key name is the label key.");
    ReportGenerated = ("aws_iam_credential_report_generated_timestamp_seconds", Gauge, "The credential report's GeneratedTime. AWS regenerates it at most every 4 hours.");
    PasswordPolicyPresent = ("aws_iam_password_policy_present", Gauge, "1 if the account has a password policy (GetAccountPasswordPolicy; NoSuchEntity is 0).");
    PasswordPolicyMinimumLength = ("aws_iam_password_policy_minimum_length", Gauge, "Password policy MinimumPasswordLength. CIS 1.8 wants 14 or more.");
    PasswordPolicyReusePrevention = ("aws_iam_password_policy_reuse_prevention", Gauge, "Password policy PasswordReusePrevention (0 when not set). CIS 1.9 wants 24.");
    PasswordPolicyMaxAge = ("aws_iam_password_policy_max_age_seconds", Gauge, "Password policy MaxPasswordAge, in seconds; absent when passwords do not expire (MaxPasswordAge absent or 0). Security Hub IAM.17 wants 90 days or less.");
    PasswordPolicyRequireUppercase = ("aws_iam_password_policy_require_uppercase_characters", Gauge, "1 if the password policy requires an uppercase letter (RequireUppercaseCharacters). Security Hub IAM.11, IAM.7.");
    PasswordPolicyRequireLowercase = ("aws_iam_password_policy_require_lowercase_characters", Gauge, "1 if the password policy requires a lowercase letter (RequireLowercaseCharacters). Security Hub IAM.12, IAM.7.");
    PasswordPolicyRequireSymbols = ("aws_iam_password_policy_require_symbols", Gauge, "1 if the password policy requires a symbol (RequireSymbols). Security Hub IAM.13, IAM.7.");
    PasswordPolicyRequireNumbers = ("aws_iam_password_policy_require_numbers", Gauge, "1 if the password policy requires a number (RequireNumbers). Security Hub IAM.14, IAM.7.");
    PasswordPolicyAllowUsersToChangePassword = ("aws_iam_password_policy_allow_users_to_change_password", Gauge, "1 if IAM users may change their own password (AllowUsersToChangePassword).");
    PasswordPolicyHardExpiry = ("aws_iam_password_policy_hard_expiry", Gauge, "1 if a user whose password expired cannot set a new one and needs an administrator (HardExpiry; 0 when unset).");
    PasswordPolicyExpirePasswords = ("aws_iam_password_policy_expire_passwords", Gauge, "1 if passwords expire (ExpirePasswords: MaxPasswordAge is more than 0). Security Hub IAM.17.");
    ServerCertificateExpiration = ("aws_iam_server_certificate_expiration_timestamp_seconds", Gauge, "When the SSL/TLS server certificate stored in IAM expires (ListServerCertificates Expiration), by ServerCertificateName; absent when the list is unknown. CIS 1.19, Security Hub IAM.26.");
    OrganizationFeatureEnabled = ("aws_iam_organization_feature_enabled", Gauge, "1 if the AWS Organizations feature is enabled, 0 if not (iam:ListOrganizationsFeatures, asked once per refresh interval with the exporter's own credentials): RootCredentialsManagement (centralized root access, CIS 7.0 2.1.1) and RootSessions (privileged root sessions). Both present when the call succeeds; absent when the caller is not the management account or a delegated administrator, or the organization does not allow it.");
    ControlFailing = ("aws_iam_control_failing", Gauge, "1 if the control fails for the account, 0 if it passes; absent when its input is unknown. Labels: control id, CIS v1.4-v4.0 number, Security Hub id.");
    ControlFailingResources = ("aws_iam_control_failing_resources", Gauge, "How many resources fail the control: users for user controls, root credentials for root controls, the policy (1) for password policy controls, the credentials or certificates themselves for service-specific credentials and server certificates.");
    RefreshSuccess = ("aws_iam_exporter_refresh_success", Gauge, "1 if the last refresh of the account succeeded.");
    LastRefreshSuccess = ("aws_iam_exporter_last_refresh_success_timestamp_seconds", Gauge, "When a refresh of the account last succeeded.");
    RefreshDuration = ("aws_iam_exporter_refresh_duration_seconds", Gauge, "How long the last refresh of the account took.");
    Refreshes = ("aws_iam_exporter_refreshes", Counter, "Refreshes of the account by result.");
    FastCheckSuccess = ("aws_iam_exporter_fast_check_success", Gauge, "1 if every call of the account's last fast check (GetAccountSummary and the quarantine lookup, every --refresh.fast-interval) succeeded, 0 if one failed (the last good values stay served); absent where the account has no fast check. Changes only with the outcome: an unchanged check publishes nothing.");
    FastCheckUpdates = ("aws_iam_exporter_fast_check_updates", Counter, "Fast checks of the account that found a signal changed (the summary or the quarantine) and re-rendered the account between its full refreshes.");
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

/// The labels of an account's series: `account_id` (`unknown` until known) and, when it has
/// one, `account_name`. Every series of an account takes them from here, the exporter-level
/// `root_credentials_management` of the exporter's own account too.
pub fn account_labels(account_id: Option<&str>, name: Option<&str>) -> AccountLabels {
    let mut l = vec![("account_id", account_id.unwrap_or("unknown").to_owned())];
    if let Some(n) = name {
        l.push(("account_name", n.to_owned()));
    }
    l
}

/// Samples of one source (an account's data, its self-metrics, or the globals), grouped by
/// family: `spans[f]` is the byte range of family `f`'s sample lines in `text`. The text is
/// reference-counted: a publication serves slices of it, so the samples are held once, here.
#[derive(Debug, Default, Clone)]
pub struct Rendered {
    text: Bytes,
    spans: Vec<Range<usize>>,
}

impl Rendered {
    /// Encodes with prometheus-client and indexes the output by family.
    fn encode(collector: impl prometheus_client::collector::Collector) -> Rendered {
        Rendered::encode_then(collector, 0, |_, _| {})
    }

    /// [`Rendered::encode`], then `append` adds families of its own to the text (about
    /// `appended` bytes: a good guess spares the copies and page faults of a buffer that
    /// doubles its way up to megabytes) and records their spans.
    fn encode_then(
        collector: impl prometheus_client::collector::Collector,
        appended: usize,
        append: impl FnOnce(&mut String, &mut [Range<usize>]),
    ) -> Rendered {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(collector));
        let mut encoded = String::new();
        // Writing to a String cannot fail; an Err would only come from our own collector.
        let _ = prometheus_client::encoding::text::encode_registry(&mut encoded, &registry);
        let (mut text, mut spans) = samples_only(&encoded, appended);
        append(&mut text, &mut spans);
        // The text is kept until the next refresh, and `Bytes` keeps the whole buffer: return
        // what the guess left over (in place, or a page remap for large buffers).
        if text.capacity() - text.len() > 4096 {
            text.shrink_to_fit();
        }
        // No copy: `Bytes` takes the String's buffer.
        Rendered {
            text: Bytes::from(text),
            spans,
        }
    }

    fn span(&self, f: usize) -> Option<Range<usize>> {
        self.spans
            .get(f)
            .filter(|r| r.start < r.end && r.end <= self.text.len())
            .cloned()
    }

    fn samples(&self, f: usize) -> &[u8] {
        self.span(f).map(|r| &self.text[r]).unwrap_or_default()
    }

    /// Family `f`'s sample lines, sharing this part's text (a reference count, no copy).
    fn samples_shared(&self, f: usize) -> Bytes {
        self.span(f).map(|r| self.text.slice(r)).unwrap_or_default()
    }

    /// Bytes held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// No samples at all.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// The sample lines of prometheus-client output, family by family, without its `# HELP` and
/// `# TYPE` lines (a publication serves shared headers: kept, they were a quarter of a small
/// account's part until the next refresh; docs/performance.md), in a buffer with room for
/// `extra` more bytes.
fn samples_only(encoded: &str, extra: usize) -> (String, Vec<Range<usize>>) {
    let found = index_families(encoded);
    let mut order: Vec<usize> = (0..found.len()).filter(|&f| !found[f].is_empty()).collect();
    order.sort_by_key(|&f| found[f].start);
    let len: usize = order.iter().map(|&f| found[f].len()).sum();
    let mut text = String::with_capacity(len + extra);
    let mut spans = vec![0..0; found.len()];
    for f in order {
        let start = text.len();
        text.push_str(&encoded[found[f].clone()]);
        spans[f] = start..text.len();
    }
    (text, spans)
}

/// Finds each family's sample lines in prometheus-client output (`# HELP` starts a family).
/// Only comment lines matter, and they are few: it jumps from one `#` to the next (memchr)
/// rather than walking every sample line.
fn index_families(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut spans = vec![0..0; FAMILIES.len()];
    let mut current: Option<usize> = None;
    // Start of the sample lines after the last comment line.
    let mut samples_start = 0;
    let mut search = 0;
    while let Some(off) = text[search..].find('#') {
        let hash = search + off;
        // A `#` inside a sample line (in a label value) is not a comment.
        if hash > 0 && bytes[hash - 1] != b'\n' {
            search = hash + 1;
            continue;
        }
        if let Some(f) = current.filter(|_| hash > samples_start) {
            spans[f].end = hash;
        }
        let line_end = text[hash..].find('\n').map_or(text.len(), |i| hash + i + 1);
        if let Some(rest) = text[hash..line_end].strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default();
            current = FAMILIES.iter().position(|f| f.name == name);
        }
        if let Some(f) = current {
            spans[f] = line_end..line_end;
        }
        samples_start = line_end;
        search = line_end;
    }
    if let Some(f) = current.filter(|_| text.len() > samples_start) {
        spans[f].end = text.len();
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

mod columns;
mod encode;
mod published;
mod users;

pub use columns::{LeftAbsent, left_absent};
pub use encode::*;
pub use published::*;

#[cfg(test)]
mod tests;
