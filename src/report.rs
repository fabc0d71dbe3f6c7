//! PURE: bytes of an IAM credential report -> [`CredentialReport`].
//!
//! First stage of the pipeline (`report` -> `posture` -> `exposition`). No I/O, no clock, no AWS
//! types: the live source hands us the decoded `Content` blob, the offline source the file bytes.
//!
//! The format is documented in the IAM user guide ("Getting credential reports"): a CSV with one
//! row per IAM user plus `<root_account>`. Columns are read by header name, never by position,
//! because AWS has added columns before and moto orders nothing differently but might.

use std::collections::BTreeMap;
use std::ops::Range;

use base64::Engine as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The user name AWS gives the root row.
pub const ROOT_USER: &str = "<root_account>";

/// Everything that can be wrong with a report. Each variant names what was wrong, so the log line
/// that reports it is enough to fix the input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("credential report is empty")]
    Empty,
    #[error("credential report is not CSV: {0}")]
    NotCsv(String),
    #[error("credential report is missing required column `{0}`")]
    MissingColumn(&'static str),
    #[error("credential report has column `{0}` twice")]
    DuplicateColumn(String),
    #[error("credential report line {line}: column `{column}`: {problem}")]
    BadValue {
        line: u64,
        column: &'static str,
        problem: String,
    },
    #[error("credential report JSON: {0}")]
    BadJson(String),
    #[error("credential report `Content` is not valid base64: {0}")]
    BadBase64(String),
    #[error("credential report has ARNs of two accounts: {0} and {1}")]
    MixedAccounts(String, String),
    #[error("credential report is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
}

/// A date column's value. The special values stay distinct because they mean different things:
/// `N/A` (no such credential, or a key never used), `no_information` (a password never used, or
/// not since tracking began in 2014), `not_supported` (root's password columns; moto writes it
/// where AWS writes `N/A`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Date {
    /// Seconds since the Unix epoch.
    At(i64),
    NotApplicable,
    NoInformation,
    NotSupported,
}

impl Date {
    /// The instant, when the column holds one.
    pub fn timestamp(self) -> Option<i64> {
        match self {
            Date::At(t) => Some(t),
            _ => None,
        }
    }
}

/// One access key slot (`access_key_1_*` or `access_key_2_*`).
///
/// Every field of a row is `None` when the report does not say: its column is missing (AWS's
/// pre-2015 layout has no `*_last_used_*`; trimmed exports drop more). Code that reads a row
/// must treat `None` as unknown, never as `false` or as "no date".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccessKey {
    pub active: Option<bool>,
    /// Creation or last rotation; `N/A` when the slot never held a key.
    pub last_rotated: Option<Date>,
    /// `N/A` when the key was never used (or not since 2015-04-22).
    pub last_used: Option<Date>,
}

/// One signing certificate slot (`cert_1_*`, `cert_2_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Certificate {
    pub active: Option<bool>,
    /// A date also for an inactive certificate (it still exists); `N/A` when there is none.
    pub last_rotated: Option<Date>,
}

/// One row of the report (a user or the root account). `None` means unknown (see [`AccessKey`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Byte range of the user name in [`CredentialReport::names`]; rows carry no allocation.
    name: Range<u32>,
    pub user_creation_time: Option<Date>,
    /// `None` also for root (`not_supported`): the report cannot say whether root has a password.
    pub password_enabled: Option<bool>,
    pub password_last_used: Option<Date>,
    pub password_last_changed: Option<Date>,
    pub mfa_active: Option<bool>,
    pub access_keys: [AccessKey; 2],
    pub certificates: [Certificate; 2],
}

impl Row {
    /// Active access keys, when the report says for both slots.
    pub fn active_access_keys(&self) -> Option<usize> {
        let [a, b] = self.access_keys.map(|k| k.active);
        Some(usize::from(a?) + usize::from(b?))
    }
}

/// A parsed credential report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CredentialReport {
    /// All user names, back to back; rows point into it.
    names: String,
    /// IAM users in report order, root excluded.
    pub users: Vec<Row>,
    /// The `<root_account>` row; moto's reports have none.
    pub root: Option<Row>,
    /// The 12-digit account id taken from the ARNs, when any row has one.
    pub account_id: Option<String>,
    /// What was odd but not fatal, for the caller to log once per refresh.
    pub warnings: Vec<Warning>,
    /// Values that fit no known form, by column (`password_enabled` -> 2): each is unknown for
    /// its row, the rest of the report is served. Counted by
    /// [`crate::exposition::RefreshStats::count_unparsed`].
    pub unparsed: BTreeMap<&'static str, u64>,
}

/// Something odd in a report that did not stop it from being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A user listed in more than one row. One row is served (see [`parse`]), so no series is
    /// ever duplicated and the user is counted once.
    DuplicateUser { user: String, rows: u64 },
    /// Values of one column that fit no known form: unknown for their rows, counted.
    Unparsed {
        column: &'static str,
        count: u64,
        /// The first such value, with its line.
        first: String,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::DuplicateUser { user, rows } => write!(
                f,
                "credential report lists user `{user}` in {rows} rows; serving the row with the latest user_creation_time"
            ),
            Warning::Unparsed {
                column,
                count,
                first,
            } => write!(
                f,
                "credential report: {count} value(s) of column `{column}` fit no known form and are unknown for their rows; the first: {first}"
            ),
        }
    }
}

impl CredentialReport {
    /// The user name of a row of this report.
    pub fn name(&self, row: &Row) -> &str {
        self.names
            .get(row.name.start as usize..row.name.end as usize)
            .unwrap_or_default()
    }
}

/// A report as `aws iam get-credential-report` prints it, or as GetCredentialReport returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDocument {
    pub csv: Vec<u8>,
    /// `GeneratedTime`, seconds since the epoch; unknown for a plain CSV download.
    pub generated: Option<i64>,
}

/// Reads a report file: the console's plain CSV, the CLI's JSON with a base64 `Content`, or that
/// base64 alone (`aws iam get-credential-report --query Content --output text`). Detection: `{`
/// first is JSON; a body of base64 characters only is base64 (a CSV header always has a comma,
/// base64 never does); anything else is CSV.
pub fn decode_document(bytes: &[u8], limit: usize) -> Result<ReportDocument, ParseError> {
    if bytes.len() > limit {
        return Err(ParseError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    let body = strip_bom(bytes);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => Err(ParseError::Empty),
        Some(b'{') => decode_json(body, limit),
        Some(_) if is_bare_base64(body) => Ok(ReportDocument {
            csv: decode_base64(body, limit)?,
            generated: None,
        }),
        Some(_) => Ok(ReportDocument {
            csv: body.to_vec(),
            generated: None,
        }),
    }
}

fn decode_json(body: &[u8], limit: usize) -> Result<ReportDocument, ParseError> {
    #[derive(serde::Deserialize)]
    struct CliReport {
        #[serde(rename = "Content")]
        content: String,
        #[serde(rename = "ReportFormat", default)]
        report_format: Option<String>,
        #[serde(rename = "GeneratedTime", default)]
        generated_time: Option<String>,
    }
    let doc: CliReport =
        serde_json::from_slice(body).map_err(|e| ParseError::BadJson(e.to_string()))?;
    if let Some(format) = doc.report_format.as_deref()
        && format != "text/csv"
    {
        return Err(ParseError::BadJson(format!(
            "`ReportFormat` is `{format}`, expected `text/csv`"
        )));
    }
    let csv = decode_base64(doc.content.as_bytes(), limit)?;
    let generated = match doc.generated_time.as_deref() {
        None => None,
        Some(s) => Some(parse_time(s).ok_or_else(|| {
            ParseError::BadJson(format!("`GeneratedTime` `{s}` is not an RFC 3339 time"))
        })?),
    };
    Ok(ReportDocument { csv, generated })
}

fn is_bare_base64(body: &[u8]) -> bool {
    body.iter().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=') || b.is_ascii_whitespace()
    })
}

/// Standard base64, line breaks allowed (the CLI wraps nothing, a copy from a terminal may).
fn decode_base64(text: &[u8], limit: usize) -> Result<Vec<u8>, ParseError> {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let csv = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|e| ParseError::BadBase64(e.to_string()))?;
    if csv.len() > limit {
        return Err(ParseError::TooLarge {
            size: csv.len(),
            limit,
        });
    }
    Ok(csv)
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Parses an RFC 3339 time (`Z` or `+00:00`) into seconds since the epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The columns this exporter reads. Every one of them is documented by AWS. Only `user` is
/// required: without it no row can be named. Any other column may be missing (AWS's own
/// pre-2015 layout has 16 columns, exports and audit `cut`s fewer); the facts that need it are
/// then unknown, never guessed.
#[derive(Clone, Copy)]
enum Col {
    User,
    Arn,
    UserCreationTime,
    PasswordEnabled,
    PasswordLastUsed,
    PasswordLastChanged,
    MfaActive,
    Key1Active,
    Key1LastRotated,
    Key1LastUsed,
    Key2Active,
    Key2LastRotated,
    Key2LastUsed,
    Cert1Active,
    Cert1LastRotated,
    Cert2Active,
    Cert2LastRotated,
}

const COLUMNS: [(Col, &str, bool); 17] = [
    (Col::User, "user", true),
    (Col::Arn, "arn", false),
    (Col::UserCreationTime, "user_creation_time", false),
    (Col::PasswordEnabled, "password_enabled", false),
    (Col::PasswordLastUsed, "password_last_used", false),
    (Col::PasswordLastChanged, "password_last_changed", false),
    (Col::MfaActive, "mfa_active", false),
    (Col::Key1Active, "access_key_1_active", false),
    (Col::Key1LastRotated, "access_key_1_last_rotated", false),
    (Col::Key1LastUsed, "access_key_1_last_used_date", false),
    (Col::Key2Active, "access_key_2_active", false),
    (Col::Key2LastRotated, "access_key_2_last_rotated", false),
    (Col::Key2LastUsed, "access_key_2_last_used_date", false),
    (Col::Cert1Active, "cert_1_active", false),
    (Col::Cert1LastRotated, "cert_1_last_rotated", false),
    (Col::Cert2Active, "cert_2_active", false),
    (Col::Cert2LastRotated, "cert_2_last_rotated", false),
];

/// Positions of the columns we read, found from the header row.
struct Layout {
    index: [Option<usize>; COLUMNS.len()],
}

impl Layout {
    fn from_header(header: &csv::ByteRecord) -> Result<Layout, ParseError> {
        let mut index = [None; COLUMNS.len()];
        let mut seen = std::collections::HashSet::new();
        for (pos, raw) in header.iter().enumerate() {
            let name = std::str::from_utf8(raw)
                .map_err(|_| ParseError::NotCsv("header row is not UTF-8".into()))?
                .trim();
            if !seen.insert(name.to_owned()) {
                return Err(ParseError::DuplicateColumn(name.to_owned()));
            }
            if let Some(slot) = COLUMNS.iter().position(|(_, n, _)| *n == name) {
                index[slot] = Some(pos);
            }
        }
        for (slot, (_, name, required)) in COLUMNS.iter().enumerate() {
            if *required && index[slot].is_none() {
                return Err(ParseError::MissingColumn(name));
            }
        }
        Ok(Layout { index })
    }
}

/// One data row being read: the record plus where its columns are.
struct Fields<'r> {
    record: &'r csv::ByteRecord,
    layout: &'r Layout,
    line: u64,
}

impl Fields<'_> {
    /// The raw text of a column, or `None` for an optional column the report lacks.
    fn get(&self, col: Col) -> Result<Option<&str>, ParseError> {
        let slot = col as usize;
        let Some(pos) = self.layout.index[slot] else {
            return Ok(None);
        };
        let name = COLUMNS[slot].1;
        let raw = self.record.get(pos).ok_or_else(|| ParseError::BadValue {
            line: self.line,
            column: name,
            problem: format!("row has {} fields, too few", self.record.len()),
        })?;
        std::str::from_utf8(raw)
            .map(|s| Some(s.trim()))
            .map_err(|_| self.bad(col, "not UTF-8".into()))
    }

    fn bad(&self, col: Col, problem: String) -> ParseError {
        ParseError::BadValue {
            line: self.line,
            column: COLUMNS[col as usize].1,
            problem,
        }
    }

    /// A boolean column: `true`/`false` in any case; special values read as `None`.
    fn flag(&self, col: Col) -> Result<Option<bool>, ParseError> {
        let Some(v) = self.get(col)? else {
            return Ok(None);
        };
        if v.eq_ignore_ascii_case("true") {
            Ok(Some(true))
        } else if v.eq_ignore_ascii_case("false") {
            Ok(Some(false))
        } else if special(v).is_some() {
            Ok(None)
        } else {
            Err(self.bad(
                col,
                format!("`{}` is not true, false, N/A or not_supported", shown(v)),
            ))
        }
    }

    /// A credential's `*_active` or `mfa_active`: a special value (`N/A`) reads as false, as AWS
    /// writes it for a credential that does not exist. A missing column stays unknown.
    fn active(&self, col: Col) -> Result<Option<bool>, ParseError> {
        if self.get(col)?.is_none() {
            return Ok(None);
        }
        Ok(Some(self.flag(col)?.unwrap_or(false)))
    }

    fn date(&self, col: Col) -> Result<Option<Date>, ParseError> {
        let Some(v) = self.get(col)? else {
            return Ok(None);
        };
        if let Some(s) = special(v) {
            return Ok(Some(s));
        }
        parse_time(v)
            .map(|t| Some(Date::At(t)))
            .ok_or_else(|| self.bad(col, format!("`{}` is not an RFC 3339 time", shown(v))))
    }
}

fn special(v: &str) -> Option<Date> {
    match v {
        "N/A" | "n/a" => Some(Date::NotApplicable),
        "no_information" => Some(Date::NoInformation),
        "not_supported" => Some(Date::NotSupported),
        // An empty field appears in hand-edited files; it carries no date either.
        "" => Some(Date::NotApplicable),
        _ => None,
    }
}

/// The account id of an IAM ARN (`arn:aws:iam::123456789012:user/x`), if well formed.
pub fn account_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("iam"), Some(_region), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// Parses the CSV body of a credential report.
///
/// A user listed twice (root included) is served once: the row with the latest
/// `user_creation_time` wins, ties and unknown times going to the later row. A user deleted and
/// re-created while the report was generated appears with both creation times, and the newer
/// incarnation is the one whose credentials still work. Each such user gives one [`Warning`].
pub fn parse(csv_bytes: &[u8]) -> Result<CredentialReport, ParseError> {
    let body = strip_bom(csv_bytes);
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    if body.contains(&0) {
        return Err(ParseError::NotCsv("body contains NUL bytes".into()));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(body);
    let header = reader
        .byte_headers()
        .map_err(|e| ParseError::NotCsv(e.to_string()))?
        .clone();
    let layout = Layout::from_header(&header)?;

    let mut report = CredentialReport::default();
    let mut odd = Unparsed::default();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(ParseError::NotCsv(e.to_string())),
        }
        let line = record.position().map_or(0, |p| p.line());
        let fields = Fields {
            record: &record,
            layout: &layout,
            line,
        };
        parse_row(&fields, &mut report, &mut odd)?;
    }
    for (column, count) in &odd.counts {
        report.warnings.push(Warning::Unparsed {
            column,
            count: *count,
            first: odd.first.remove(column).unwrap_or_default(),
        });
    }
    report.unparsed = odd.counts;
    drop_duplicate_users(&mut report);
    if let Some(pos) = report
        .users
        .iter()
        .position(|r| report.name(r) == ROOT_USER)
    {
        report.root = Some(report.users.remove(pos));
    }
    Ok(report)
}

/// Keeps one row per user name (see [`parse`] for which), in report order, and warns once per
/// duplicated name. Sorts row indices rather than hashing names: no allocation per user.
fn drop_duplicate_users(report: &mut CredentialReport) {
    let users = &report.users;
    let name = |i: usize| report.name(&users[i]);
    let mut order: Vec<usize> = (0..users.len()).collect();
    order.sort_by(|&a, &b| name(a).cmp(name(b)).then(a.cmp(&b)));
    let mut keep = vec![true; users.len()];
    let mut warnings = Vec::new();
    for run in order.chunk_by(|&a, &b| name(a) == name(b)) {
        if run.len() < 2 {
            continue;
        }
        // Option orders None first: a row with a creation time beats one without.
        let winner = run
            .iter()
            .copied()
            .max_by_key(|&i| (users[i].user_creation_time.and_then(Date::timestamp), i));
        for &i in run {
            keep[i] = Some(i) == winner;
        }
        warnings.push(Warning::DuplicateUser {
            user: name(run[0]).to_owned(),
            rows: run.len() as u64,
        });
    }
    if warnings.is_empty() {
        return;
    }
    let mut kept = keep.into_iter();
    report.users.retain(|_| kept.next().unwrap_or(true));
    report.warnings.extend(warnings);
}

/// Values that fit no known form, per column, with the first one for the log.
#[derive(Default)]
struct Unparsed {
    counts: BTreeMap<&'static str, u64>,
    first: BTreeMap<&'static str, String>,
}

impl Unparsed {
    /// A field that could not be read is unknown for its row, and counted.
    fn soft<T>(&mut self, value: Result<Option<T>, ParseError>) -> Option<T> {
        match value {
            Ok(v) => v,
            Err(e) => {
                let column = match &e {
                    ParseError::BadValue { column, .. } => column,
                    _ => "?",
                };
                self.record(column, e.to_string());
                None
            }
        }
    }

    fn record(&mut self, column: &'static str, problem: String) {
        *self.counts.entry(column).or_default() += 1;
        self.first.entry(column).or_insert(problem);
    }
}

fn parse_row(
    f: &Fields<'_>,
    report: &mut CredentialReport,
    odd: &mut Unparsed,
) -> Result<(), ParseError> {
    let Some(user) = odd.soft(f.get(Col::User)) else {
        return Ok(());
    };
    if user.is_empty() {
        // A row that cannot be named cannot be served; the rest of the report can.
        odd.record(
            "user",
            f.bad(Col::User, "empty user name".into()).to_string(),
        );
        return Ok(());
    }
    // Without an `arn` column the account id comes from elsewhere (the role, STS).
    if let Some(arn) = odd.soft(f.get(Col::Arn)) {
        match (account_of_arn(arn), report.account_id.as_deref()) {
            (Some(id), None) => report.account_id = Some(id.to_owned()),
            // Two accounts in one report is not an odd value: every series would be misfiled.
            (Some(id), Some(known)) if id != known => {
                return Err(ParseError::MixedAccounts(known.to_owned(), id.to_owned()));
            }
            (Some(_), Some(_)) => {}
            (None, _) => odd.record(
                "arn",
                f.bad(Col::Arn, format!("`{}` is not an IAM ARN", shown(arn)))
                    .to_string(),
            ),
        }
    }

    let is_root = user == ROOT_USER;
    let password_enabled = match f.flag(Col::PasswordEnabled) {
        // `not_supported` is root's documented value; in a user row it fits no known form.
        Ok(None) if !is_root => {
            if let Ok(Some(v)) = f.get(Col::PasswordEnabled) {
                odd.record(
                    "password_enabled",
                    f.bad(
                        Col::PasswordEnabled,
                        format!("`{}`: a user row must say true or false", shown(v)),
                    )
                    .to_string(),
                );
            }
            None
        }
        other => odd.soft(other),
    };
    let start = report.names.len();
    report.names.push_str(user);
    let name = to_u32(start)..to_u32(report.names.len());
    let row = Row {
        name,
        user_creation_time: odd.soft(f.date(Col::UserCreationTime)),
        password_enabled,
        password_last_used: odd.soft(f.date(Col::PasswordLastUsed)),
        password_last_changed: odd.soft(f.date(Col::PasswordLastChanged)),
        mfa_active: odd.soft(f.active(Col::MfaActive)),
        access_keys: [
            AccessKey {
                active: odd.soft(f.active(Col::Key1Active)),
                last_rotated: odd.soft(f.date(Col::Key1LastRotated)),
                last_used: odd.soft(f.date(Col::Key1LastUsed)),
            },
            AccessKey {
                active: odd.soft(f.active(Col::Key2Active)),
                last_rotated: odd.soft(f.date(Col::Key2LastRotated)),
                last_used: odd.soft(f.date(Col::Key2LastUsed)),
            },
        ],
        certificates: [
            Certificate {
                active: odd.soft(f.active(Col::Cert1Active)),
                last_rotated: odd.soft(f.date(Col::Cert1LastRotated)),
            },
            Certificate {
                active: odd.soft(f.active(Col::Cert2Active)),
                last_rotated: odd.soft(f.date(Col::Cert2LastRotated)),
            },
        ],
    };
    // Root is taken out after duplicates are resolved, the same way as for users.
    report.users.push(row);
    Ok(())
}

/// A value as quoted in a message: cut, so a hostile field cannot flood the log.
fn shown(v: &str) -> &str {
    match v.char_indices().nth(64) {
        Some((i, _)) => &v[..i],
        None => v,
    }
}

/// Name offsets fit in u32: reports are capped far below 4 GiB by the size limit.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The header of a real report, the 22 documented columns in AWS order (tests share it).
#[cfg(test)]
pub(crate) const TEST_HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

#[cfg(test)]
mod tests {
    use super::*;

    use super::TEST_HEADER as HEADER;
    const ROOT: &str = "<root_account>,arn:aws:iam::123456789012:root,2015-01-01T00:00:00+00:00,not_supported,2024-05-01T10:00:00+00:00,not_supported,not_supported,true,true,2020-01-01T00:00:00+00:00,2024-05-02T00:00:00+00:00,us-east-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A";
    const ALICE: &str = "alice,arn:aws:iam::123456789012:user/alice,2020-01-01T00:00:00Z,TRUE,no_information,2020-01-01T00:00:00Z,N/A,FALSE,TRUE,2020-01-01T00:00:05Z,N/A,N/A,N/A,TRUE,2021-01-01T00:00:00Z,2024-01-01T00:00:00Z,us-west-2,s3,FALSE,N/A,FALSE,N/A";

    fn csv(rows: &[&str]) -> String {
        let mut s = String::from(HEADER);
        for r in rows {
            s.push('\n');
            s.push_str(r);
        }
        s.push('\n');
        s
    }

    #[test]
    fn root_row_and_user_rows_are_separated() {
        let r = parse(csv(&[ROOT, ALICE]).as_bytes()).unwrap();
        let root = r.root.as_ref().unwrap();
        assert_eq!(r.users.len(), 1);
        assert_eq!(r.name(&r.users[0]), "alice");
        assert_eq!(r.account_id.as_deref(), Some("123456789012"));
        assert_eq!(root.password_enabled, None);
        assert_eq!(root.mfa_active, Some(true));
        assert_eq!(root.access_keys[0].active, Some(true));
        assert_eq!(root.access_keys[1].active, Some(false));
        assert_eq!(root.password_last_used, Some(Date::At(1714557600)));
    }

    #[test]
    fn special_values_stay_distinct() {
        let r = parse(csv(&[ROOT, ALICE]).as_bytes()).unwrap();
        let alice = &r.users[0];
        assert_eq!(alice.password_enabled, Some(true));
        assert_eq!(alice.password_last_used, Some(Date::NoInformation));
        assert_eq!(alice.access_keys[0].last_used, Some(Date::NotApplicable));
        let root = r.root.unwrap();
        assert_eq!(root.password_last_changed, Some(Date::NotSupported));
    }

    #[test]
    fn a_user_listed_twice_is_served_once_from_the_row_created_last_with_one_warning() {
        // The re-created alice (2022) is listed before the deleted one (2020).
        let recreated = ALICE
            .replace("2020-01-01T00:00:00Z,TRUE", "2022-02-02T00:00:00Z,FALSE")
            .replacen("no_information", "N/A", 1);
        let bob = ALICE
            .replace("alice", "bob")
            .replace("2020-01-01T00:00:00Z,TRUE", "2023-01-01T00:00:00Z,TRUE");
        let r = parse(csv(&[ROOT, &recreated, &bob, ALICE]).as_bytes()).unwrap();
        let names: Vec<_> = r.users.iter().map(|u| r.name(u)).collect();
        assert_eq!(names, ["alice", "bob"]);
        assert_eq!(r.users[0].password_enabled, Some(false));
        assert_eq!(
            r.warnings,
            [Warning::DuplicateUser {
                user: "alice".into(),
                rows: 2
            }]
        );
        assert!(r.warnings[0].to_string().contains("`alice` in 2 rows"));
    }

    #[test]
    fn rows_of_a_duplicate_user_with_equal_creation_times_resolve_to_the_later_row() {
        let later = ALICE.replacen("TRUE", "FALSE", 1);
        let r = parse(csv(&[ALICE, &later]).as_bytes()).unwrap();
        assert_eq!(r.users.len(), 1);
        assert_eq!(r.users[0].password_enabled, Some(false));
    }

    #[test]
    fn a_second_root_row_is_resolved_like_a_duplicate_user() {
        let older = ROOT.replace("2015-01-01T00:00:00+00:00", "2010-01-01T00:00:00+00:00");
        let r = parse(csv(&[ROOT, &older, ALICE]).as_bytes()).unwrap();
        assert_eq!(r.users.len(), 1);
        let root = r.root.as_ref().unwrap();
        assert_eq!(root.user_creation_time, Some(Date::At(1420070400)));
        assert_eq!(r.name(root), ROOT_USER);
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn times_with_z_and_with_offset_are_the_same_instant() {
        assert_eq!(
            parse_time("2020-01-01T00:00:00Z"),
            parse_time("2020-01-01T00:00:00+00:00")
        );
        assert_eq!(parse_time("2020-01-01T02:00:00+02:00"), Some(1577836800));
        assert_eq!(parse_time("2020-01-01"), None);
    }

    #[test]
    fn booleans_are_read_in_any_case() {
        let r = parse(csv(&[ALICE]).as_bytes()).unwrap();
        assert_eq!(r.users[0].access_keys[1].active, Some(true));
        assert_eq!(r.users[0].mfa_active, Some(false));
        let lower = ALICE.replace("TRUE", "true").replace("FALSE", "false");
        assert_eq!(parse(csv(&[&lower]).as_bytes()).unwrap().users, r.users);
    }

    #[test]
    fn columns_are_read_by_name_whatever_their_order_and_extra_columns() {
        // Reverse the header and every row, and add a column AWS might add one day.
        let rev = |line: &str| {
            let mut f: Vec<&str> = line.split(',').collect();
            f.reverse();
            f.push("extra");
            f.join(",")
        };
        let body = format!(
            "{}\n{}\n{}\n",
            rev(HEADER).replace(",extra", ",some_new_column"),
            rev(ROOT),
            rev(ALICE)
        );
        let straight = parse(csv(&[ROOT, ALICE]).as_bytes()).unwrap();
        assert_eq!(parse(body.as_bytes()).unwrap(), straight);
    }

    #[test]
    fn crlf_line_endings_and_a_byte_order_mark_are_accepted() {
        let body = format!("\u{feff}{}", csv(&[ROOT, ALICE]).replace('\n', "\r\n"));
        let r = parse(body.as_bytes()).unwrap();
        assert_eq!(r.users.len(), 1);
        assert!(r.root.is_some());
    }

    #[test]
    fn quoted_names_with_commas_are_one_field() {
        let row = ALICE
            .replacen("alice", "\"a,lice\"", 1)
            .replace("user/alice", "user/a,lice");
        let row = row.replacen(
            "arn:aws:iam::123456789012:user/a,lice",
            "\"arn:aws:iam::123456789012:user/a,lice\"",
            1,
        );
        let r = parse(csv(&[&row]).as_bytes()).unwrap();
        assert_eq!(r.name(&r.users[0]), "a,lice");
        assert_eq!(r.users[0].access_keys[1].active, Some(true));
    }

    #[test]
    fn a_missing_required_column_is_named() {
        // `user` is the one column a report cannot do without (issue 15 A2).
        let body = csv(&[ALICE]).replace("user,arn", "username,arn");
        assert_eq!(
            parse(body.as_bytes()),
            Err(ParseError::MissingColumn("user"))
        );
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/reports/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_public_custodian_report_with_a_user_listed_twice_serves_the_last_row() {
        let r = parse(&fixture("custodian-duplicate-user.csv")).unwrap();
        assert_eq!(r.users.len(), 19);
        let chris: Vec<_> = r
            .users
            .iter()
            .filter(|u| r.name(u) == "christopher")
            .collect();
        assert_eq!(chris.len(), 1);
        // Same creation time in both rows: the later one (key 1 active, password used) wins.
        assert_eq!(chris[0].access_keys[0].active, Some(true));
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn a_column_missing_from_the_header_makes_its_facts_unknown() {
        let header: Vec<&str> = HEADER.split(',').filter(|c| *c != "mfa_active").collect();
        let row: Vec<&str> = ALICE
            .split(',')
            .enumerate()
            .filter(|(i, _)| *i != 7)
            .map(|(_, v)| v)
            .collect();
        let r = parse(format!("{}\n{}\n", header.join(","), row.join(",")).as_bytes()).unwrap();
        assert_eq!(r.users[0].mfa_active, None);
        assert_eq!(r.users[0].password_enabled, Some(true));
    }

    #[test]
    fn the_aws_2015_layout_without_last_used_columns_parses_with_last_use_unknown() {
        let r = parse(&fixture("aws-2015-16-columns.csv")).unwrap();
        assert_eq!(r.users.len(), 2);
        assert_eq!(r.account_id.as_deref(), Some("123456789012"));
        let admin = &r.users[0];
        assert_eq!(admin.active_access_keys(), Some(2));
        assert_eq!(admin.access_keys[0].last_used, None);
        assert_eq!(admin.password_last_used, Some(Date::At(1429543112)));
        let root = r.root.as_ref().unwrap();
        assert_eq!(root.mfa_active, Some(true));
        assert_eq!(root.certificates[1].active, Some(false));
    }

    #[test]
    fn a_14_column_subset_without_the_second_certificate_parses() {
        let r = parse(&fixture("aws-2015-14-columns.csv")).unwrap();
        assert_eq!(r.users.len(), 2);
        let root = r.root.as_ref().unwrap();
        assert_eq!(root.certificates[0].active, Some(false));
        assert_eq!(root.certificates[1].active, None);
    }

    #[test]
    fn the_cis_audit_cut_without_arn_parses_and_leaves_the_account_id_to_the_caller() {
        let r = parse(&fixture("cis-audit-6-columns.csv")).unwrap();
        assert_eq!(r.users.len(), 6);
        assert_eq!(r.account_id, None);
        let paras = r.users.iter().find(|u| r.name(u) == "paras").unwrap();
        assert_eq!(paras.active_access_keys(), Some(2));
        assert_eq!(paras.user_creation_time, None);
        assert_eq!(paras.access_keys[1].last_rotated, None);
    }

    #[test]
    fn certificate_columns_are_optional_and_unknown_when_missing() {
        let header: Vec<&str> = HEADER.split(',').take(18).collect();
        let row: Vec<&str> = ALICE.split(',').take(18).collect();
        let body = format!("{}\n{}\n", header.join(","), row.join(","));
        let r = parse(body.as_bytes()).unwrap();
        // Missing means unknown, not inactive: the root certificate control must not pass on it.
        assert_eq!(r.users[0].certificates[0].active, None);
    }

    #[test]
    fn a_bad_date_is_unknown_for_its_row_counted_and_named_by_line_and_column() {
        let row = ALICE.replace("2021-01-01T00:00:00Z", "yesterday");
        let r = parse(csv(&[ROOT, &row]).as_bytes()).unwrap();
        assert_eq!(r.users[0].access_keys[1].last_rotated, None);
        // The rest of the row is served.
        assert_eq!(r.users[0].access_keys[1].active, Some(true));
        assert_eq!(
            r.users[0].access_keys[0].last_rotated,
            Some(Date::At(1577836805))
        );
        assert_eq!(r.unparsed, [("access_key_2_last_rotated", 1)].into());
        let expected = ParseError::BadValue {
            line: 3,
            column: "access_key_2_last_rotated",
            problem: "`yesterday` is not an RFC 3339 time".into(),
        };
        assert_eq!(
            r.warnings,
            [Warning::Unparsed {
                column: "access_key_2_last_rotated",
                count: 1,
                first: expected.to_string(),
            }]
        );
        assert!(r.warnings[0].to_string().contains("line 3"));
    }

    #[test]
    fn a_bad_boolean_is_unknown_for_its_row_and_counted() {
        let row = ALICE.replacen("FALSE", "maybe", 1);
        let bob = ALICE.replace("alice", "bob").replacen("FALSE", "maybe", 1);
        let r = parse(csv(&[&row, &bob]).as_bytes()).unwrap();
        assert_eq!(r.users[0].mfa_active, None);
        assert_eq!(r.unparsed, [("mfa_active", 2)].into());
        // One warning per column, however many rows.
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn a_user_row_without_true_or_false_for_its_password_has_it_unknown_and_counted() {
        // `not_supported` is root's documented value, not a user's.
        let row = ALICE.replacen("TRUE", "not_supported", 1);
        let r = parse(csv(&[ROOT, &row]).as_bytes()).unwrap();
        assert_eq!(r.users[0].password_enabled, None);
        assert_eq!(r.users[0].mfa_active, Some(false));
        assert_eq!(r.unparsed, [("password_enabled", 1)].into());
        assert_eq!(r.root.unwrap().password_enabled, None);
    }

    #[test]
    fn an_unnamed_row_or_a_bad_arn_does_not_reject_the_report() {
        let unnamed = ALICE.replacen("alice", "", 1);
        let bad_arn = ALICE
            .replace("alice", "bob")
            .replace("arn:aws:iam::123456789012:user/bob", "arn:nope");
        let r = parse(csv(&[&unnamed, &bad_arn, ROOT]).as_bytes()).unwrap();
        assert_eq!(r.users.len(), 1);
        assert_eq!(r.account_id.as_deref(), Some("123456789012"));
        assert_eq!(r.unparsed, [("arn", 1), ("user", 1)].into());
    }

    #[test]
    fn an_echoed_value_is_cut() {
        let long = "x".repeat(10_000);
        let row = ALICE.replacen("FALSE", &long, 1);
        let r = parse(csv(&[&row]).as_bytes()).unwrap();
        assert!(r.warnings[0].to_string().len() < 400, "{}", r.warnings[0]);
    }

    #[test]
    fn short_rows_and_non_csv_bodies_are_errors() {
        let short = format!("{HEADER}\nalice,arn:aws:iam::123456789012:user/alice\n");
        assert!(matches!(
            parse(short.as_bytes()),
            Err(ParseError::NotCsv(_))
        ));
        assert_eq!(
            parse(b"<html>Access denied</html>"),
            Err(ParseError::MissingColumn("user"))
        );
        assert_eq!(parse(b"  \n"), Err(ParseError::Empty));
    }

    #[test]
    fn two_accounts_in_one_report_are_refused() {
        let other = ALICE
            .replace("123456789012", "999999999999")
            .replacen("alice", "bob", 1);
        assert_eq!(
            parse(csv(&[ALICE, &other]).as_bytes()),
            Err(ParseError::MixedAccounts(
                "123456789012".into(),
                "999999999999".into()
            ))
        );
    }

    #[test]
    fn a_report_with_only_a_header_has_no_users_and_no_account() {
        let r = parse(format!("{HEADER}\n").as_bytes()).unwrap();
        assert!(r.users.is_empty() && r.root.is_none() && r.account_id.is_none());
    }

    #[test]
    fn moto_not_supported_values_parse() {
        let moto = "bob,arn:aws:iam::123456789012:user/bob,2024-01-01T00:00:00+00:00,false,not_supported,not_supported,not_supported,false,true,2024-01-01T00:00:00+00:00,N/A,not_supported,not_supported,false,N/A,N/A,not_supported,not_supported,false,N/A,false,N/A";
        let r = parse(csv(&[moto]).as_bytes()).unwrap();
        assert_eq!(r.users[0].password_last_used, Some(Date::NotSupported));
        assert_eq!(r.users[0].password_enabled, Some(false));
    }

    #[test]
    fn cli_json_is_detected_and_decoded() {
        let body = csv(&[ROOT, ALICE]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
        let json = format!(
            r#"{{"Content": "{b64}", "ReportFormat": "text/csv", "GeneratedTime": "2024-06-01T12:00:00+00:00"}}"#
        );
        let doc = decode_document(json.as_bytes(), 1 << 20).unwrap();
        assert_eq!(doc.csv, body.as_bytes());
        assert_eq!(doc.generated, Some(1717243200));
        let plain = decode_document(body.as_bytes(), 1 << 20).unwrap();
        assert_eq!(plain.generated, None);
    }

    #[test]
    fn bare_base64_as_the_cli_prints_it_is_detected_and_decoded() {
        let body = csv(&[ROOT, ALICE]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
        let doc = decode_document(format!("{b64}\n").as_bytes(), 1 << 20).unwrap();
        assert_eq!(doc.csv, body.as_bytes());
        assert_eq!(doc.generated, None);
        // Wrapped by a terminal copy, still one report.
        let wrapped: Vec<String> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let doc = decode_document(wrapped.join("\r\n").as_bytes(), 1 << 20).unwrap();
        assert_eq!(parse(&doc.csv).unwrap().users.len(), 1);
    }

    #[test]
    fn bad_base64_and_bad_json_are_named() {
        let err = decode_document(br#"{"Content": "!!!"}"#, 1024).unwrap_err();
        assert!(matches!(err, ParseError::BadBase64(_)), "{err}");
        let err = decode_document(br#"{"Contents": "x"}"#, 1024).unwrap_err();
        assert!(err.to_string().contains("Content"), "{err}");
        let err =
            decode_document(br#"{"Content": "", "ReportFormat": "text/xml"}"#, 1024).unwrap_err();
        assert!(err.to_string().contains("text/xml"), "{err}");
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        assert_eq!(
            decode_document(&[b'a'; 100], 10),
            Err(ParseError::TooLarge {
                size: 100,
                limit: 10
            })
        );
    }

    #[test]
    fn arn_account_ids_are_checked() {
        assert_eq!(
            account_of_arn("arn:aws:iam::123456789012:user/a:b"),
            Some("123456789012")
        );
        assert_eq!(
            account_of_arn("arn:aws-us-gov:iam::123456789012:root"),
            Some("123456789012")
        );
        assert_eq!(account_of_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(account_of_arn("arn:aws:iam::12345:root"), None);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
                let _ = parse(&bytes);
                let _ = decode_document(&bytes, 4096);
            }

            #[test]
            fn arbitrary_fields_in_a_valid_header_never_panic(
                rows in proptest::collection::vec(
                    proptest::collection::vec("[a-zA-Z0-9_:/+,.@\"\\- <>]{0,30}", 0..25), 0..8)
            ) {
                let mut body = String::from(super::HEADER);
                for row in rows {
                    body.push('\n');
                    body.push_str(&row.join(","));
                }
                let _ = parse(body.as_bytes());
            }

            #[test]
            fn arbitrary_json_content_never_panics(content in "\\PC{0,200}", time in "\\PC{0,40}") {
                let json = serde_json::json!({"Content": content, "GeneratedTime": time}).to_string();
                let _ = decode_document(json.as_bytes(), 1 << 16);
            }
        }
    }
}
