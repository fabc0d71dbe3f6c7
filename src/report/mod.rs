//! PURE: bytes of an IAM credential report -> [`CredentialReport`].
//!
//! First stage of the pipeline (`report` -> `posture` -> `exposition`). No I/O, no clock, no AWS
//! types: the live source hands us the decoded `Content` blob, the offline source the file bytes.
//!
//! The format is documented in the IAM user guide ("Getting credential reports"): a CSV with one
//! row per IAM user plus `<root_account>`. Columns are read by header name, never by position,
//! because AWS has added columns before and moto orders nothing differently but might.
//!
//! Reports come as they come: only `user` is required (a missing column leaves its facts
//! unknown), a value that fits no known form is unknown for its row and counted
//! ([`CredentialReport::unparsed`]), and a user listed twice is served once. Those oddities are
//! returned as [`Warning`]s for the caller to log. Only structural damage (not CSV, no header,
//! no `user` column, two accounts) rejects a report.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::text::cut;

mod columns;
mod dates;
mod document;
mod root_only;

pub use columns::OPTIONAL_COLUMNS;
use columns::{COLUMNS, Col, Layout};

pub use dates::parse_time;
#[cfg(test)]
pub use document::decode_document;
pub use document::{ReportDocument, decode_document_owned};

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
    /// Byte range of the `arn` column there (empty when absent or not an IAM ARN); a user's
    /// name is the tail of it, so the ARN costs only its prefix.
    arn: Range<u32>,
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
    /// Root alone, read without a report ([`CredentialReport::root_only`]): the IAM users are
    /// unknown, not none.
    pub root_only: bool,
    /// The columns of [`OPTIONAL_COLUMNS`] the header lacks, in that order: their facts are
    /// unknown for every row (the caller says which, once).
    pub missing_columns: Vec<&'static str>,
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

    /// The `arn` of a row of this report (`arn:aws:iam::123456789012:user/path/name`), when
    /// the report has that column and it holds an IAM ARN.
    pub fn arn(&self, row: &Row) -> Option<&str> {
        self.names
            .get(row.arn.start as usize..row.arn.end as usize)
            .filter(|a| !a.is_empty())
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// A data row: split line by line ([`read_plain`]), or read by the csv crate as bytes, checked
/// as UTF-8 field by field so that only an odd field is unknown.
enum Record<'r> {
    Plain(&'r [&'r str]),
    Bytes(&'r csv::ByteRecord),
}

impl Record<'_> {
    fn len(&self) -> usize {
        match self {
            Record::Plain(r) => r.len(),
            Record::Bytes(r) => r.len(),
        }
    }
}

/// One data row being read: the record plus where its columns are.
struct Fields<'r> {
    record: Record<'r>,
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
        let too_few = || ParseError::BadValue {
            line: self.line,
            column: COLUMNS[slot].1,
            problem: format!("row has {} fields, too few", self.record.len()),
        };
        let text = match &self.record {
            Record::Plain(r) => r.get(pos).copied().ok_or_else(too_few)?,
            Record::Bytes(r) => std::str::from_utf8(r.get(pos).ok_or_else(too_few)?)
                .map_err(|_| self.bad(col, "not UTF-8".into()))?,
        };
        Ok(Some(trim(text)))
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
                format!("`{}` is not true, false, N/A or not_supported", cut(v, 64)),
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
            .ok_or_else(|| self.bad(col, format!("`{}` is not an RFC 3339 time", cut(v, 64))))
    }
}

/// `str::trim`, without its Unicode walk for the usual field that starts and ends with a
/// visible ASCII character.
fn trim(v: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic());
    let bytes = v.as_bytes();
    if visible(bytes.first()) && visible(bytes.last()) {
        v
    } else {
        v.trim()
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
    // AWS writes UTF-8 lines ended by `\n`, and quotes only a field with a comma in it (IAM
    // names may hold commas, never quotes): such rows are split on commas, several times faster
    // than by the CSV state machine. The csv crate reads everything else, and has the last word
    // on any row that does not split into as many fields as the header.
    let plain = std::str::from_utf8(body)
        .ok()
        .filter(|text| !text.contains('\r'));
    let (report, odd) = match plain.and_then(read_plain) {
        Some(read) => read?,
        None => read_csv(body)?,
    };
    Ok(settle(report, odd))
}

/// The rows as read -> the report: odd values become warnings, duplicate users are dropped,
/// root is taken out.
fn settle(mut report: CredentialReport, mut odd: Unparsed) -> CredentialReport {
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
    report
}

/// An empty report with the layout's missing columns.
///
/// NB: nothing is reserved from a count of the input (its lines, its bytes): a report of 60
/// million blank lines once reserved 12 GB for rows it did not have. The rows and names grow
/// with the rows actually read (blank lines cost nothing), doubling as a `Vec` does.
fn report_for(layout: &Layout) -> CredentialReport {
    CredentialReport {
        missing_columns: layout.missing().collect(),
        ..CredentialReport::default()
    }
}

/// The rows of a report without carriage returns, line by line (blank lines skipped, as the
/// csv crate skips them), each split by [`split_line`]. `None` when a line does not split that
/// way or a row's field count differs from the header's: the csv crate then reads the report
/// and names any error.
fn read_plain(text: &str) -> Option<Result<(CredentialReport, Unparsed), ParseError>> {
    let mut lines = (1u64..)
        .zip(text.split('\n'))
        .filter(|(_, l)| !l.is_empty());
    let (_, header) = lines.next()?;
    let mut fields = Vec::new();
    if !split_line(header, &mut fields) {
        return None;
    }
    let columns = fields.len();
    let layout = match Layout::from_header(fields.iter().map(|f| f.as_bytes())) {
        Ok(layout) => layout,
        Err(e) => return Some(Err(e)),
    };
    let mut report = report_for(&layout);
    let mut odd = Unparsed::default();
    for (line, row) in lines {
        fields.clear();
        if !split_line(row, &mut fields) || fields.len() != columns {
            return None;
        }
        let fields = Fields {
            record: Record::Plain(&fields),
            layout: &layout,
            line,
        };
        if let Err(e) = parse_row(&fields, &mut report, &mut odd) {
            return Some(Err(e));
        }
    }
    Some(Ok((report, odd)))
}

/// Splits a line on commas into `fields`. A field may be quoted (`"smith,john"`) when it holds
/// no quote itself; `false` for any other use of quotes (an escaped `""`, a quote inside a
/// field, a field continued on the next line), which the csv crate reads instead.
fn split_line<'a>(line: &'a str, fields: &mut Vec<&'a str>) -> bool {
    let start = fields.len();
    let mut from = 0;
    for at in memchr::memchr2_iter(b',', b'"', line.as_bytes()) {
        if line.as_bytes()[at] == b'"' {
            fields.truncate(start);
            return split_quoted(line, fields);
        }
        fields.push(&line[from..at]);
        from = at + 1;
    }
    fields.push(&line[from..]);
    true
}

/// [`split_line`] for a line with quotes.
fn split_quoted<'a>(mut line: &'a str, fields: &mut Vec<&'a str>) -> bool {
    loop {
        if let Some(quoted) = line.strip_prefix('"') {
            let Some(end) = quoted.find('"') else {
                return false;
            };
            fields.push(&quoted[..end]);
            let after = &quoted[end + 1..];
            match after.strip_prefix(',') {
                Some(rest) => line = rest,
                None => return after.is_empty(),
            }
        } else {
            let end = line.find(',').unwrap_or(line.len());
            let field = &line[..end];
            if field.contains('"') {
                return false;
            }
            fields.push(field);
            match line.get(end + 1..) {
                Some(rest) => line = rest,
                None => return true,
            }
        }
    }
}

/// The rows of any report, by the csv crate (quotes, CRLF, fields that are not UTF-8).
fn read_csv(body: &[u8]) -> Result<(CredentialReport, Unparsed), ParseError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(body);
    let header = reader
        .byte_headers()
        .map_err(|e| ParseError::NotCsv(e.to_string()))?
        .clone();
    let layout = Layout::from_header(header.iter())?;
    let mut report = report_for(&layout);
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
            record: Record::Bytes(&record),
            layout: &layout,
            line,
        };
        parse_row(&fields, &mut report, &mut odd)?;
    }
    Ok((report, odd))
}

/// Keeps one row per user name (see [`parse`] for which), in report order, and warns once per
/// duplicated name. No allocation per user: names are borrowed, row indices sorted.
fn drop_duplicate_users(report: &mut CredentialReport) {
    let users = &report.users;
    let name = |i: usize| report.name(&users[i]);
    // Reports almost never list a user twice: one hash pass says so, and the sort below (a
    // sixth of the parsing time at 5,000 users) runs only when it is needed.
    let mut seen = std::collections::HashSet::with_capacity(users.len());
    if users.iter().all(|u| seen.insert(report.name(u))) {
        return;
    }
    let mut order: Vec<usize> = (0..users.len()).collect();
    // Index last: a total order, so the unstable sort is deterministic.
    order.sort_unstable_by(|&a, &b| name(a).cmp(name(b)).then(a.cmp(&b)));
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
    let arn = odd.soft(f.get(Col::Arn));
    if let Some(arn) = arn {
        match (crate::arn::iam_account(arn), report.account_id.as_deref()) {
            (Some(id), None) => report.account_id = Some(id.to_owned()),
            // Two accounts in one report is not an odd value: every series would be misfiled.
            (Some(id), Some(known)) if id != known => {
                return Err(ParseError::MixedAccounts(known.to_owned(), id.to_owned()));
            }
            (Some(_), Some(_)) => {}
            (None, _) => odd.record(
                "arn",
                f.bad(Col::Arn, format!("`{}` is not an IAM ARN", cut(arn, 64)))
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
                        format!("`{}`: a user row must say true or false", cut(v, 64)),
                    )
                    .to_string(),
                );
            }
            None
        }
        other => odd.soft(other),
    };
    let (name, arn) = push_name_and_arn(
        &mut report.names,
        user,
        arn.filter(|a| crate::arn::iam_account(a).is_some()),
    );
    let row = Row {
        name,
        arn,
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

/// Appends a row's ARN and user name to `names`; returns their ranges. A user's ARN ends with
/// `/` and the name (`arn:aws:iam::123456789012:user/ci/ci,runner`), which is then not stored
/// twice.
fn push_name_and_arn(
    names: &mut String,
    user: &str,
    arn: Option<&str>,
) -> (Range<u32>, Range<u32>) {
    let start = names.len();
    let Some(arn) = arn else {
        names.push_str(user);
        return (to_u32(start)..to_u32(names.len()), 0..0);
    };
    names.push_str(arn);
    let arn_range = to_u32(start)..to_u32(names.len());
    let shared = arn
        .strip_suffix(user)
        .is_some_and(|prefix| prefix.ends_with('/'));
    if shared {
        return (to_u32(names.len() - user.len())..arn_range.end, arn_range);
    }
    let name_start = names.len();
    names.push_str(user);
    (to_u32(name_start)..to_u32(names.len()), arn_range)
}

/// Name offsets fit in u32: reports are capped far below 4 GiB by the size limit.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The header of a real report, the 22 documented columns in AWS order (tests share it).
#[cfg(test)]
pub(crate) const TEST_HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

#[cfg(test)]
mod tests;
