//! Flags (clap, Prometheus style `--group.name`) and the optional YAML config file, validated
//! into one [`Config`]. Every error names the flag or key and says why; `main` exits 2 on them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

use crate::posture::Thresholds;
use crate::web::ListenAddress;

/// Version plus git revision, as `--version` prints it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const REVISION: &str = env!("AWS_IAM_EXPORTER_GIT_REVISION");
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("AWS_IAM_EXPORTER_GIT_REVISION"),
    ")"
);

fn duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e} (e.g. 30s, 5m, 7d)"))?;
    if d.is_zero() {
        return Err(format!("`{s}`: must be more than zero"));
    }
    Ok(d)
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
    /// The level as a tracing filter directive names it.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
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
    version = LONG_VERSION,
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
    #[arg(long = "refresh.interval", value_parser = duration)]
    pub refresh_interval: Option<Duration>,
    /// How long to wait for AWS to generate a credential report.
    #[arg(long = "credential-report.timeout", default_value = "2m", value_parser = duration)]
    pub report_timeout: Duration,
    /// Largest credential report accepted, in bytes.
    #[arg(long = "credential-report.max-bytes", default_value_t = 64 << 20)]
    pub report_max_bytes: usize,
    /// Read the credential report from this file (CSV, or the JSON of `aws iam get-credential-report`) instead of AWS.
    #[arg(long = "credential-report.file")]
    pub report_file: Option<PathBuf>,
    /// Read the account summary from this file (the JSON of `aws iam get-account-summary`).
    #[arg(long = "account-summary.file", requires = "report_file")]
    pub summary_file: Option<PathBuf>,
    /// Refresh once, print the metrics (classic text format) on stdout and exit.
    #[arg(long)]
    pub once: bool,
    /// Region used to sign IAM requests (IAM is global).
    #[arg(long = "aws.region", default_value = "us-east-1")]
    pub aws_region: String,
    /// Timeout of one attempt of an AWS call.
    #[arg(long = "aws.timeout", default_value = "30s", value_parser = duration)]
    pub aws_timeout: Duration,
    /// Attempts per AWS call, with the SDK's standard retry and backoff.
    #[arg(long = "aws.max-attempts", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub aws_max_attempts: u32,
    /// Emit per-user series (false for very large accounts; aggregates and controls stay).
    #[arg(long = "metrics.per-user", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub per_user: bool,
    /// Log level: error, warn, info, debug.
    #[arg(long = "log.level", value_enum, default_value = "info")]
    pub log_level: LogLevel,
    /// Log format: logfmt or json.
    #[arg(long = "log.format", value_enum, default_value = "logfmt")]
    pub log_format: LogFormat,
    /// YAML file listing accounts (assumed roles) and/or AWS Organizations discovery.
    #[arg(long = "config.file")]
    pub config_file: Option<PathBuf>,
    /// Number of shards (replicas) the accounts are split over.
    #[arg(long = "shard.count", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_count: u32,
    /// This replica's shard, 0 <= index < count.
    #[arg(long = "shard.index", default_value_t = 0)]
    pub shard_index: u32,
    /// Accounts refreshed at once [default: 8].
    #[arg(long = "refresh.concurrency", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: Option<u32>,
    /// CIS 1.7: root use within this window fails root_recent_use.
    #[arg(long = "control.root-recent-use", default_value = "7d", value_parser = duration)]
    pub root_recent_use: Duration,
    /// CIS 1.12 / IAM.22: credentials unused this long fail unused_credentials_45d.
    #[arg(long = "control.unused-credentials", default_value = "45d", value_parser = duration)]
    pub unused_credentials: Duration,
    /// Security Hub IAM.8: credentials unused this long fail unused_credentials_90d.
    #[arg(long = "control.unused-credentials-long", default_value = "90d", value_parser = duration)]
    pub unused_credentials_long: Duration,
    /// CIS 1.14 / IAM.3: active keys older than this fail access_key_rotation.
    #[arg(long = "control.access-key-max-age", default_value = "90d", value_parser = duration)]
    pub access_key_max_age: Duration,
    /// CIS 1.8 / IAM.15: minimum password length the policy must require.
    #[arg(long = "control.password-min-length", default_value_t = 14)]
    pub password_min_length: i64,
    /// CIS 1.9 / IAM.16: passwords the policy must remember.
    #[arg(long = "control.password-reuse-prevention", default_value_t = 24)]
    pub password_reuse_prevention: i64,
    /// CIS 1.11: a key created within this time of its user counts as set up with the user.
    #[arg(long = "control.initial-access-key-window", default_value = "10s", value_parser = duration)]
    pub initial_access_key_window: Duration,
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

/// AWS Organizations discovery: every ACTIVE account, entered through one role name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organizations {
    pub role_name: String,
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
    #[serde(default)]
    pub concurrency: Option<u32>,
}

/// Where the data of a refresh comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The account of the default credential chain.
    DefaultAccount,
    /// Files instead of AWS.
    Offline {
        report: PathBuf,
        summary: Option<PathBuf>,
    },
    /// Accounts from the config file (roles and/or Organizations).
    MultiAccount {
        accounts: Vec<RoleAccount>,
        organizations: Option<Organizations>,
    },
}

/// AWS client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: String,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub report_timeout: Duration,
}

/// Sequential AWS calls of one refresh, at most: GetAccountSummary, GenerateCredentialReport
/// and GetCredentialReport (beyond the report-generation wait), GetAccountPasswordPolicy,
/// ListVirtualMFADevices, ListServiceSpecificCredentials, sts:GetCallerIdentity, and the
/// AssumeRole behind an assumed role's credentials.
const CALLS_PER_REFRESH: u32 = 8;

impl AwsSettings {
    /// The SDK's bound on one call: every attempt plus the backoff between them (at most
    /// 20 s each). Saturating: a huge `--aws.timeout` must not overflow.
    pub fn operation_timeout(&self) -> Duration {
        self.timeout
            .saturating_add(Duration::from_secs(20))
            .saturating_mul(self.max_attempts)
    }

    /// The hard bound on one whole refresh, from the real budgets: the report-generation wait
    /// plus every call at its full retry budget. A healthy refresh that retries is never
    /// abandoned; a stuck one is.
    pub fn refresh_deadline(&self) -> Duration {
        self.report_timeout
            .saturating_add(self.operation_timeout().saturating_mul(CALLS_PER_REFRESH))
    }

    /// The ARN partition of the region (`aws-cn` in China, `aws-us-gov` in GovCloud).
    pub fn partition(&self) -> &'static str {
        if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen_address: ListenAddress,
    pub telemetry_path: String,
    pub web_config_file: Option<PathBuf>,
    pub refresh_interval: Duration,
    pub concurrency: usize,
    pub report_max_bytes: usize,
    pub once: bool,
    pub per_user: bool,
    pub log_level: String,
    pub log_json: bool,
    pub aws: AwsSettings,
    pub mode: Mode,
    pub shard_count: u32,
    pub shard_index: u32,
    pub thresholds: Thresholds,
}

/// A configuration error: which flag or key, and why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("--{flag}: {why}")]
    Flag { flag: &'static str, why: String },
    #[error("--config.file {path}: {why}")]
    File { path: String, why: String },
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
        let file_interval = match file.as_ref().and_then(|c| c.refresh_interval.as_deref()) {
            Some(s) => Some(duration(s).map_err(|e| file_err(format!("refresh_interval: {e}")))?),
            None => None,
        };
        let mode = match (&f.report_file, file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Flag {
                    flag: "credential-report.file",
                    why: "offline mode reads one report and cannot be combined with --config.file"
                        .into(),
                });
            }
            (Some(report), None) => Mode::Offline {
                report: report.clone(),
                summary: f.summary_file.clone(),
            },
            (None, Some(c)) => {
                if c.accounts.is_empty() && c.organizations.is_none() {
                    return Err(file_err(
                        "lists no `accounts` and no `organizations`: nothing to watch".into(),
                    ));
                }
                for (i, a) in c.accounts.iter().enumerate() {
                    if crate::report::account_of_arn(&a.role_arn).is_none()
                        || !a.role_arn.contains(":role/")
                    {
                        return Err(file_err(format!(
                            "accounts[{i}].role_arn: `{}` is not an IAM role ARN",
                            a.role_arn
                        )));
                    }
                }
                if let Some(o) = &c.organizations {
                    if o.role_name.is_empty() || o.role_name.contains(['/', ':']) {
                        return Err(file_err(format!(
                            "organizations.role_name: `{}` is not a role name",
                            o.role_name
                        )));
                    }
                    if let Some(bad) = o
                        .exclude_accounts
                        .iter()
                        .find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
                    {
                        return Err(file_err(format!(
                            "organizations.exclude_accounts: `{bad}` is not a 12-digit account id"
                        )));
                    }
                }
                if c.concurrency == Some(0) {
                    return Err(file_err("concurrency: must be at least 1".into()));
                }
                let concurrency = c.concurrency;
                let mode = Mode::MultiAccount {
                    accounts: c.accounts,
                    organizations: c.organizations,
                };
                return Config::build(f, mode, file_interval, concurrency);
            }
            (None, None) => Mode::DefaultAccount,
        };
        Config::build(f, mode, file_interval, None)
    }

    fn build(
        f: Flags,
        mode: Mode,
        file_interval: Option<Duration>,
        file_concurrency: Option<u32>,
    ) -> Result<Config, ConfigError> {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Ok(Config {
            listen_address: f.listen_address,
            telemetry_path: f.telemetry_path,
            web_config_file: f.web_config_file,
            // Flags override the file; the file overrides the default.
            refresh_interval: f
                .refresh_interval
                .or(file_interval)
                .unwrap_or(Duration::from_secs(300)),
            concurrency: f.concurrency.or(file_concurrency).unwrap_or(8) as usize,
            report_max_bytes: f.report_max_bytes,
            once: f.once,
            per_user: f.per_user,
            log_level: f.log_level.as_str().to_string(),
            log_json: f.log_format == LogFormat::Json,
            aws: AwsSettings {
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
            },
        })
    }
}

fn read_config_file(path: &std::path::Path) -> Result<FileConfig, ConfigError> {
    let err = |why: String| ConfigError::File {
        path: path.display().to_string(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    parse_config_file(&text).map_err(err)
}

/// Parses the YAML of `--config.file`; the error names the key and line.
pub fn parse_config_file(text: &str) -> Result<FileConfig, String> {
    serde_yaml_ng::from_str(text).map_err(|e| e.to_string().replace('\n', " "))
}

/// Stable shard of an account: FNV-1a of its id modulo the shard count, identical on every
/// replica and release (unlike std's randomly seeded hasher).
pub fn shard_of(account_id: &str, count: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in account_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % u64::from(count.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Result<Flags, clap::Error> {
        Flags::try_parse_from(std::iter::once("aws-iam-exporter").chain(args.iter().copied()))
    }

    fn config(args: &[&str]) -> Result<Config, ConfigError> {
        Config::from_flags(flags(args).expect("flags parse"))
    }

    #[test]
    fn defaults_match_the_readme() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.listen_address,
            ListenAddress {
                host: None,
                port: 9741
            }
        );
        assert_eq!(c.listen_address.to_string(), ":9741");
        assert_eq!(c.telemetry_path, "/metrics");
        assert_eq!(c.refresh_interval, Duration::from_secs(300));
        assert_eq!(c.aws.region, "us-east-1");
        assert!(c.per_user);
        assert_eq!(c.mode, Mode::DefaultAccount);
        assert_eq!(c.thresholds, Thresholds::default());
        assert_eq!(c.concurrency, 8);
    }

    #[test]
    fn listen_addresses_take_host_names_ipv6_and_port_zero() {
        for (flag, host, port) in [
            ("localhost:9741", Some("localhost"), 9741),
            ("[::1]:9741", Some("::1"), 9741),
            ("127.0.0.1:0", Some("127.0.0.1"), 0),
            ("0.0.0.0:9741", Some("0.0.0.0"), 9741),
            (":9741", None, 9741),
        ] {
            let c = config(&["--web.listen-address", flag]).unwrap();
            let want = ListenAddress {
                host: host.map(str::to_owned),
                port,
            };
            assert_eq!(c.listen_address, want, "{flag}");
            assert_eq!(c.listen_address.to_string(), flag);
        }
    }

    #[test]
    fn per_user_takes_an_explicit_false() {
        assert!(!config(&["--metrics.per-user=false"]).unwrap().per_user);
        assert!(config(&["--metrics.per-user"]).unwrap().per_user);
    }

    #[test]
    fn bad_flags_are_clap_errors_with_exit_code_2() {
        let e = flags(&["--refresh.interval", "soon"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("refresh.interval"));
        let e = flags(&["--web.listen-address", "nowhere"]).unwrap_err();
        assert!(e.to_string().contains("HOST:PORT"));
        assert!(flags(&["--no-such-flag"]).is_err());
        assert!(flags(&["--account-summary.file", "x.json"]).is_err());
    }

    #[test]
    fn shard_index_must_be_below_count() {
        let e = config(&["--shard.count", "2", "--shard.index", "2"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--shard.index: 2 is not below --shard.count 2"
        );
    }

    #[test]
    fn offline_mode_from_report_file() {
        let c = config(&["--credential-report.file", "r.csv", "--once"]).unwrap();
        assert!(c.once);
        assert_eq!(
            c.mode,
            Mode::Offline {
                report: "r.csv".into(),
                summary: None
            }
        );
    }

    #[test]
    fn config_file_parses_the_documented_example() {
        let c = parse_config_file(
            r#"
accounts:
  - role_arn: arn:aws:iam::222233334444:role/aws-iam-exporter
    external_id: optional
    name: staging
organizations:
  role_name: aws-iam-exporter
  include_management_account: true
  exclude_accounts: ["111111111111"]
refresh_interval: 5m
concurrency: 8
"#,
        )
        .unwrap();
        assert_eq!(c.accounts[0].name.as_deref(), Some("staging"));
        assert_eq!(c.organizations.unwrap().exclude_accounts, ["111111111111"]);
        assert_eq!(c.concurrency, Some(8));
    }

    #[test]
    fn config_file_errors_name_the_key() {
        let e = parse_config_file("accounts:\n  - role_arn: x\n    nmae: typo\n").unwrap_err();
        assert!(e.contains("nmae"), "{e}");
        let e = parse_config_file("concurrency: many\n").unwrap_err();
        assert!(e.contains("concurrency"), "{e}");
    }

    #[test]
    fn config_file_values_are_validated_and_flags_override_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yml");
        std::fs::write(
            &path,
            "accounts:\n  - role_arn: arn:aws:iam::222233334444:role/r\nrefresh_interval: 1m\nconcurrency: 3\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let c = config(&["--config.file", p]).unwrap();
        assert_eq!(c.refresh_interval, Duration::from_secs(60));
        assert_eq!(c.concurrency, 3);
        let c = config(&["--config.file", p, "--refresh.interval", "2m"]).unwrap();
        assert_eq!(c.refresh_interval, Duration::from_secs(120));

        std::fs::write(&path, "accounts:\n  - role_arn: arn:aws:s3:::bucket\n").unwrap();
        let e = config(&["--config.file", p]).unwrap_err().to_string();
        assert!(e.contains("accounts[0].role_arn"), "{e}");
        std::fs::write(&path, "refresh_interval: 0s\naccounts: []\n").unwrap();
        let e = config(&["--config.file", p]).unwrap_err().to_string();
        assert!(e.contains("refresh_interval"), "{e}");
        let e = config(&["--config.file", "/nonexistent.yml"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent.yml"), "{e}");
    }

    #[test]
    fn shards_are_stable_and_cover_every_account() {
        // Pinned values: a change of hash would move accounts between replicas.
        // These are FNV-1a values computed independently (by hand in Python), not the function
        // compared with itself.
        assert_eq!(shard_of("111111111111", 3), 0);
        assert_eq!(shard_of("123456789012", 3), 2);
        assert_eq!(shard_of("111111111111", 10), 7);
        assert_eq!(shard_of("999999999999", 10), 9);
        assert_eq!(shard_of("123456789012", 2), 1);
        let ids: Vec<String> = (0..200)
            .map(|i| format!("{:012}", 100_000_000_000u64 + i))
            .collect();
        let mut counts = [0; 3];
        for id in &ids {
            counts[shard_of(id, 3) as usize] += 1;
        }
        assert_eq!(counts.iter().sum::<i32>(), 200);
        assert!(counts.iter().all(|c| *c > 40), "{counts:?}");
        assert_eq!(shard_of("123456789012", 1), 0);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_config_text_never_panics(text in "\\PC{0,300}") {
                let _ = parse_config_file(&text);
            }

            #[test]
            fn arbitrary_flag_values_never_panic(v in "\\PC{0,30}") {
                for flag in ["--refresh.interval", "--web.listen-address", "--shard.count", "--metrics.per-user", "--web.telemetry-path"] {
                    let _ = Flags::try_parse_from(["x", flag, v.as_str()]).map(Config::from_flags);
                }
            }
        }
    }
}
