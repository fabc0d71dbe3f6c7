//! The IAM scenario server: an in-process HTTP server on 127.0.0.1 that
//! speaks IAM's and STS's AWS Query protocol (POST / with a form-urlencoded
//! `Action=...&Version=...` body, XML answers) like the real services, so the
//! real aws-sdk-iam / aws-sdk-sts (and the exporter, via AWS_ENDPOINT_URL)
//! parse its answers. The test changes its state while it runs: report
//! contents, account summary, faults, denied actions, ...; and reads the
//! per-action call counters.
//!
//! ```ignore
//! let s = Scenario::start();
//! s.set_report(ReportBuilder::new(ACCOUNT).root(RootRow { key1_active: true, ..Default::default() })
//!     .user(UserRow::new("alice").password(Some(days_ago(3))).mfa(true)).csv());
//! s.push_faults("GetCredentialReport", Fault::throttling(), 2);
//! let exporter = Exporter::start(&s.endpoint(), &["--refresh.interval=1s"]);
//! assert_eq!(s.calls("GenerateCredentialReport"), 1);
//! ```
//!
//! Accounts: requests signed with any access key not issued by AssumeRole
//! (e.g. `testing`) act on the default account (`DEFAULT_ACCOUNT`, or the id
//! given to [`Scenario::start_for`]). `sts:AssumeRole` into
//! `arn:aws:iam::<id>:role/<name>` succeeds when account `<id>` was created
//! with [`Scenario::account`] (and the role is not denied with
//! [`AccountHandle::deny_assume_role`] on the *target* account); the returned
//! credentials then act on that account.
//!
//! Supported actions: iam GetAccountSummary, GenerateCredentialReport,
//! GetCredentialReport, GetAccountPasswordPolicy, ListVirtualMFADevices
//! (AssignmentStatus, MaxItems/Marker paging); sts GetCallerIdentity,
//! AssumeRole. Anything else answers 400 InvalidAction.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The default account id.
pub const DEFAULT_ACCOUNT: &str = "123456789012";
pub const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

// ---------------------------------------------------------------------------
// Time helpers
// ---------------------------------------------------------------------------

/// Now (UTC), truncated to whole seconds (as in credential reports).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

/// `n` days before now.
pub fn days_ago(n: i64) -> OffsetDateTime {
    now() - time::Duration::days(n)
}

/// `n` seconds before now.
pub fn secs_ago(n: i64) -> OffsetDateTime {
    now() - time::Duration::seconds(n)
}

/// `2014-09-01T22:28:48+00:00` (the credential report's usual form).
pub fn fmt_report_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2014-09-01T22:28:48Z` (the XML timestamps' form; also seen in reports).
pub fn fmt_iso_z(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Unix seconds of a time.
pub fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// Parses an RFC 3339 time (test convenience).
pub fn parse_time(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("bad time {s}: {e}"))
}

// ---------------------------------------------------------------------------
// Credential report builder
// ---------------------------------------------------------------------------

/// The 22 documented columns, in order.
pub const REPORT_COLUMNS: [&str; 22] = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

/// The header line of a credential report (no newline).
pub fn report_header() -> String {
    REPORT_COLUMNS.join(",")
}

/// How times are written in the built report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeStyle {
    /// `2014-09-01T22:28:48+00:00` (real reports, moto)
    #[default]
    Offset,
    /// `2014-09-01T22:28:48Z`
    Z,
}

/// How booleans are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoolStyle {
    /// `true` / `false` (real reports)
    #[default]
    Lower,
    /// `TRUE` / `FALSE` (the documentation)
    Upper,
}

/// The root user's row (`<root_account>`). `password_enabled`,
/// `password_last_changed` and `password_next_rotation` are always
/// `not_supported`.
///
/// Rendering: `created` None → 3 years ago. `password_last_used` None →
/// `no_information`. Key N "exists" when active or `keyN_last_rotated` is set;
/// a key's last_rotated None → `created`; `keyN_last_used` None → `N/A` (with
/// region/service `N/A`), Some → the date with `us-east-1`/`iam` (override
/// with `keyN_last_used_region` / `_service`). Certificates alike.
#[derive(Debug, Clone, Default)]
pub struct RootRow {
    pub created: Option<OffsetDateTime>,
    pub password_last_used: Option<OffsetDateTime>,
    pub mfa_active: bool,
    pub key1_active: bool,
    pub key1_last_rotated: Option<OffsetDateTime>,
    pub key1_last_used: Option<OffsetDateTime>,
    pub key1_last_used_region: Option<String>,
    pub key1_last_used_service: Option<String>,
    pub key2_active: bool,
    pub key2_last_rotated: Option<OffsetDateTime>,
    pub key2_last_used: Option<OffsetDateTime>,
    pub key2_last_used_region: Option<String>,
    pub key2_last_used_service: Option<String>,
    pub cert1_active: bool,
    pub cert1_last_rotated: Option<OffsetDateTime>,
    pub cert2_active: bool,
    pub cert2_last_rotated: Option<OffsetDateTime>,
}

/// An IAM user's row. Rendering as for [`RootRow`], plus:
/// `password_enabled` false → `password_last_used`, `password_last_changed`,
/// `password_next_rotation` are `N/A`; true → last_used None is
/// `no_information`, last_changed None is `created`, next_rotation None `N/A`.
/// `arn` None → `arn:aws:iam::<account>:user<path><name>` (path default `/`).
#[derive(Debug, Clone, Default)]
pub struct UserRow {
    pub name: String,
    pub path: Option<String>,
    pub arn: Option<String>,
    pub created: Option<OffsetDateTime>,
    pub password_enabled: bool,
    pub password_last_used: Option<OffsetDateTime>,
    pub password_last_changed: Option<OffsetDateTime>,
    pub password_next_rotation: Option<OffsetDateTime>,
    pub mfa_active: bool,
    pub key1_active: bool,
    pub key1_last_rotated: Option<OffsetDateTime>,
    pub key1_last_used: Option<OffsetDateTime>,
    pub key1_last_used_region: Option<String>,
    pub key1_last_used_service: Option<String>,
    pub key2_active: bool,
    pub key2_last_rotated: Option<OffsetDateTime>,
    pub key2_last_used: Option<OffsetDateTime>,
    pub key2_last_used_region: Option<String>,
    pub key2_last_used_service: Option<String>,
    pub cert1_active: bool,
    pub cert1_last_rotated: Option<OffsetDateTime>,
    pub cert2_active: bool,
    pub cert2_last_rotated: Option<OffsetDateTime>,
}

impl UserRow {
    /// A user with no password, no MFA, no keys, created a year ago.
    pub fn new(name: &str) -> UserRow {
        UserRow {
            name: name.to_string(),
            ..Default::default()
        }
    }
    pub fn created(mut self, t: OffsetDateTime) -> Self {
        self.created = Some(t);
        self
    }
    /// Console password enabled; `last_used` None = never signed in.
    pub fn password(mut self, last_used: Option<OffsetDateTime>) -> Self {
        self.password_enabled = true;
        self.password_last_used = last_used;
        self
    }
    pub fn mfa(mut self, on: bool) -> Self {
        self.mfa_active = on;
        self
    }
    /// Active key 1 rotated at `rotated`, last used at `used` (None = never).
    pub fn key1(mut self, rotated: OffsetDateTime, used: Option<OffsetDateTime>) -> Self {
        self.key1_active = true;
        self.key1_last_rotated = Some(rotated);
        self.key1_last_used = used;
        self
    }
    /// Active key 2 rotated at `rotated`, last used at `used` (None = never).
    pub fn key2(mut self, rotated: OffsetDateTime, used: Option<OffsetDateTime>) -> Self {
        self.key2_active = true;
        self.key2_last_rotated = Some(rotated);
        self.key2_last_used = used;
        self
    }
    /// Inactive key 1 (exists, rotated at `rotated`).
    pub fn key1_inactive(mut self, rotated: OffsetDateTime) -> Self {
        self.key1_active = false;
        self.key1_last_rotated = Some(rotated);
        self
    }
}

struct Fmt {
    time: TimeStyle,
    bools: BoolStyle,
}

impl Fmt {
    fn t(&self, t: OffsetDateTime) -> String {
        match self.time {
            TimeStyle::Offset => fmt_report_time(t),
            TimeStyle::Z => fmt_iso_z(t),
        }
    }
    fn b(&self, b: bool) -> String {
        match (self.bools, b) {
            (BoolStyle::Lower, true) => "true".into(),
            (BoolStyle::Lower, false) => "false".into(),
            (BoolStyle::Upper, true) => "TRUE".into(),
            (BoolStyle::Upper, false) => "FALSE".into(),
        }
    }
    /// active, last_rotated, last_used_date, region, service
    #[allow(clippy::too_many_arguments)]
    fn key(
        &self,
        created: OffsetDateTime,
        active: bool,
        rotated: Option<OffsetDateTime>,
        used: Option<OffsetDateTime>,
        region: &Option<String>,
        service: &Option<String>,
    ) -> [String; 5] {
        let exists = active || rotated.is_some();
        let rotated = match (exists, rotated) {
            (_, Some(t)) => self.t(t),
            (true, None) => self.t(created),
            (false, None) => "N/A".into(),
        };
        match used {
            Some(u) if exists => [
                self.b(active),
                rotated,
                self.t(u),
                region.clone().unwrap_or_else(|| "us-east-1".into()),
                service.clone().unwrap_or_else(|| "iam".into()),
            ],
            _ => [
                self.b(active),
                rotated,
                "N/A".into(),
                "N/A".into(),
                "N/A".into(),
            ],
        }
    }
    fn cert(
        &self,
        created: OffsetDateTime,
        active: bool,
        rotated: Option<OffsetDateTime>,
    ) -> [String; 2] {
        let r = match (active, rotated) {
            (_, Some(t)) => self.t(t),
            (true, None) => self.t(created),
            (false, None) => "N/A".into(),
        };
        [self.b(active), r]
    }
}

/// Quotes a CSV field when needed (commas, quotes, newlines).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Builds realistic credential report CSVs.
#[derive(Debug, Clone)]
pub struct ReportBuilder {
    pub account_id: String,
    pub root: Option<RootRow>,
    pub users: Vec<UserRow>,
    /// Raw lines appended after the users (no newline), for malformed input.
    pub raw_lines: Vec<String>,
    pub time_style: TimeStyle,
    pub bool_style: BoolStyle,
    /// Line ending (`"\n"` by default).
    pub newline: String,
    /// End the last line with a newline (default true).
    pub trailing_newline: bool,
}

impl ReportBuilder {
    /// An empty report (header only) for `account_id`; add `.root(...)`.
    pub fn new(account_id: &str) -> ReportBuilder {
        ReportBuilder {
            account_id: account_id.to_string(),
            root: None,
            users: Vec::new(),
            raw_lines: Vec::new(),
            time_style: TimeStyle::default(),
            bool_style: BoolStyle::default(),
            newline: "\n".into(),
            trailing_newline: true,
        }
    }
    pub fn root(mut self, r: RootRow) -> Self {
        self.root = Some(r);
        self
    }
    pub fn user(mut self, u: UserRow) -> Self {
        self.users.push(u);
        self
    }
    pub fn users(mut self, us: impl IntoIterator<Item = UserRow>) -> Self {
        self.users.extend(us);
        self
    }
    pub fn time_style(mut self, s: TimeStyle) -> Self {
        self.time_style = s;
        self
    }
    pub fn bool_style(mut self, s: BoolStyle) -> Self {
        self.bool_style = s;
        self
    }
    pub fn crlf(mut self) -> Self {
        self.newline = "\r\n".into();
        self
    }

    fn root_fields(&self, f: &Fmt, r: &RootRow) -> Vec<String> {
        let created = r.created.unwrap_or_else(|| days_ago(3 * 365));
        let mut v = vec![
            "<root_account>".to_string(),
            format!("arn:aws:iam::{}:root", self.account_id),
            f.t(created),
            "not_supported".into(),
            r.password_last_used
                .map_or_else(|| "no_information".into(), |t| f.t(t)),
            "not_supported".into(),
            "not_supported".into(),
            f.b(r.mfa_active),
        ];
        v.extend(f.key(
            created,
            r.key1_active,
            r.key1_last_rotated,
            r.key1_last_used,
            &r.key1_last_used_region,
            &r.key1_last_used_service,
        ));
        v.extend(f.key(
            created,
            r.key2_active,
            r.key2_last_rotated,
            r.key2_last_used,
            &r.key2_last_used_region,
            &r.key2_last_used_service,
        ));
        v.extend(f.cert(created, r.cert1_active, r.cert1_last_rotated));
        v.extend(f.cert(created, r.cert2_active, r.cert2_last_rotated));
        v
    }

    fn user_fields(&self, f: &Fmt, u: &UserRow) -> Vec<String> {
        let created = u.created.unwrap_or_else(|| days_ago(365));
        let arn = u.arn.clone().unwrap_or_else(|| {
            format!(
                "arn:aws:iam::{}:user{}{}",
                self.account_id,
                u.path.as_deref().unwrap_or("/"),
                u.name
            )
        });
        let (last_used, last_changed, next_rotation) = if u.password_enabled {
            (
                u.password_last_used
                    .map_or_else(|| "no_information".into(), |t| f.t(t)),
                f.t(u.password_last_changed.unwrap_or(created)),
                u.password_next_rotation
                    .map_or_else(|| "N/A".into(), |t| f.t(t)),
            )
        } else {
            ("N/A".into(), "N/A".into(), "N/A".into())
        };
        let mut v = vec![
            u.name.clone(),
            arn,
            f.t(created),
            f.b(u.password_enabled),
            last_used,
            last_changed,
            next_rotation,
            f.b(u.mfa_active),
        ];
        v.extend(f.key(
            created,
            u.key1_active,
            u.key1_last_rotated,
            u.key1_last_used,
            &u.key1_last_used_region,
            &u.key1_last_used_service,
        ));
        v.extend(f.key(
            created,
            u.key2_active,
            u.key2_last_rotated,
            u.key2_last_used,
            &u.key2_last_used_region,
            &u.key2_last_used_service,
        ));
        v.extend(f.cert(created, u.cert1_active, u.cert1_last_rotated));
        v.extend(f.cert(created, u.cert2_active, u.cert2_last_rotated));
        v
    }

    /// The CSV text.
    pub fn csv(&self) -> String {
        let f = Fmt {
            time: self.time_style,
            bools: self.bool_style,
        };
        let mut lines = vec![report_header()];
        if let Some(r) = &self.root {
            lines.push(self.root_fields(&f, r).join(","));
        }
        for u in &self.users {
            let fields: Vec<String> = self
                .user_fields(&f, u)
                .iter()
                .map(|x| csv_field(x))
                .collect();
            lines.push(fields.join(","));
        }
        lines.extend(self.raw_lines.iter().cloned());
        let mut s = lines.join(&self.newline);
        if self.trailing_newline {
            s.push_str(&self.newline);
        }
        s
    }
}

// ---------------------------------------------------------------------------
// Scenario state
// ---------------------------------------------------------------------------

/// An injected answer for one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// An AWS Query `ErrorResponse` with this HTTP status.
    Error {
        status: u16,
        code: String,
        message: String,
        /// `Sender` or `Receiver`.
        kind: String,
    },
    /// Sleep this long, then answer normally (past the client's timeout the
    /// client has gone by then).
    Hang(Duration),
    /// A raw answer (e.g. a 502 HTML page, or malformed XML).
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
}

impl Fault {
    pub fn error(status: u16, code: &str, message: &str) -> Fault {
        Fault::Error {
            status,
            code: code.into(),
            message: message.into(),
            kind: if status >= 500 { "Receiver" } else { "Sender" }.into(),
        }
    }
    /// 400 Throttling (retried by the SDK).
    pub fn throttling() -> Fault {
        Fault::error(400, "Throttling", "Rate exceeded")
    }
    /// 403 AccessDenied.
    pub fn access_denied() -> Fault {
        Fault::error(
            403,
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/exporter is not authorized to perform this action",
        )
    }
    /// 500 ServiceFailure (retried by the SDK).
    pub fn service_failure() -> Fault {
        Fault::error(
            500,
            "ServiceFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }
    /// 404 ReportInProgress.
    pub fn report_in_progress() -> Fault {
        Fault::error(
            404,
            "ReportInProgress",
            "Report generation in progress. Try again later.",
        )
    }
    /// 410 ReportNotPresent.
    pub fn report_not_present() -> Fault {
        Fault::error(
            410,
            "ReportNotPresent",
            "Credential report not present. Use GenerateCredentialReport to generate a report.",
        )
    }
    /// 410 ReportExpired.
    pub fn report_expired() -> Fault {
        Fault::error(
            410,
            "ReportExpired",
            "Credential report has expired. Use GenerateCredentialReport to generate a new report.",
        )
    }
    /// 404 NoSuchEntity.
    pub fn no_such_entity() -> Fault {
        Fault::error(404, "NoSuchEntity", "The requested entity cannot be found.")
    }
    /// 409 LimitExceeded.
    pub fn limit_exceeded() -> Fault {
        Fault::error(
            409,
            "LimitExceeded",
            "Cannot exceed quota for credential report generation.",
        )
    }
    /// A 502 HTML page (not AWS XML).
    pub fn bad_gateway_html() -> Fault {
        Fault::Raw {
            status: 502,
            content_type: "text/html".into(),
            body: "<html><body><h1>502 Bad Gateway</h1></body></html>".into(),
        }
    }
    pub fn hang(d: Duration) -> Fault {
        Fault::Hang(d)
    }
}

/// An account password policy (`MaxPasswordAge`, `PasswordReusePrevention`,
/// `HardExpiry` are omitted from the XML when None, as AWS does).
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordPolicy {
    pub minimum_password_length: u32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase_characters: bool,
    pub require_lowercase_characters: bool,
    pub allow_users_to_change_password: bool,
    pub expire_passwords: bool,
    pub max_password_age: Option<u32>,
    pub password_reuse_prevention: Option<u32>,
    pub hard_expiry: Option<bool>,
}

impl Default for PasswordPolicy {
    /// A CIS-compliant policy: length 14, reuse 24, every class, 90 days.
    fn default() -> Self {
        PasswordPolicy {
            minimum_password_length: 14,
            require_symbols: true,
            require_numbers: true,
            require_uppercase_characters: true,
            require_lowercase_characters: true,
            allow_users_to_change_password: true,
            expire_passwords: true,
            max_password_age: Some(90),
            password_reuse_prevention: Some(24),
            hard_expiry: Some(false),
        }
    }
}

impl PasswordPolicy {
    /// AWS's minimal policy: length 8 (what "no policy" effectively means),
    /// nothing else.
    pub fn weak() -> Self {
        PasswordPolicy {
            minimum_password_length: 8,
            require_symbols: false,
            require_numbers: false,
            require_uppercase_characters: false,
            require_lowercase_characters: false,
            allow_users_to_change_password: false,
            expire_passwords: false,
            max_password_age: None,
            password_reuse_prevention: None,
            hard_expiry: None,
        }
    }
}

/// Who a virtual MFA device is assigned to.
#[derive(Debug, Clone, PartialEq)]
pub enum MfaUser {
    Root,
    User(String),
}

/// A virtual MFA device.
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualMfa {
    pub serial_number: String,
    /// None = unassigned.
    pub user: Option<MfaUser>,
    pub enable_date: Option<OffsetDateTime>,
}

impl VirtualMfa {
    /// The root user's virtual device (`arn:aws:iam::<id>:mfa/root-account-mfa-device`).
    pub fn root(account_id: &str) -> VirtualMfa {
        VirtualMfa {
            serial_number: format!("arn:aws:iam::{account_id}:mfa/root-account-mfa-device"),
            user: Some(MfaUser::Root),
            enable_date: Some(days_ago(100)),
        }
    }
    /// A user's device `arn:aws:iam::<id>:mfa/<user>`.
    pub fn user(account_id: &str, user: &str) -> VirtualMfa {
        VirtualMfa {
            serial_number: format!("arn:aws:iam::{account_id}:mfa/{user}"),
            user: Some(MfaUser::User(user.to_string())),
            enable_date: Some(days_ago(100)),
        }
    }
    /// An unassigned device.
    pub fn unassigned(account_id: &str, name: &str) -> VirtualMfa {
        VirtualMfa {
            serial_number: format!("arn:aws:iam::{account_id}:mfa/{name}"),
            user: None,
            enable_date: None,
        }
    }
}

/// One service-specific credential (ListServiceSpecificCredentials).
#[derive(Debug, Clone)]
pub struct ServiceCredentialRow {
    pub user: String,
    /// `bedrock.amazonaws.com`, `codecommit.amazonaws.com`, ...
    pub service: String,
    pub id: String,
    /// `Active`, `Inactive` or `Expired`, as AWS writes it.
    pub status: String,
    pub created: OffsetDateTime,
    pub expires: Option<OffsetDateTime>,
}

impl ServiceCredentialRow {
    /// An active Bedrock API key created `age_days` ago.
    pub fn bedrock(user: &str, id: &str, age_days: i64) -> ServiceCredentialRow {
        ServiceCredentialRow {
            user: user.into(),
            service: "bedrock.amazonaws.com".into(),
            id: id.into(),
            status: "Active".into(),
            created: days_ago(age_days),
            expires: None,
        }
    }
}

/// What ListOrganizationsFeatures answers (asked with the account's own credentials).
#[derive(Debug, Clone)]
pub struct OrganizationFeatures {
    pub organization_id: String,
    /// `RootCredentialsManagement`, `RootSessions`.
    pub enabled: Vec<String>,
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub action: String,
    pub params: BTreeMap<String, String>,
    /// Access key id from the Authorization header (if signed).
    pub access_key_id: Option<String>,
    /// Service from the credential scope (`iam`, `sts`).
    pub service: Option<String>,
}

/// The state of one account.
#[derive(Debug, Clone)]
pub struct AccountState {
    /// GetCallerIdentity's Arn for the account's own (non-assumed) credentials.
    pub caller_arn: String,
    pub caller_user_id: String,
    /// GetAccountSummary's SummaryMap (any key allowed, also unknown ones).
    pub summary: BTreeMap<String, i64>,
    /// The report CSV; None → GetCredentialReport answers ReportNotPresent.
    pub report_csv: Option<String>,
    pub report_generated: OffsetDateTime,
    /// GetCredentialReport's ReportFormat.
    pub report_format: String,
    /// How many more GenerateCredentialReport calls answer STARTED (first)
    /// or INPROGRESS before COMPLETE.
    pub generate_pending: u32,
    /// Whether a generation is running (STARTED was answered, not yet COMPLETE).
    pub generating: bool,
    /// While generating, GetCredentialReport answers ReportInProgress.
    pub report_in_progress_while_generating: bool,
    pub password_policy: Option<PasswordPolicy>,
    pub virtual_mfa: Vec<VirtualMfa>,
    /// ListVirtualMFADevices page size when the request has no MaxItems
    /// (None = everything in one page).
    pub virtual_mfa_page_size: Option<usize>,
    /// ListServiceSpecificCredentials (AllUsers) answers these.
    pub service_credentials: Vec<ServiceCredentialRow>,
    /// Its page size when the request has no MaxItems (None = one page).
    pub service_credentials_page_size: Option<usize>,
    /// ListOrganizationsFeatures; `None` answers AccountNotManagementOrDelegatedAdministrator.
    pub organization_features: Option<OrganizationFeatures>,
    /// Per action, the faults answering its next calls (FIFO).
    pub faults: HashMap<String, VecDeque<Fault>>,
    /// Actions that always answer 403 AccessDenied.
    pub denied: HashSet<String>,
    /// Role ARNs (in this account) that AssumeRole may not enter.
    pub deny_assume_role: HashSet<String>,
    /// Calls per action (every request, also failed ones).
    pub calls: HashMap<String, u64>,
}

impl AccountState {
    pub fn new(account_id: &str) -> AccountState {
        AccountState {
            caller_arn: format!("arn:aws:iam::{account_id}:user/exporter"),
            caller_user_id: "AIDAEXPORTEREXAMPLE1".into(),
            summary: default_summary(0),
            report_csv: Some(
                ReportBuilder::new(account_id)
                    .root(RootRow::default())
                    .csv(),
            ),
            report_generated: secs_ago(60),
            report_format: "text/csv".into(),
            generate_pending: 0,
            generating: false,
            report_in_progress_while_generating: false,
            password_policy: None,
            virtual_mfa: Vec::new(),
            virtual_mfa_page_size: None,
            service_credentials: Vec::new(),
            service_credentials_page_size: None,
            organization_features: Some(OrganizationFeatures {
                organization_id: "o-a1b2c3d4e5".into(),
                enabled: vec!["RootCredentialsManagement".into(), "RootSessions".into()],
            }),
            faults: HashMap::new(),
            denied: HashSet::new(),
            deny_assume_role: HashSet::new(),
            calls: HashMap::new(),
        }
    }
}

/// A realistic SummaryMap for an account with `users` users.
pub fn default_summary(users: i64) -> BTreeMap<String, i64> {
    [
        ("AccessKeysPerUserQuota", 2),
        ("AccountAccessKeysPresent", 0),
        ("AccountMFAEnabled", 1),
        ("AccountPasswordPresent", 1),
        ("AccountSigningCertificatesPresent", 0),
        ("AssumeRolePolicySizeQuota", 2048),
        ("AttachedPoliciesPerGroupQuota", 10),
        ("AttachedPoliciesPerRoleQuota", 10),
        ("AttachedPoliciesPerUserQuota", 10),
        ("GlobalEndpointTokenVersion", 1),
        ("GroupPolicySizeQuota", 5120),
        ("Groups", 2),
        ("GroupsPerUserQuota", 10),
        ("GroupsQuota", 300),
        ("InstanceProfiles", 0),
        ("InstanceProfilesQuota", 1000),
        ("MFADevices", 1),
        ("MFADevicesInUse", 1),
        ("Policies", 3),
        ("PoliciesQuota", 1500),
        ("PolicySizeQuota", 6144),
        ("PolicyVersionsInUse", 5),
        ("PolicyVersionsInUseQuota", 10000),
        ("Providers", 0),
        ("RolePolicySizeQuota", 10240),
        ("Roles", 4),
        ("RolesQuota", 1000),
        ("ServerCertificates", 0),
        ("ServerCertificatesQuota", 20),
        ("SigningCertificatesPerUserQuota", 2),
        ("UserPolicySizeQuota", 2048),
        ("Users", users),
        ("UsersQuota", 5000),
        ("VersionsPerPolicyQuota", 5),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Credentials issued by AssumeRole.
#[derive(Debug, Clone)]
pub struct IssuedCredentials {
    pub account_id: String,
    pub role_arn: String,
    pub session_name: String,
}

/// The whole server state (all accounts).
#[derive(Debug)]
pub struct ScenarioState {
    pub default_account: String,
    pub accounts: BTreeMap<String, AccountState>,
    /// Access key id → the AssumeRole session it belongs to.
    pub issued: HashMap<String, IssuedCredentials>,
    pub requests: Vec<RecordedRequest>,
    /// Keep at most this many requests in `requests` (oldest dropped).
    pub max_recorded: usize,
    next_key: u64,
}

impl ScenarioState {
    fn new(default_account: &str) -> ScenarioState {
        let mut accounts = BTreeMap::new();
        accounts.insert(
            default_account.to_string(),
            AccountState::new(default_account),
        );
        ScenarioState {
            default_account: default_account.to_string(),
            accounts,
            issued: HashMap::new(),
            requests: Vec::new(),
            max_recorded: 100_000,
            next_key: 1,
        }
    }

    /// The account (created with defaults if new).
    pub fn account_mut(&mut self, id: &str) -> &mut AccountState {
        self.accounts
            .entry(id.to_string())
            .or_insert_with(|| AccountState::new(id))
    }
}

// ---------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------

/// Test-side view of one account of a running [`Scenario`].
#[derive(Clone)]
pub struct AccountHandle {
    state: Arc<Mutex<ScenarioState>>,
    id: String,
}

impl AccountHandle {
    /// Runs `f` on this account's state under the lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut AccountState) -> R) -> R {
        let mut st = self.state.lock().unwrap();
        f(st.account_mut(&self.id))
    }

    /// Sets the report CSV (and GeneratedTime = now).
    pub fn set_report(&self, csv: impl Into<String>) {
        let csv = csv.into();
        self.with(|a| {
            a.report_csv = Some(csv);
            a.report_generated = now();
        });
    }
    pub fn set_report_generated(&self, t: OffsetDateTime) {
        self.with(|a| a.report_generated = t);
    }
    /// The next `n` GenerateCredentialReport calls answer STARTED, then
    /// INPROGRESS..., before COMPLETE.
    pub fn set_generate_pending(&self, n: u32) {
        self.with(|a| a.generate_pending = n);
    }
    pub fn set_summary(&self, key: &str, value: i64) {
        self.with(|a| {
            a.summary.insert(key.to_string(), value);
        });
    }
    pub fn set_summary_map(&self, map: BTreeMap<String, i64>) {
        self.with(|a| a.summary = map);
    }
    /// None → GetAccountPasswordPolicy answers 404 NoSuchEntity.
    pub fn set_password_policy(&self, p: Option<PasswordPolicy>) {
        self.with(|a| a.password_policy = p);
    }
    pub fn add_virtual_mfa(&self, d: VirtualMfa) {
        self.with(|a| a.virtual_mfa.push(d));
    }
    pub fn set_virtual_mfa(&self, ds: Vec<VirtualMfa>) {
        self.with(|a| a.virtual_mfa = ds);
    }
    pub fn set_service_credentials(&self, cs: Vec<ServiceCredentialRow>) {
        self.with(|a| a.service_credentials = cs);
    }
    pub fn set_organization_features(&self, f: Option<OrganizationFeatures>) {
        self.with(|a| a.organization_features = f);
    }
    /// The next `n` calls of `action` answer with `fault`.
    pub fn push_faults(&self, action: &str, fault: Fault, n: usize) {
        self.with(|a| {
            let q = a.faults.entry(action.to_string()).or_default();
            for _ in 0..n {
                q.push_back(fault.clone());
            }
        });
    }
    /// Drops all pending faults.
    pub fn clear_faults(&self) {
        self.with(|a| a.faults.clear());
    }
    /// `action` answers 403 AccessDenied until [`AccountHandle::allow`].
    pub fn deny(&self, action: &str) {
        self.with(|a| {
            a.denied.insert(action.to_string());
        });
    }
    pub fn allow(&self, action: &str) {
        self.with(|a| {
            a.denied.remove(action);
        });
    }
    /// AssumeRole into `role_arn` (a role of this account) answers AccessDenied.
    pub fn deny_assume_role(&self, role_arn: &str) {
        self.with(|a| {
            a.deny_assume_role.insert(role_arn.to_string());
        });
    }
    /// Calls of `action` on this account so far.
    pub fn calls(&self, action: &str) -> u64 {
        self.with(|a| a.calls.get(action).copied().unwrap_or(0))
    }
    /// All calls on this account so far.
    pub fn total_calls(&self) -> u64 {
        self.with(|a| a.calls.values().sum())
    }
    /// Calls per action.
    pub fn all_calls(&self) -> BTreeMap<String, u64> {
        self.with(|a| a.calls.iter().map(|(k, v)| (k.clone(), *v)).collect())
    }
    pub fn reset_calls(&self) {
        self.with(|a| a.calls.clear());
    }
}

/// A running scenario server; stopped on drop. Derefs to the default
/// account's [`AccountHandle`], so `s.set_report(..)`, `s.calls(..)` work.
pub struct Scenario {
    state: Arc<Mutex<ScenarioState>>,
    default: AccountHandle,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::ops::Deref for Scenario {
    type Target = AccountHandle;
    fn deref(&self) -> &AccountHandle {
        &self.default
    }
}

impl Scenario {
    /// Calls of `action` summed over all accounts.
    pub fn calls_all_accounts(&self, action: &str) -> u64 {
        self.state
            .lock()
            .unwrap()
            .accounts
            .values()
            .map(|a| a.calls.get(action).copied().unwrap_or(0))
            .sum()
    }

    /// Starts a server for [`DEFAULT_ACCOUNT`] on 127.0.0.1:free port.
    pub fn start() -> Scenario {
        Self::start_for(DEFAULT_ACCOUNT)
    }

    /// Starts a server whose default account is `account_id`.
    pub fn start_for(account_id: &str) -> Scenario {
        Self::start_on(account_id, 0)
    }

    /// Starts on a given port (0 = any free port).
    pub fn start_on(account_id: &str, port: u16) -> Scenario {
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind scenario server");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(ScenarioState::new(account_id)));
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::Builder::new()
            .name(format!("scenario-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    loop {
                        tokio::select! {
                            _ = &mut rx => break,
                            acc = listener.accept() => {
                                let Ok((stream, _)) = acc else { continue };
                                let st = st.clone();
                                tokio::spawn(async move {
                                    let svc = service_fn(move |req| handle(st.clone(), req));
                                    let _ = hyper::server::conn::http1::Builder::new()
                                        .serve_connection(TokioIo::new(stream), svc)
                                        .await;
                                });
                            }
                        }
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(200));
            })
            .expect("spawn scenario thread");
        let default = AccountHandle {
            state: state.clone(),
            id: account_id.to_string(),
        };
        Scenario {
            state,
            default,
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` (AWS_ENDPOINT_URL / endpoint_url).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A handle on account `id` (created with defaults if new; AssumeRole
    /// into it then succeeds).
    pub fn account(&self, id: &str) -> AccountHandle {
        self.state.lock().unwrap().account_mut(id);
        AccountHandle {
            state: self.state.clone(),
            id: id.to_string(),
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Waits until `action` was called at least `n` times on the default
    /// account; returns false on timeout.
    pub fn wait_calls(&self, action: &str, n: u64, timeout: Duration) -> bool {
        super::poll_until(timeout, || (self.calls(action) >= n).then_some(())).is_some()
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------
// Protocol
// ---------------------------------------------------------------------------

fn percent_decode(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                match (
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses an `application/x-www-form-urlencoded` body (or query string).
pub fn parse_form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// XML-escapes text.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("5c2f8c2e-0000-4000-8000-{n:012x}")
}

type Resp = Response<Full<Bytes>>;

fn xml_response(status: u16, body: String) -> Resp {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "text/xml")
        .header("x-amzn-requestid", request_id())
        .body(Full::new(Bytes::from(body)))
        .expect("response")
}

/// One page of `items` as IAM pages them: `Marker` is `marker-<start>`, the page size is the
/// request's `MaxItems`, else `default_page`, else everything. Returns the page and the next
/// marker, if any.
fn page_of<'a, T>(
    params: &BTreeMap<String, String>,
    default_page: Option<usize>,
    items: &'a [T],
) -> (&'a [T], Option<String>) {
    let start: usize = params
        .get("Marker")
        .and_then(|m| m.strip_prefix("marker-"))
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let page = params
        .get("MaxItems")
        .and_then(|m| m.parse::<usize>().ok())
        .into_iter()
        .chain(default_page)
        .min()
        .unwrap_or(usize::MAX)
        .max(1);
    let end = start.saturating_add(page).min(items.len());
    let next = (end < items.len()).then(|| format!("marker-{end}"));
    (items.get(start..end).unwrap_or(&[]), next)
}

fn ok_xml(action: &str, xmlns: &str, result: &str) -> Resp {
    let rid = request_id();
    xml_response(
        200,
        format!(
            "<{action}Response xmlns=\"{xmlns}\">\n  <{action}Result>{result}</{action}Result>\n  \
             <ResponseMetadata>\n    <RequestId>{rid}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n"
        ),
    )
}

/// The real AWS Query error shape.
pub fn error_xml(xmlns: &str, kind: &str, code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{xmlns}\">\n  <Error>\n    <Type>{}</Type>\n    <Code>{}</Code>\n    \
         <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        xml_escape(kind),
        xml_escape(code),
        xml_escape(message),
        request_id()
    )
}

fn error_response(xmlns: &str, status: u16, kind: &str, code: &str, message: &str) -> Resp {
    xml_response(status, error_xml(xmlns, kind, code, message))
}

fn fault_response(xmlns: &str, f: &Fault) -> Resp {
    match f {
        Fault::Error {
            status,
            code,
            message,
            kind,
        } => error_response(xmlns, *status, kind, code, message),
        Fault::Raw {
            status,
            content_type,
            body,
        } => Response::builder()
            .status(StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY))
            .header("content-type", content_type.as_str())
            .body(Full::new(Bytes::from(body.clone())))
            .expect("response"),
        Fault::Hang(_) => unreachable!("hang is handled by the caller"),
    }
}

fn access_key_from_auth(auth: &str) -> (Option<String>, Option<String>) {
    // AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/iam/aws4_request, ...
    let Some(i) = auth.find("Credential=") else {
        return (None, None);
    };
    let scope = &auth[i + "Credential=".len()..];
    let scope = scope.split([',', ' ']).next().unwrap_or("");
    let mut parts = scope.split('/');
    let akid = parts.next().map(str::to_string);
    let service = parts.nth(2).map(str::to_string);
    (akid, service)
}

enum Plan {
    Respond(Resp),
    HangThen(Duration, Box<dyn FnOnce() -> Resp + Send>),
}

async fn handle(
    state: Arc<Mutex<ScenarioState>>,
    req: Request<hyper::body::Incoming>,
) -> Result<Resp, Infallible> {
    let headers = req.headers().clone();
    let method = req.method().clone();
    let query = req.uri().query().unwrap_or("").to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut params = parse_form(&query);
    if method == hyper::Method::POST {
        params.extend(parse_form(&String::from_utf8_lossy(&body)));
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (akid, service) = access_key_from_auth(auth);

    let plan = plan_response(&state, params, akid, service);
    match plan {
        Plan::Respond(r) => Ok(r),
        Plan::HangThen(d, f) => {
            tokio::time::sleep(d).await;
            Ok(f())
        }
    }
}

fn plan_response(
    state: &Arc<Mutex<ScenarioState>>,
    params: BTreeMap<String, String>,
    akid: Option<String>,
    service: Option<String>,
) -> Plan {
    let action = params.get("Action").cloned().unwrap_or_default();
    let version = params.get("Version").cloned().unwrap_or_default();
    let is_sts = version == "2011-06-15"
        || service.as_deref() == Some("sts")
        || matches!(action.as_str(), "GetCallerIdentity" | "AssumeRole");
    let xmlns = if is_sts { STS_XMLNS } else { IAM_XMLNS };

    let mut st = state.lock().unwrap();
    let issued = akid.as_ref().and_then(|k| st.issued.get(k).cloned());
    let account_id = issued
        .as_ref()
        .map(|i| i.account_id.clone())
        .unwrap_or_else(|| st.default_account.clone());

    if st.requests.len() >= st.max_recorded {
        st.requests.remove(0);
    }
    st.requests.push(RecordedRequest {
        action: action.clone(),
        params: params.clone(),
        access_key_id: akid.clone(),
        service: service.clone(),
    });

    if action.is_empty() {
        return Plan::Respond(error_response(
            xmlns,
            400,
            "Sender",
            "MissingAction",
            "Missing Action",
        ));
    }

    let acct = st.account_mut(&account_id);
    *acct.calls.entry(action.clone()).or_insert(0) += 1;

    if acct.denied.contains(&action) {
        let who = issued.as_ref().map_or_else(
            || acct.caller_arn.clone(),
            |i| {
                format!(
                    "arn:aws:sts::{}:assumed-role/{}/{}",
                    i.account_id,
                    i.role_arn.rsplit('/').next().unwrap_or(""),
                    i.session_name
                )
            },
        );
        let svc = if is_sts { "sts" } else { "iam" };
        return Plan::Respond(error_response(
            xmlns,
            403,
            "Sender",
            "AccessDenied",
            &format!("User: {who} is not authorized to perform: {svc}:{action} on resource: *"),
        ));
    }

    let fault = acct.faults.get_mut(&action).and_then(|q| q.pop_front());
    match fault {
        Some(f @ (Fault::Error { .. } | Fault::Raw { .. })) => {
            return Plan::Respond(fault_response(xmlns, &f));
        }
        Some(Fault::Hang(d)) => {
            let state = state.clone();
            drop(st);
            return Plan::HangThen(
                d,
                Box::new(move || {
                    let mut st = state.lock().unwrap();
                    answer(
                        &mut st,
                        &account_id,
                        &action,
                        &params,
                        issued.as_ref(),
                        xmlns,
                    )
                }),
            );
        }
        None => {}
    }
    Plan::Respond(answer(
        &mut st,
        &account_id,
        &action,
        &params,
        issued.as_ref(),
        xmlns,
    ))
}

fn answer(
    st: &mut ScenarioState,
    account_id: &str,
    action: &str,
    params: &BTreeMap<String, String>,
    issued: Option<&IssuedCredentials>,
    xmlns: &str,
) -> Resp {
    match action {
        "GetAccountSummary" => {
            let a = st.account_mut(account_id);
            let mut x = String::from("\n    <SummaryMap>\n");
            for (k, v) in &a.summary {
                x.push_str(&format!(
                    "      <entry>\n        <key>{}</key>\n        <value>{v}</value>\n      </entry>\n",
                    xml_escape(k)
                ));
            }
            x.push_str("    </SummaryMap>\n  ");
            ok_xml(action, IAM_XMLNS, &x)
        }
        "GenerateCredentialReport" => {
            let a = st.account_mut(account_id);
            let (state, desc) = if a.generate_pending > 0 {
                a.generate_pending -= 1;
                let first = !a.generating;
                a.generating = true;
                if first {
                    (
                        "STARTED",
                        Some("No report exists. Starting a new report generation task"),
                    )
                } else {
                    ("INPROGRESS", Some("Report generation in progress"))
                }
            } else {
                if a.generating {
                    a.generating = false;
                    a.report_generated = now();
                }
                ("COMPLETE", None)
            };
            let mut x = format!("\n    <State>{state}</State>\n");
            if let Some(d) = desc {
                x.push_str(&format!("    <Description>{d}</Description>\n"));
            }
            x.push_str("  ");
            ok_xml(action, IAM_XMLNS, &x)
        }
        "GetCredentialReport" => {
            let a = st.account_mut(account_id);
            if a.generating && a.report_in_progress_while_generating {
                return fault_response(IAM_XMLNS, &Fault::report_in_progress());
            }
            match &a.report_csv {
                None => fault_response(IAM_XMLNS, &Fault::report_not_present()),
                Some(csv) => {
                    let content = base64::engine::general_purpose::STANDARD.encode(csv.as_bytes());
                    let x = format!(
                        "\n    <Content>{content}</Content>\n    <ReportFormat>{}</ReportFormat>\n    \
                         <GeneratedTime>{}</GeneratedTime>\n  ",
                        xml_escape(&a.report_format),
                        fmt_iso_z(a.report_generated)
                    );
                    ok_xml(action, IAM_XMLNS, &x)
                }
            }
        }
        "GetAccountPasswordPolicy" => {
            let a = st.account_mut(account_id);
            match &a.password_policy {
                None => error_response(
                    IAM_XMLNS,
                    404,
                    "Sender",
                    "NoSuchEntity",
                    &format!("The Password Policy with domain name {account_id} cannot be found."),
                ),
                Some(p) => {
                    let mut x = String::from("\n    <PasswordPolicy>\n");
                    let mut f = |k: &str, v: String| {
                        x.push_str(&format!("      <{k}>{v}</{k}>\n"));
                    };
                    f(
                        "AllowUsersToChangePassword",
                        p.allow_users_to_change_password.to_string(),
                    );
                    f(
                        "RequireLowercaseCharacters",
                        p.require_lowercase_characters.to_string(),
                    );
                    f(
                        "RequireUppercaseCharacters",
                        p.require_uppercase_characters.to_string(),
                    );
                    f(
                        "MinimumPasswordLength",
                        p.minimum_password_length.to_string(),
                    );
                    f("RequireNumbers", p.require_numbers.to_string());
                    f("RequireSymbols", p.require_symbols.to_string());
                    f("ExpirePasswords", p.expire_passwords.to_string());
                    if let Some(v) = p.max_password_age {
                        f("MaxPasswordAge", v.to_string());
                    }
                    if let Some(v) = p.password_reuse_prevention {
                        f("PasswordReusePrevention", v.to_string());
                    }
                    if let Some(v) = p.hard_expiry {
                        f("HardExpiry", v.to_string());
                    }
                    x.push_str("    </PasswordPolicy>\n  ");
                    ok_xml(action, IAM_XMLNS, &x)
                }
            }
        }
        "ListServiceSpecificCredentials" => {
            let a = st.account_mut(account_id);
            let all = params.get("AllUsers").is_some_and(|v| v == "true");
            let user = params.get("UserName");
            let matching: Vec<&ServiceCredentialRow> = a
                .service_credentials
                .iter()
                .filter(|c| all || user.is_some_and(|u| *u == c.user))
                .collect();
            let (page, marker) = page_of(params, a.service_credentials_page_size, &matching);
            let mut x = String::from("\n    <ServiceSpecificCredentials>\n");
            for c in page {
                x.push_str("      <member>\n");
                x.push_str(&format!(
                    "        <UserName>{}</UserName>\n",
                    xml_escape(&c.user)
                ));
                x.push_str(&format!("        <Status>{}</Status>\n", c.status));
                x.push_str(&format!(
                    "        <ServiceUserName>{}-at-{account_id}</ServiceUserName>\n",
                    xml_escape(&c.user)
                ));
                x.push_str(&format!(
                    "        <CreateDate>{}</CreateDate>\n",
                    fmt_iso_z(c.created)
                ));
                if let Some(e) = c.expires {
                    x.push_str(&format!(
                        "        <ExpirationDate>{}</ExpirationDate>\n",
                        fmt_iso_z(e)
                    ));
                }
                x.push_str(&format!(
                    "        <ServiceSpecificCredentialId>{}</ServiceSpecificCredentialId>\n",
                    xml_escape(&c.id)
                ));
                x.push_str(&format!(
                    "        <ServiceName>{}</ServiceName>\n",
                    xml_escape(&c.service)
                ));
                x.push_str("      </member>\n");
            }
            x.push_str("    </ServiceSpecificCredentials>\n");
            match marker {
                Some(m) => x.push_str(&format!(
                    "    <IsTruncated>true</IsTruncated>\n    <Marker>{m}</Marker>\n  "
                )),
                None => x.push_str("    <IsTruncated>false</IsTruncated>\n  "),
            }
            ok_xml(action, IAM_XMLNS, &x)
        }
        "ListOrganizationsFeatures" => {
            let a = st.account_mut(account_id);
            match &a.organization_features {
                None => error_response(
                    IAM_XMLNS,
                    400,
                    "Sender",
                    "AccountNotManagementOrDelegatedAdministratorException",
                    "The account is not the management account or a delegated administrator.",
                ),
                Some(f) => {
                    let mut x = format!(
                        "\n    <OrganizationId>{}</OrganizationId>\n    <EnabledFeatures>\n",
                        xml_escape(&f.organization_id)
                    );
                    for e in &f.enabled {
                        x.push_str(&format!("      <member>{}</member>\n", xml_escape(e)));
                    }
                    x.push_str("    </EnabledFeatures>\n  ");
                    ok_xml(action, IAM_XMLNS, &x)
                }
            }
        }
        "ListVirtualMFADevices" => {
            let a = st.account_mut(account_id);
            let status = params
                .get("AssignmentStatus")
                .map(String::as_str)
                .unwrap_or("Any");
            let matching: Vec<&VirtualMfa> = a
                .virtual_mfa
                .iter()
                .filter(|d| match status {
                    "Assigned" => d.user.is_some(),
                    "Unassigned" => d.user.is_none(),
                    _ => true,
                })
                .collect();
            let start: usize = params
                .get("Marker")
                .and_then(|m| m.strip_prefix("marker-"))
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            let page = params
                .get("MaxItems")
                .and_then(|m| m.parse::<usize>().ok())
                .or(a.virtual_mfa_page_size)
                .unwrap_or(usize::MAX)
                .max(1);
            let end = start.saturating_add(page).min(matching.len());
            let mut x = String::from("\n    <VirtualMFADevices>\n");
            for d in matching.get(start..end).unwrap_or(&[]) {
                x.push_str("      <member>\n");
                x.push_str(&format!(
                    "        <SerialNumber>{}</SerialNumber>\n",
                    xml_escape(&d.serial_number)
                ));
                match &d.user {
                    Some(MfaUser::Root) => x.push_str(&format!(
                        "        <User>\n          <UserId>{account_id}</UserId>\n          \
                         <Arn>arn:aws:iam::{account_id}:root</Arn>\n          \
                         <CreateDate>{}</CreateDate>\n        </User>\n",
                        fmt_iso_z(days_ago(3 * 365))
                    )),
                    Some(MfaUser::User(name)) => x.push_str(&format!(
                        "        <User>\n          <Path>/</Path>\n          <UserName>{n}</UserName>\n          \
                         <UserId>AIDA{id}</UserId>\n          <Arn>arn:aws:iam::{account_id}:user/{n}</Arn>\n          \
                         <CreateDate>{}</CreateDate>\n        </User>\n",
                        fmt_iso_z(days_ago(365)),
                        n = xml_escape(name),
                        id = name.len()
                    )),
                    None => {}
                }
                if let Some(t) = d.enable_date {
                    x.push_str(&format!(
                        "        <EnableDate>{}</EnableDate>\n",
                        fmt_iso_z(t)
                    ));
                }
                x.push_str("      </member>\n");
            }
            x.push_str("    </VirtualMFADevices>\n");
            if end < matching.len() {
                x.push_str(&format!(
                    "    <IsTruncated>true</IsTruncated>\n    <Marker>marker-{end}</Marker>\n  "
                ));
            } else {
                x.push_str("    <IsTruncated>false</IsTruncated>\n  ");
            }
            ok_xml(action, IAM_XMLNS, &x)
        }
        "GetCallerIdentity" => {
            let a = st.account_mut(account_id);
            let (arn, user_id) = match issued {
                Some(i) => {
                    let role = i.role_arn.rsplit('/').next().unwrap_or("role");
                    (
                        format!(
                            "arn:aws:sts::{}:assumed-role/{role}/{}",
                            i.account_id, i.session_name
                        ),
                        format!("AROAEXAMPLEROLEID:{}", i.session_name),
                    )
                }
                None => (a.caller_arn.clone(), a.caller_user_id.clone()),
            };
            let x = format!(
                "\n    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{account_id}</Account>\n  ",
                xml_escape(&arn),
                xml_escape(&user_id)
            );
            ok_xml(action, STS_XMLNS, &x)
        }
        "AssumeRole" => {
            let role_arn = params.get("RoleArn").cloned().unwrap_or_default();
            let session = params
                .get("RoleSessionName")
                .cloned()
                .unwrap_or_else(|| "session".into());
            // arn:aws:iam::<account>:role/<name>
            let parts: Vec<&str> = role_arn.split(':').collect();
            let target = (parts.len() == 6 && parts[2] == "iam" && parts[5].starts_with("role/"))
                .then(|| parts[4].to_string());
            let Some(target) = target else {
                return error_response(
                    STS_XMLNS,
                    400,
                    "Sender",
                    "ValidationError",
                    &format!("{role_arn} is invalid"),
                );
            };
            let caller = match issued {
                Some(i) => format!(
                    "arn:aws:sts::{}:assumed-role/{}/{}",
                    i.account_id,
                    i.role_arn.rsplit('/').next().unwrap_or(""),
                    i.session_name
                ),
                None => st.account_mut(account_id).caller_arn.clone(),
            };
            let allowed = st
                .accounts
                .get(&target)
                .is_some_and(|t| !t.deny_assume_role.contains(&role_arn));
            if !allowed {
                return error_response(
                    STS_XMLNS,
                    403,
                    "Sender",
                    "AccessDenied",
                    &format!(
                        "User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
                    ),
                );
            }
            let n = st.next_key;
            st.next_key += 1;
            let akid = format!("ASIASCENARIO{n:08}");
            st.issued.insert(
                akid.clone(),
                IssuedCredentials {
                    account_id: target.clone(),
                    role_arn: role_arn.clone(),
                    session_name: session.clone(),
                },
            );
            let exp = fmt_iso_z(now() + time::Duration::hours(1));
            let role = role_arn.rsplit('/').next().unwrap_or("role");
            let x = format!(
                "\n    <Credentials>\n      <AccessKeyId>{akid}</AccessKeyId>\n      \
                 <SecretAccessKey>scenario-secret-{n}</SecretAccessKey>\n      \
                 <SessionToken>scenario-token-{n}</SessionToken>\n      <Expiration>{exp}</Expiration>\n    \
                 </Credentials>\n    <AssumedRoleUser>\n      <AssumedRoleId>AROAEXAMPLEROLEID:{s}</AssumedRoleId>\n      \
                 <Arn>arn:aws:sts::{target}:assumed-role/{r}/{s}</Arn>\n    </AssumedRoleUser>\n  ",
                s = xml_escape(&session),
                r = xml_escape(role),
            );
            ok_xml(action, STS_XMLNS, &x)
        }
        _ => error_response(
            xmlns,
            400,
            "Sender",
            "InvalidAction",
            &format!(
                "Could not find operation {action} for version {}",
                params.get("Version").map(String::as_str).unwrap_or("")
            ),
        ),
    }
}
