//! Credential report CSVs built from typed rows: the 22 documented columns, the root row's
//! `not_supported` cells, `N/A` and `no_information` where AWS writes them, and the styles
//! seen in the wild (times with `+00:00` or `Z`, booleans in either case, CRLF).

use time::OffsetDateTime;

use super::clock::{days_ago, fmt_iso_z, fmt_report_time};

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
    pub credentials: CredentialColumns,
}

/// The ten access-key and certificate columns of a row (`access_key_1_active` to
/// `cert_2_last_rotated`), the same for root and the users.
#[derive(Debug, Clone, Default)]
pub struct CredentialColumns {
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

impl CredentialColumns {
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
    pub credentials: CredentialColumns,
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
        self.credentials = self.credentials.key1(rotated, used);
        self
    }
    /// Active key 2 rotated at `rotated`, last used at `used` (None = never).
    pub fn key2(mut self, rotated: OffsetDateTime, used: Option<OffsetDateTime>) -> Self {
        self.credentials = self.credentials.key2(rotated, used);
        self
    }
    /// Inactive key 1 (exists, rotated at `rotated`).
    pub fn key1_inactive(mut self, rotated: OffsetDateTime) -> Self {
        self.credentials = self.credentials.key1_inactive(rotated);
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

impl Fmt {
    /// The ten key and certificate columns, `access_key_1_active` to `cert_2_last_rotated`.
    fn credentials(&self, created: OffsetDateTime, c: &CredentialColumns) -> Vec<String> {
        let mut v = Vec::with_capacity(10);
        v.extend(self.key(
            created,
            c.key1_active,
            c.key1_last_rotated,
            c.key1_last_used,
            &c.key1_last_used_region,
            &c.key1_last_used_service,
        ));
        v.extend(self.key(
            created,
            c.key2_active,
            c.key2_last_rotated,
            c.key2_last_used,
            &c.key2_last_used_region,
            &c.key2_last_used_service,
        ));
        v.extend(self.cert(created, c.cert1_active, c.cert1_last_rotated));
        v.extend(self.cert(created, c.cert2_active, c.cert2_last_rotated));
        v
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
    /// `n` users named `name(i)`, created at `created`, each with an active key 1 rotated at
    /// `key_rotated` and used yesterday.
    pub fn users_with_a_used_key(
        self,
        n: usize,
        name: impl Fn(usize) -> String,
        created: OffsetDateTime,
        key_rotated: OffsetDateTime,
    ) -> Self {
        self.users((0..n).map(|i| {
            UserRow::new(&name(i))
                .created(created)
                .key1(key_rotated, Some(days_ago(1)))
        }))
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
        v.extend(f.credentials(created, &r.credentials));
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
        v.extend(f.credentials(created, &u.credentials));
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
