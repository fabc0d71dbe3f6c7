//! PURE: the `audit` command's output. Each account's data -> [`Audit`] (every control's
//! verdict from [`posture::derive`], the daemon's code, and its offenders from
//! [`posture::findings`], the same evaluators) -> a table for a person or JSON for tools, and the
//! exit status.
//!
//! No I/O here: `main` fetches the accounts ([`crate::accounts::fetch_once`]), reads the clock
//! and whether stdout is a terminal, and prints what [`render`] returns. An output format is a
//! [`Format`] variant (a `--format` value) and one arm of the `match` in [`render`]. The formats
//! for pipelines, each from the same [`Audit`], are beside this file: [`ocsf()`] (SIEMs,
//! Security Lake), [`junit()`] (CI) and [`csv()`] (spreadsheets).

mod csv;
mod fields;
mod junit;
mod ocsf;

pub use self::csv::csv;
pub use self::junit::junit;
pub use self::ocsf::{OCSF_VERSION, ocsf};

use std::fmt::Write as _;

use serde::Serialize;

use crate::posture::{self, CONTROLS, ControlId, Finding, Severity, Thresholds};
use crate::refresh::AccountInput;

/// `--format`: what `audit` prints, each written by one arm of [`render`]. (No doc comments on
/// the variants: clap would turn `--help`'s list of values into a table.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    // For a person: [`table`].
    Table,
    // For tools: [`json`].
    Json,
    // For SIEMs and Security Lake: [`ocsf()`], OCSF Detection Findings, one JSON object a line.
    Ocsf,
    // For CI: [`junit()`], a test suite per account, a test case per control.
    Junit,
    // For spreadsheets: [`csv()`], RFC 4180, a row per finding.
    Csv,
}

/// `--fail-on`: the least severity whose failure makes `audit` exit 1; `never` never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    Never,
}

impl FailOn {
    /// The least severity that fails the audit; `None` for `never`.
    pub fn floor(self) -> Option<Severity> {
        match self {
            FailOn::Critical => Some(Severity::Critical),
            FailOn::High => Some(Severity::High),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::Low => Some(Severity::Low),
            FailOn::Never => None,
        }
    }
}

/// The flags of `audit` (besides the shared ones), as clap parses them: every value is one of
/// its list, so none needs checking again.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct AuditSettings {
    /// Output: `table` for a person, `json` for tools, `ocsf` (OCSF Detection Findings, JSON Lines) for a SIEM, `junit` (XML) for CI, `csv` for spreadsheets.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Exit 1 when a control of this severity or above fails: critical, high, medium, low, or never (always exit 0 unless the input is unreadable).
    #[arg(long = "fail-on", value_enum, default_value = "high")]
    pub fail_on: FailOn,
    /// Offenders listed per control in the table, then "... and N more"; 0 lists all (JSON always lists all).
    #[arg(long = "max-offenders", default_value_t = 20)]
    pub max_offenders: usize,
    /// The CIS AWS Foundations Benchmark version whose numbers the table shows (1.4.0 to 4.0.1 share one numbering).
    #[arg(long = "cis-version", default_value = "4.0.1", value_parser = cis_version())]
    pub cis_version: &'static str,
}

/// `--cis-version`: one of [`posture::CIS_VERSIONS`], which a bad value's error lists.
fn cis_version() -> impl clap::builder::TypedValueParser<Value = &'static str> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(posture::CIS_VERSIONS).try_map(|v: String| {
        posture::CIS_VERSIONS
            .into_iter()
            .find(|known| *known == v)
            .ok_or("not a CIS version")
    })
}

impl Default for AuditSettings {
    /// The flags' defaults (a test checks that they agree).
    fn default() -> Self {
        AuditSettings {
            format: Format::Table,
            fail_on: FailOn::High,
            max_offenders: 20,
            cis_version: "4.0.1",
        }
    }
}

/// Exit status: nothing fails at or above `--fail-on`.
pub const EXIT_PASS: u8 = 0;
/// Exit status: something fails at or above `--fail-on`.
pub const EXIT_FAIL: u8 = 1;
/// Exit status: bad flags, or an account that could not be read (no verdict can be trusted).
pub const EXIT_ERROR: u8 = 2;

/// A control's state in one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Fail,
    /// The control's input is unknown (offline there is no password policy): no verdict.
    Unknown,
    Pass,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fail => "fail",
            Status::Unknown => "unknown",
            Status::Pass => "pass",
        }
    }
}

/// One control in one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlResult<'a> {
    pub control: ControlId,
    pub status: Status,
    /// `aws_iam_control_failing_resources`: `None` when unknown.
    pub failing_resources: Option<u64>,
    /// One per failing credential (a user with two failing keys is listed twice).
    pub offenders: Vec<Finding<'a>>,
}

/// One account's audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountAudit<'a> {
    pub input: &'a AccountInput,
    /// `None` for a root audit (sts:AssumeRoot): root alone, the users unknown.
    pub users: Option<u64>,
    /// Every control, in [`CONTROLS`] order.
    pub controls: Vec<ControlResult<'a>>,
}

impl AccountAudit<'_> {
    fn count(&self, status: Status) -> usize {
        self.controls.iter().filter(|c| c.status == status).count()
    }
}

/// The whole audit: every account that could be read, and the errors of the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit<'a> {
    /// The time the audit judges at (seconds since the epoch).
    pub now: i64,
    pub accounts: Vec<AccountAudit<'a>>,
    /// Organizations' discovery failure, as one line, when it failed: only the configured
    /// accounts were read.
    pub discovery: Option<String>,
    /// One line per account that could not be read.
    pub errors: Vec<String>,
}

/// Judges one account at `now` with the daemon's thresholds.
pub fn assess<'a>(input: &'a AccountInput, t: &Thresholds, now: i64) -> AccountAudit<'a> {
    let data = &input.data;
    let posture = posture::derive(data, t, now);
    let controls = ControlId::ALL
        .iter()
        .map(
            |&control| match posture.verdicts.iter().find(|v| v.control == control) {
                None => ControlResult {
                    control,
                    status: Status::Unknown,
                    failing_resources: None,
                    offenders: Vec::new(),
                },
                Some(v) => ControlResult {
                    control,
                    status: if v.failing {
                        Status::Fail
                    } else {
                        Status::Pass
                    },
                    failing_resources: Some(v.failing_resources),
                    // The verdict and the list come from the same evaluator: a failing
                    // verdict always has its findings.
                    offenders: match v.failing {
                        true => posture::findings(data, t, now, control).unwrap_or_default(),
                        false => Vec::new(),
                    },
                },
            },
        )
        .collect();
    AccountAudit {
        input,
        users: posture.counts.users,
        controls,
    }
}

impl Audit<'_> {
    /// Whether a control of `fail_on`'s severity or above fails in any account.
    pub fn fails(&self, fail_on: Option<Severity>) -> bool {
        let Some(floor) = fail_on else {
            return false;
        };
        self.failing_controls(floor) > 0
    }

    /// Failing (account, control) pairs at or above `floor`.
    fn failing_controls(&self, floor: Severity) -> usize {
        self.accounts
            .iter()
            .flat_map(|a| &a.controls)
            .filter(|c| c.status == Status::Fail && c.control.control().severity >= floor)
            .count()
    }

    /// The exit status: 2 when an account could not be read, else 1 when something fails at
    /// or above `fail_on`, else 0.
    pub fn exit_code(&self, fail_on: Option<Severity>) -> u8 {
        if self.discovery.is_some() || !self.errors.is_empty() {
            EXIT_ERROR
        } else if self.fails(fail_on) {
            EXIT_FAIL
        } else {
            EXIT_PASS
        }
    }
}

/// The audit as `settings.format` writes it; `color` (a terminal without `NO_COLOR`, see
/// [`use_color`]) is for the formats a person reads.
pub fn render(audit: &Audit<'_>, settings: &AuditSettings, color: bool) -> String {
    match settings.format {
        Format::Table => table(audit, settings, color),
        Format::Json => json(audit, settings),
        Format::Ocsf => ocsf(audit),
        Format::Junit => junit(audit, settings),
        Format::Csv => csv(audit, settings),
    }
}

/// Colour on: stdout is a terminal and `NO_COLOR` is unset or empty (<https://no-color.org>).
pub fn use_color(stdout_is_terminal: bool, no_color: Option<&str>) -> bool {
    stdout_is_terminal && no_color.is_none_or(str::is_empty)
}

/// The CIS number of a control in `version`, if that version has it.
fn cis_id(control: ControlId, version: &str) -> Option<&'static str> {
    control
        .control()
        .benchmarks()
        .find(|(standard, v, _)| *standard == "cis-aws-foundations" && *v == version)
        .map(|(_, _, id)| id)
}

/// `CIS 1.4-4.0` for the versions 1.4.0 to 4.0.1, which share one numbering (the `cis` label's);
/// `CIS 7.0.0` for a later one.
fn cis_header(version: &str) -> String {
    match posture::CIS_VERSIONS.iter().position(|v| *v == version) {
        Some(0..=4) => "CIS 1.4-4.0".to_owned(),
        _ => format!("CIS {version}"),
    }
}

/// NB: IAM names cannot hold control characters, but a report file can: none reaches the
/// terminal (an escape sequence could rewrite the table).
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn fail_on_name(fail_on: Option<Severity>) -> &'static str {
    fail_on.map_or("never", Severity::as_str)
}

/// `2026-12-01T00:00:00Z`.
fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

// ---------------------------------------------------------------------------------------------
// The table.

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[33m";
const GREEN: &str = "\x1b[32m";
const RESET: &str = "\x1b[0m";

/// Pads `text` to `width` and then colours it (escape codes take no column).
fn cell(text: &str, width: usize, colour: Option<&str>) -> String {
    match colour {
        Some(c) => format!(
            "{c}{text}{RESET}{:pad$}",
            "",
            pad = width.saturating_sub(text.len())
        ),
        None => format!("{text:width$}"),
    }
}

/// The table: per account a heading, a count line and one row per control (failing first, then
/// unknown, then passing; each by severity, then in table order), the offenders of a failing
/// row indented under its control, one per line; then one line with the result and exit status.
pub fn table(audit: &Audit<'_>, settings: &AuditSettings, color: bool) -> String {
    let paint = |c: &'static str| color.then_some(c);
    let cis_header = cis_header(settings.cis_version);
    let control_width = CONTROLS.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let cis_width = ControlId::ALL
        .iter()
        .filter_map(|&id| cis_id(id, settings.cis_version))
        .map(str::len)
        .max()
        .unwrap_or(0)
        .max(cis_header.len());
    let indent = " ".repeat(7 + 2 + 8 + 2);
    let mut out = String::new();
    for (i, account) in audit.accounts.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let input = account.input;
        let mut heading = format!("Account {}", input.account_id);
        if let Some(name) = &input.name {
            let _ = write!(heading, " {name:?}");
        }
        if input.key != input.account_id {
            let _ = write!(heading, " ({})", input.key);
        }
        let _ = writeln!(out, "{}", cell(&printable(&heading), 0, paint(BOLD)));
        if let Some(generated) = input.data.generated {
            let _ = writeln!(out, "report generated {}", rfc3339(generated));
        }
        let users = match account.users {
            Some(n) => format!("{n} users"),
            None => {
                "root audit through sts:AssumeRoot (no credential report: users unknown)".to_owned()
            }
        };
        let _ = writeln!(
            out,
            "{users}; {} controls fail, {} unknown, {} pass",
            account.count(Status::Fail),
            account.count(Status::Unknown),
            account.count(Status::Pass),
        );
        out.push('\n');
        let header = format!(
            "{:7}  {:8}  {:control_width$}  {:cis_width$}  {:12}  {:>7}  TITLE",
            "STATUS", "SEVERITY", "CONTROL", cis_header, "SECURITY HUB", "FAILING"
        );
        let _ = writeln!(out, "{}", cell(&header, 0, paint(BOLD)));
        let mut rows: Vec<&ControlResult<'_>> = account.controls.iter().collect();
        rows.sort_by_key(|r| {
            (
                r.status,
                std::cmp::Reverse(r.control.control().severity),
                r.control as usize,
            )
        });
        for row in rows {
            let c = row.control.control();
            let (status, status_colour) = match row.status {
                Status::Fail => ("FAIL", RED),
                Status::Unknown => ("unknown", YELLOW),
                Status::Pass => ("pass", GREEN),
            };
            let severity_colour = match c.severity {
                Severity::Critical | Severity::High if row.status == Status::Fail => paint(BOLD),
                _ => None,
            };
            let failing = row
                .failing_resources
                .map_or_else(|| "-".to_owned(), |n| n.to_string());
            let line = format!(
                "{}  {}  {:control_width$}  {:cis_width$}  {:12}  {failing:>7}  {}",
                cell(status, 7, paint(status_colour)),
                cell(c.severity.as_str(), 8, severity_colour),
                c.id,
                cis_id(row.control, settings.cis_version).unwrap_or("-"),
                if c.securityhub.is_empty() {
                    "-"
                } else {
                    c.securityhub
                },
                c.title,
            );
            let _ = writeln!(out, "{}", line.trim_end());
            let shown = match settings.max_offenders {
                0 => row.offenders.len(),
                n => n.min(row.offenders.len()),
            };
            for f in &row.offenders[..shown] {
                let _ = writeln!(out, "{indent}{}", printable(&f.describe(audit.now)));
            }
            if shown < row.offenders.len() {
                let _ = writeln!(
                    out,
                    "{indent}... and {} more (--max-offenders)",
                    row.offenders.len() - shown
                );
            }
        }
    }
    if !audit.accounts.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", result_line(audit, settings.fail_on.floor()));
    out
}

/// `Result: 2 controls fail at or above high (--fail-on): exit 1`.
fn result_line(audit: &Audit<'_>, fail_on: Option<Severity>) -> String {
    let code = audit.exit_code(fail_on);
    let mut parts = Vec::new();
    if audit.discovery.is_some() {
        parts.push("account discovery failed, only the configured accounts were read".to_owned());
    }
    match audit.errors.len() {
        0 => {}
        1 => parts.push("1 account could not be read".to_owned()),
        n => parts.push(format!("{n} accounts could not be read")),
    }
    match fail_on {
        Some(floor) => parts.push(format!(
            "{} at or above {} (--fail-on)",
            match audit.failing_controls(floor) {
                0 => "no control fails".to_owned(),
                1 => "1 control fails".to_owned(),
                n => format!("{n} controls fail"),
            },
            floor.as_str()
        )),
        None => parts.push("--fail-on never".to_owned()),
    }
    format!("Result: {}: exit {code}", parts.join("; "))
}

// ---------------------------------------------------------------------------------------------
// JSON.

#[derive(Serialize)]
struct JsonAudit<'a> {
    /// The time the audit judged at.
    now: String,
    fail_on: &'static str,
    /// Whether a control fails at or above `fail_on` (exit status 1).
    failed: bool,
    exit_code: u8,
    cis_version: &'static str,
    accounts: Vec<JsonAccount<'a>>,
    /// The discovery's failure first, then the accounts'.
    errors: Vec<&'a str>,
}

#[derive(Serialize)]
struct JsonAccount<'a> {
    key: &'a str,
    account_id: &'a str,
    account_name: Option<&'a str>,
    report_generated: Option<String>,
    /// `null` for a root audit (root alone).
    users: Option<u64>,
    summary: JsonSummary,
    controls: Vec<JsonControl<'a>>,
}

#[derive(Serialize)]
struct JsonSummary {
    fail: usize,
    unknown: usize,
    pass: usize,
}

#[derive(Serialize)]
struct JsonControl<'a> {
    id: &'static str,
    status: &'static str,
    severity: &'static str,
    title: &'static str,
    /// The number in `--cis-version`.
    cis: Option<&'static str>,
    securityhub: Option<&'static str>,
    benchmarks: Vec<JsonBenchmark>,
    failing_resources: Option<u64>,
    offenders: Vec<JsonOffender<'a>>,
}

#[derive(Serialize)]
struct JsonBenchmark {
    standard: &'static str,
    version: &'static str,
    id: &'static str,
}

/// An offender as the JSON lists it; the OCSF resource's `data` too.
#[derive(Serialize)]
struct JsonOffender<'a> {
    /// `None` for the account itself (the password policy, a server certificate).
    user: Option<&'a str>,
    credential: &'static str,
    credential_id: Option<&'a str>,
    last_used: Option<String>,
    created: Option<String>,
    /// A server certificate's or service credential's expiry; left out when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    never_used: bool,
    /// Days since the last use, else since creation, as in `description`.
    days: Option<i64>,
    description: String,
}

/// The same content as [`table`] for tools: every account, every control in [`CONTROLS`] order
/// (stable), every offender (`--max-offenders` is for the table only). Pretty-printed, one
/// trailing newline.
pub fn json(audit: &Audit<'_>, settings: &AuditSettings) -> String {
    let now = audit.now;
    let accounts = audit
        .accounts
        .iter()
        .map(|a| JsonAccount {
            key: &a.input.key,
            account_id: &a.input.account_id,
            account_name: a.input.name.as_deref(),
            report_generated: a.input.data.generated.map(rfc3339),
            users: a.users,
            summary: JsonSummary {
                fail: a.count(Status::Fail),
                unknown: a.count(Status::Unknown),
                pass: a.count(Status::Pass),
            },
            controls: a
                .controls
                .iter()
                .map(|r| {
                    let c = r.control.control();
                    JsonControl {
                        id: c.id,
                        status: r.status.as_str(),
                        severity: c.severity.as_str(),
                        title: c.title,
                        cis: cis_id(r.control, settings.cis_version),
                        securityhub: (!c.securityhub.is_empty()).then_some(c.securityhub),
                        benchmarks: c
                            .benchmarks()
                            .map(|(standard, version, id)| JsonBenchmark {
                                standard,
                                version,
                                id,
                            })
                            .collect(),
                        failing_resources: r.failing_resources,
                        offenders: r
                            .offenders
                            .iter()
                            .map(|f| JsonOffender::new(f, now))
                            .collect(),
                    }
                })
                .collect(),
        })
        .collect();
    let doc = JsonAudit {
        now: rfc3339(now),
        fail_on: fail_on_name(settings.fail_on.floor()),
        failed: audit.fails(settings.fail_on.floor()),
        exit_code: audit.exit_code(settings.fail_on.floor()),
        cis_version: settings.cis_version,
        accounts,
        errors: audit
            .discovery
            .iter()
            .chain(&audit.errors)
            .map(String::as_str)
            .collect(),
    };
    // NB: serialising these structs cannot fail (string keys, no maps, no custom Serialize).
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests;
