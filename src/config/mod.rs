//! Flags (clap, Prometheus style `--group.name`) and the optional YAML config file, validated
//! into one [`Config`]. Every error names the flag or key and says why; `main` exits 2 on them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

use crate::arn::{Arn, is_account_id};
use crate::audit::AuditSettings;
use crate::aws;
use crate::offline::Files;
use crate::posture::{StrongPassword, Thresholds};
use crate::text::cut;
use crate::web::ListenAddress;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// A duration flag between zero (excluded) and `MAX_SECS`: checked when parsing, so no
/// arithmetic on it can overflow later (`--aws.timeout 100000000000y` is a usage error, not a
/// panic).
fn duration<const MAX_SECS: u64>(s: &str) -> Result<Duration, String> {
    let shown = cut(s, 40);
    let d =
        humantime::parse_duration(s).map_err(|e| format!("`{shown}`: {e} (e.g. 30s, 5m, 7d)"))?;
    if d.is_zero() {
        return Err(format!("`{shown}`: must be more than zero"));
    }
    let max = Duration::from_secs(MAX_SECS);
    if d > max {
        return Err(format!(
            "`{shown}`: must be at most {}",
            humantime::format_duration(max)
        ));
    }
    Ok(d)
}

/// `--refresh.fast-interval`: a duration up to a day, or `0` / `off` (no fast checks:
/// `Duration::ZERO`).
fn fast_interval(s: &str) -> Result<Duration, String> {
    match s {
        "0" | "0s" | "off" => Ok(Duration::ZERO),
        _ => duration::<DAY>(s).map_err(|e| format!("{e}, or 0 / off")),
    }
}

/// A clap error as one line that keeps what helps (the possible values, the missing flag,
/// "a similar argument exists") and drops the usage block.
pub fn one_line_flag_error(e: &clap::Error) -> String {
    let text = e.to_string();
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect();
    let line = kept.join(" ");
    cut(line.strip_prefix("error: ").unwrap_or(&line), 400)
}

/// `--log.level`: the most verbose level of the exporter's own logs. (No doc comments on the
/// variants: clap would turn `--help`'s list of values into a table.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

impl LogLevel {
    /// The most verbose level let through.
    pub fn filter(self) -> tracing::level_filters::LevelFilter {
        use tracing::level_filters::LevelFilter;
        match self {
            LogLevel::Error => LevelFilter::ERROR,
            LogLevel::Warn => LevelFilter::WARN,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Debug => LevelFilter::DEBUG,
        }
    }
}

/// `--log.format`: logfmt (the default) or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// `:9741` means every interface of both IP families, as in the Go exporters; host names
/// are resolved when binding ([`crate::web::bind`]).
fn listen_address(s: &str) -> Result<ListenAddress, String> {
    s.parse()
        .map_err(|e: crate::web::ListenAddressError| e.to_string())
}

fn telemetry_path(s: &str) -> Result<String, String> {
    if !s.starts_with('/') || s.len() < 2 {
        return Err(format!("`{s}` must start with / and not be / itself"));
    }
    Ok(s.to_owned())
}

/// The command line. Flag names follow the official Prometheus exporters.
#[derive(Debug, Parser)]
#[command(
    name = "aws-iam-exporter",
    version = crate::version::LONG_VERSION,
    about = "Prometheus exporter for the security hygiene of AWS IAM credentials (credential report, account summary, CIS AWS Foundations controls)."
)]
pub struct Flags {
    /// Address to listen on for HTTP requests.
    #[arg(long = "web.listen-address", default_value = ":9741", value_parser = listen_address)]
    pub listen_address: ListenAddress,
    /// Path under which to expose metrics.
    #[arg(long = "web.telemetry-path", default_value = "/metrics", value_parser = telemetry_path)]
    pub telemetry_path: String,
    /// Exporter-toolkit web config file: TLS, basic auth, response headers.
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
    /// Time between refreshes of an account [default: 5m].
    #[arg(long = "refresh.interval", value_parser = duration::<{ 7 * DAY }>)]
    pub refresh_interval: Option<Duration>,
    /// Time between root audits (sts:AssumeRoot) of a member account, with organizations.root_audit; at most one per refresh [default: 1h].
    #[arg(long = "root-audit.interval", value_parser = duration::<{ 7 * DAY }>)]
    pub root_audit_interval: Option<Duration>,
    /// Time between fast checks of each AWS account's root access keys and exposed-key quarantine (GetAccountSummary, ListPolicies), apart from its refreshes; 0 or off: none; none either when not below --refresh.interval [default: 1m].
    #[arg(long = "refresh.fast-interval", value_parser = fast_interval)]
    pub fast_interval: Option<Duration>,
    /// How long to wait for AWS to generate a credential report.
    #[arg(long = "credential-report.timeout", global = true, default_value = "2m", value_parser = duration::<HOUR>)]
    pub report_timeout: Duration,
    /// Largest credential report accepted, in bytes.
    #[arg(long = "credential-report.max-bytes", global = true, default_value_t = 64 << 20)]
    pub report_max_bytes: usize,
    /// Read the credential report from this file (CSV, or the JSON of `aws iam get-credential-report`) instead of AWS.
    #[arg(long = "credential-report.file", global = true)]
    pub report_file: Option<PathBuf>,
    /// Read the account summary from this file (the JSON of `aws iam get-account-summary`).
    #[arg(long = "account-summary.file", global = true, requires = "report_file")]
    pub summary_file: Option<PathBuf>,
    /// Refresh once, print the metrics (classic text format) on stdout and exit.
    #[arg(long)]
    pub once: bool,
    /// Region used to sign IAM requests (IAM is global).
    #[arg(long = "aws.region", global = true, default_value = "us-east-1")]
    pub aws_region: String,
    /// Timeout of one attempt of an AWS call.
    #[arg(long = "aws.timeout", global = true, default_value = "30s", value_parser = duration::<HOUR>)]
    pub aws_timeout: Duration,
    /// Attempts per AWS call, with the SDK's standard retry and backoff.
    #[arg(long = "aws.max-attempts", global = true, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub aws_max_attempts: u32,
    /// Emit per-user series (false for very large accounts; aggregates and controls stay).
    #[arg(long = "metrics.per-user", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub per_user: bool,
    /// Log level: error, warn, info, debug [default: info; warn for audit].
    #[arg(long = "log.level", global = true, value_enum)]
    pub log_level: Option<LogLevel>,
    /// Log format: logfmt or json.
    #[arg(
        long = "log.format",
        global = true,
        value_enum,
        default_value = "logfmt"
    )]
    pub log_format: LogFormat,
    /// YAML file listing accounts (assumed roles) and/or AWS Organizations discovery.
    #[arg(long = "config.file", global = true)]
    pub config_file: Option<PathBuf>,
    /// Number of shards (replicas) the accounts are split over.
    #[arg(long = "shard.count", global = true, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_count: u32,
    /// This replica's shard, 0 <= index < count.
    #[arg(long = "shard.index", global = true, default_value_t = 0)]
    pub shard_index: u32,
    /// Accounts refreshed at once [default: 8].
    #[arg(long = "refresh.concurrency", global = true, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: Option<u32>,
    /// CIS 1.7: root use within this window fails root_recent_use.
    #[arg(long = "control.root-recent-use", global = true, default_value = "7d", value_parser = duration::<{ 3650 * DAY }>)]
    pub root_recent_use: Duration,
    /// CIS 1.12 / IAM.22: credentials unused this long fail unused_credentials_45d.
    #[arg(long = "control.unused-credentials", global = true, default_value = "45d", value_parser = duration::<{ 3650 * DAY }>)]
    pub unused_credentials: Duration,
    /// Security Hub IAM.8: credentials unused this long fail unused_credentials_90d.
    #[arg(long = "control.unused-credentials-long", global = true, default_value = "90d", value_parser = duration::<{ 3650 * DAY }>)]
    pub unused_credentials_long: Duration,
    /// CIS 1.14 / IAM.3: active keys older than this fail access_key_rotation.
    #[arg(long = "control.access-key-max-age", global = true, default_value = "90d", value_parser = duration::<{ 3650 * DAY }>)]
    pub access_key_max_age: Duration,
    /// CIS 1.8 / IAM.15: minimum password length the policy must require.
    #[arg(
        long = "control.password-min-length",
        global = true,
        default_value_t = 14
    )]
    #[arg(value_parser = clap::value_parser!(i64).range(1..=128))]
    pub password_min_length: i64,
    /// CIS 1.9 / IAM.16: passwords the policy must remember.
    #[arg(
        long = "control.password-reuse-prevention",
        global = true,
        default_value_t = 24
    )]
    #[arg(value_parser = clap::value_parser!(i64).range(1..=24))]
    pub password_reuse_prevention: i64,
    /// CIS 1.11: a key created within this time of its user counts as set up with the user.
    #[arg(long = "control.initial-access-key-window", global = true, default_value = "10s", value_parser = duration::<DAY>)]
    pub initial_access_key_window: Duration,
    /// Security Hub IAM.17: passwords must expire within this (password_policy_expiry).
    #[arg(long = "control.password-max-age", global = true, default_value = "90d", value_parser = duration::<{ 3650 * DAY }>)]
    pub password_max_age: Duration,
    /// Security Hub IAM.7 (password_policy_strong): the policy must require an uppercase letter.
    #[arg(long = "control.strong-password.require-uppercase", global = true, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub strong_require_uppercase: bool,
    /// Security Hub IAM.7: the policy must require a lowercase letter.
    #[arg(long = "control.strong-password.require-lowercase", global = true, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub strong_require_lowercase: bool,
    /// Security Hub IAM.7: the policy must require a symbol.
    #[arg(long = "control.strong-password.require-symbols", global = true, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub strong_require_symbols: bool,
    /// Security Hub IAM.7: the policy must require a number.
    #[arg(long = "control.strong-password.require-numbers", global = true, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub strong_require_numbers: bool,
    /// Security Hub IAM.7: the policy's minimum length must be at least this.
    #[arg(long = "control.strong-password.min-length", global = true, default_value_t = 8, value_parser = clap::value_parser!(i64).range(6..=128))]
    pub strong_min_length: i64,
    /// Security Hub IAM.7: the policy must remember at least this many passwords [default: not checked].
    #[arg(long = "control.strong-password.reuse-prevention", global = true, value_parser = clap::value_parser!(i64).range(1..=24))]
    pub strong_reuse_prevention: Option<i64>,
    /// Security Hub IAM.7: passwords must expire within this [default: not checked].
    #[arg(long = "control.strong-password.max-age", global = true, value_parser = duration::<{ 3650 * DAY }>)]
    pub strong_max_age: Option<Duration>,
    /// API keys (service-specific credentials but CodeCommit's and Keyspaces') may live this long (api_key_lifetime).
    #[arg(long = "control.api-key-max-lifetime", global = true, default_value = "90d", value_parser = duration::<{ 3650 * DAY }>)]
    pub api_key_max_lifetime: Duration,
    /// `audit` instead of the daemon. The flags above marked global (sources, AWS, config file,
    /// shards, controls, logs) are accepted after it too; the server's and `--once` are not.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Refresh once and print which controls fail and who fails them (a table, JSON, OCSF, JUnit or CSV)
    ///
    /// Refresh once (AWS, the report files, or every account of --config.file) and print every
    /// control's status, severity, CIS and Security Hub ids and offenders: a table for a person
    /// (coloured on a terminal unless NO_COLOR is set), JSON for tools (--format json), OCSF
    /// Detection Findings for a SIEM (ocsf), JUnit XML for CI (junit) or CSV (csv).
    /// Exit 0 when nothing fails at or above --fail-on, 1 when something does, 2 on bad flags
    /// or input that cannot be read.
    Audit(AuditSettings),
}

/// One account reached through an assumed role.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleAccount {
    pub role_arn: String,
    #[serde(default)]
    pub external_id: Option<String>,
    /// Becomes the `account_name` label.
    #[serde(default)]
    pub name: Option<String>,
}

/// AWS Organizations discovery: every ACTIVE account, entered through one role name, or its
/// root read through sts:AssumeRoot (`root_audit`), or both (the role where it can be assumed).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organizations {
    #[serde(default)]
    pub role_name: Option<String>,
    /// Each member's root through centralized root access (sts:AssumeRoot with the task
    /// policy IAMAuditRootUserCredentials): no role in the members.
    #[serde(default)]
    pub root_audit: bool,
    /// Time between root audits of a member (`--root-audit.interval` overrides it).
    #[serde(default)]
    pub root_audit_interval: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default = "yes")]
    pub include_management_account: bool,
    #[serde(default)]
    pub exclude_accounts: Vec<String>,
}

fn yes() -> bool {
    true
}

/// The `--config.file` YAML.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub accounts: Vec<RoleAccount>,
    #[serde(default)]
    pub organizations: Option<Organizations>,
    #[serde(default)]
    pub refresh_interval: Option<String>,
    /// `--refresh.fast-interval`'s value (`1m`, `0`, `off`).
    #[serde(default)]
    pub refresh_fast_interval: Option<String>,
    #[serde(default)]
    pub concurrency: Option<u32>,
}

/// The settings of the config file that flags override.
#[derive(Debug, Clone, Copy, Default)]
struct FileSettings {
    interval: Option<Duration>,
    fast_interval: Option<Duration>,
    concurrency: Option<u32>,
    root_audit_interval: Option<Duration>,
}

/// Where the data of a refresh comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The account of the default credential chain.
    DefaultAccount,
    /// Files instead of AWS.
    Offline(Files),
    /// Accounts from the config file (roles and/or Organizations).
    MultiAccount {
        accounts: Vec<RoleAccount>,
        organizations: Option<Organizations>,
    },
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen_address: ListenAddress,
    pub telemetry_path: String,
    pub web_config_file: Option<PathBuf>,
    pub refresh_interval: Duration,
    /// Between two root audits (sts:AssumeRoot) of a member, with `organizations.root_audit`.
    pub root_audit_interval: Duration,
    /// Fast checks' interval: below `refresh_interval`, else `None` (no fast checks).
    pub fast_interval: Option<Duration>,
    pub concurrency: usize,
    pub report_max_bytes: usize,
    /// What the process does.
    pub run: Run,
    pub per_user: bool,
    pub log_level: LogLevel,
    pub log_json: bool,
    pub aws: aws::Settings,
    pub mode: Mode,
    pub shard_count: u32,
    pub shard_index: u32,
    pub thresholds: Thresholds,
}

/// What the process does, from `--once` and the subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// Serve `/metrics`, refreshing every interval (the default).
    Daemon,
    /// `--once`: refresh once, print the metrics, exit.
    Once,
    /// `audit`: refresh once, print the controls' verdicts, exit 0, 1 or 2.
    Audit(AuditSettings),
}

/// A configuration error: which flag or key, and why; the error behind it, where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--{flag}: {why}")]
    Flag { flag: &'static str, why: String },
    /// A value of the config file that is not valid.
    #[error("--config.file {path}: {why}")]
    File { path: String, why: String },
    /// The config file could not be read.
    #[error("--config.file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The config file is not YAML of the expected shape. The message names the key and line
    /// on one short line (YAML errors quote the input, which may be one 10 MB line).
    #[error("--config.file {path}: {}", cut(&.source.to_string(), 300))]
    Yaml {
        path: String,
        #[source]
        source: serde_yaml_ng::Error,
    },
}

impl Config {
    /// Validates flags and reads the config file they name.
    pub fn from_flags(f: Flags) -> Result<Config, ConfigError> {
        if f.shard_index >= f.shard_count {
            return Err(ConfigError::Flag {
                flag: "shard.index",
                why: format!(
                    "{} is not below --shard.count {}",
                    f.shard_index, f.shard_count
                ),
            });
        }
        if f.once && f.command.is_some() {
            return Err(ConfigError::Flag {
                flag: "once",
                why: "cannot be combined with audit, which refreshes once itself".into(),
            });
        }
        if f.once && f.web_config_file.is_some() {
            return Err(ConfigError::Flag {
                flag: "web.config.file",
                why: "has no effect with --once (nothing is served): drop one of them".into(),
            });
        }
        if f.report_max_bytes < 1024 {
            return Err(ConfigError::Flag {
                flag: "credential-report.max-bytes",
                why: "must be at least 1024".into(),
            });
        }
        let file = match &f.config_file {
            Some(path) => Some(read_config_file(path)?),
            None => None,
        };
        let file_err = |why: String| ConfigError::File {
            path: f
                .config_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            why,
        };
        let mode = match (&f.report_file, file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Flag {
                    flag: "credential-report.file",
                    why: "offline mode reads one report and cannot be combined with --config.file"
                        .into(),
                });
            }
            (Some(report), None) => Mode::Offline(Files {
                report: report.clone(),
                summary: f.summary_file.clone(),
            }),
            (None, Some(c)) => {
                // Checked first: a bad interval is named whatever else the file lacks.
                let file_interval = match c.refresh_interval.as_deref() {
                    Some(s) => Some(
                        duration::<{ 7 * DAY }>(s)
                            .map_err(|e| file_err(format!("refresh_interval: {e}")))?,
                    ),
                    None => None,
                };
                let file_fast = match c.refresh_fast_interval.as_deref() {
                    Some(s) => Some(
                        fast_interval(s)
                            .map_err(|e| file_err(format!("refresh_fast_interval: {e}")))?,
                    ),
                    None => None,
                };
                if c.accounts.is_empty() && c.organizations.is_none() {
                    return Err(file_err(
                        "lists no `accounts` and no `organizations`: nothing to watch".into(),
                    ));
                }
                let mut seen = std::collections::HashMap::new();
                for (i, a) in c.accounts.iter().enumerate() {
                    let id = role_arn_account(&a.role_arn).map_err(|why| {
                        file_err(format!(
                            "accounts[{i}].role_arn: `{}` {why}",
                            cut(&a.role_arn, 100)
                        ))
                    })?;
                    // Two entries for one account would make its `account_name` label depend
                    // on which refresh ran last.
                    if let Some(first) = seen.insert(id, i) {
                        return Err(file_err(format!(
                            "accounts[{i}]: account {id} is already listed as accounts[{first}]"
                        )));
                    }
                }
                if let Some(o) = &c.organizations {
                    match &o.role_name {
                        None if !o.root_audit => {
                            return Err(file_err(
                                "organizations: set `role_name` (a role in every account), `root_audit: true` (each member's root through sts:AssumeRoot, no role), or both".into(),
                            ));
                        }
                        Some(name) if !is_role_name(name) => {
                            return Err(file_err(format!(
                                "organizations.role_name: `{}` is not a role name",
                                cut(name, 100)
                            )));
                        }
                        _ => {}
                    }
                    if o.root_audit_interval.is_some() && !o.root_audit {
                        return Err(file_err(
                            "organizations.root_audit_interval: needs `root_audit: true`".into(),
                        ));
                    }
                    if let Some(bad) = o.exclude_accounts.iter().find(|a| !is_account_id(a)) {
                        return Err(file_err(format!(
                            "organizations.exclude_accounts: `{}` is not a 12-digit account id",
                            cut(bad, 40)
                        )));
                    }
                }
                if c.concurrency == Some(0) {
                    return Err(file_err("concurrency: must be at least 1".into()));
                }
                let root_audit_interval = match c
                    .organizations
                    .as_ref()
                    .and_then(|o| o.root_audit_interval.as_deref())
                {
                    Some(s) => Some(duration::<{ 7 * DAY }>(s).map_err(|e| {
                        file_err(format!("organizations.root_audit_interval: {e}"))
                    })?),
                    None => None,
                };
                let file = FileSettings {
                    interval: file_interval,
                    fast_interval: file_fast,
                    concurrency: c.concurrency,
                    root_audit_interval,
                };
                let mode = Mode::MultiAccount {
                    accounts: c.accounts,
                    organizations: c.organizations,
                };
                return Config::build(f, mode, file);
            }
            (None, None) => Mode::DefaultAccount,
        };
        Config::build(f, mode, FileSettings::default())
    }

    fn build(f: Flags, mode: Mode, file: FileSettings) -> Result<Config, ConfigError> {
        // As the file's organizations.root_audit_interval: an interval of nothing is a mistake.
        let root_audit =
            matches!(&mode, Mode::MultiAccount { organizations: Some(o), .. } if o.root_audit);
        if f.root_audit_interval.is_some() && !root_audit {
            return Err(ConfigError::Flag {
                flag: "root-audit.interval",
                why: "needs `organizations.root_audit: true` in --config.file".into(),
            });
        }
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let run = match (f.command, f.once) {
            (Some(Command::Audit(settings)), _) => Run::Audit(settings),
            (None, true) => Run::Once,
            (None, false) => Run::Daemon,
        };
        let default_level = match run {
            Run::Audit(_) => LogLevel::Warn,
            Run::Daemon | Run::Once => LogLevel::Info,
        };
        // Flags override the file; the file overrides the default.
        let refresh_interval = f
            .refresh_interval
            .or(file.interval)
            .unwrap_or(Duration::from_secs(300));
        let fast_interval = f
            .fast_interval
            .or(file.fast_interval)
            .unwrap_or(Duration::from_secs(60));
        Ok(Config {
            run,
            listen_address: f.listen_address,
            telemetry_path: f.telemetry_path,
            web_config_file: f.web_config_file,
            refresh_interval,
            // Not below the refresh interval, a refresh reads the same signals as often.
            fast_interval: (!fast_interval.is_zero() && fast_interval < refresh_interval)
                .then_some(fast_interval),
            root_audit_interval: f
                .root_audit_interval
                .or(file.root_audit_interval)
                .unwrap_or(Duration::from_secs(3600)),
            concurrency: f.concurrency.or(file.concurrency).unwrap_or(8) as usize,
            report_max_bytes: f.report_max_bytes,
            per_user: f.per_user,
            // A person reading an audit wants the table, not the progress of the refresh.
            log_level: f.log_level.unwrap_or(default_level),
            log_json: f.log_format == LogFormat::Json,
            aws: aws::Settings {
                region: f.aws_region,
                timeout: f.aws_timeout,
                max_attempts: f.aws_max_attempts,
                report_timeout: f.report_timeout,
            },
            mode,
            shard_count: f.shard_count,
            shard_index: f.shard_index,
            thresholds: Thresholds {
                root_recent_use: secs(f.root_recent_use),
                unused_credentials: secs(f.unused_credentials),
                unused_credentials_long: secs(f.unused_credentials_long),
                access_key_max_age: secs(f.access_key_max_age),
                password_min_length: f.password_min_length,
                password_reuse_prevention: f.password_reuse_prevention,
                initial_access_key_window: secs(f.initial_access_key_window),
                password_max_age: secs(f.password_max_age),
                strong_password: StrongPassword {
                    require_uppercase: f.strong_require_uppercase,
                    require_lowercase: f.strong_require_lowercase,
                    require_symbols: f.strong_require_symbols,
                    require_numbers: f.strong_require_numbers,
                    min_length: f.strong_min_length,
                    reuse_prevention: f.strong_reuse_prevention,
                    max_age: f.strong_max_age.map(secs),
                },
                api_key_max_lifetime: secs(f.api_key_max_lifetime),
            },
        })
    }
}

fn read_config_file(path: &std::path::Path) -> Result<FileConfig, ConfigError> {
    let path_text = || path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path_text(),
        source,
    })?;
    parse_config_file(&text).map_err(|source| ConfigError::Yaml {
        path: path_text(),
        source,
    })
}

/// Parses the YAML of `--config.file`.
fn parse_config_file(text: &str) -> Result<FileConfig, serde_yaml_ng::Error> {
    serde_yaml_ng::from_str(text)
}

/// ARN partitions AWS has (`arn:PARTITION:iam::...`).
const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// IAM role names: 1-64 of `[\w+=,.@-]` (a path before the name may add `/`).
fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// The account id of an IAM role ARN `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`, or why it
/// is not one.
fn role_arn_account(arn: &str) -> Result<&str, &'static str> {
    let Some(Arn {
        partition,
        service: "iam",
        region: "",
        account,
        resource: Some(resource),
    }) = Arn::parse(arn)
    else {
        return Err("is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
    };
    if !PARTITIONS.contains(&partition) {
        return Err("has no known partition (aws, aws-cn, aws-us-gov, ...)");
    }
    if !is_account_id(account) {
        return Err("has no 12-digit account id");
    }
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return Err("is not a role ARN (the resource must be role/NAME)");
    };
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let path_ok = path_and_name.split('/').all(|seg| {
        seg.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
    });
    if !is_role_name(name) || !path_ok {
        return Err("has no valid role name (1-64 of letters, digits and _+=,.@-)");
    }
    Ok(account)
}

#[cfg(test)]
mod tests;
