//! Unit tests of the posture: each control on rows built to state only what it is about.

use super::*;
use crate::report::parse;

use crate::report::TEST_HEADER as HEADER;
/// 2024-06-01T00:00:00Z
const NOW: i64 = 1_717_200_000;

fn iso(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}
fn days_ago(d: i64) -> String {
    iso(NOW - d * DAY)
}

/// A row builder so each test states only what it is about.
#[derive(Clone)]
struct U {
    name: &'static str,
    created: String,
    password: &'static str,
    password_last_used: String,
    password_changed: String,
    mfa: bool,
    keys: [(bool, String, String); 2],
    certs: [bool; 2],
}

impl U {
    fn new(name: &'static str) -> U {
        U {
            name,
            created: days_ago(400),
            password: "false",
            password_last_used: "N/A".into(),
            password_changed: "N/A".into(),
            mfa: false,
            keys: [
                (false, "N/A".into(), "N/A".into()),
                (false, "N/A".into(), "N/A".into()),
            ],
            certs: [false, false],
        }
    }
    fn root() -> U {
        let mut u = U::new("<root_account>");
        u.password = "not_supported";
        u.password_last_used = "no_information".into();
        u.password_changed = "not_supported".into();
        u
    }
    fn console(mut self, last_used: &str) -> U {
        self.password = "true";
        self.password_last_used = last_used.into();
        self.password_changed = days_ago(300);
        self
    }
    fn mfa(mut self) -> U {
        self.mfa = true;
        self
    }
    fn key(mut self, n: usize, rotated: String, used: &str) -> U {
        self.keys[n] = (true, rotated, used.into());
        self
    }
    fn inactive_key(mut self, n: usize, rotated: String) -> U {
        self.keys[n] = (false, rotated, "N/A".into());
        self
    }
    fn line(&self) -> String {
        let arn = if self.name == "<root_account>" {
            "arn:aws:iam::123456789012:root".to_string()
        } else {
            format!("arn:aws:iam::123456789012:user/{}", self.name)
        };
        let k = |i: usize| {
            let (a, r, u) = &self.keys[i];
            format!("{a},{r},{u},N/A,N/A")
        };
        format!(
            "{},{arn},{},{},{},{},N/A,{},{},{},{},N/A,{},N/A",
            self.name,
            self.created,
            self.password,
            self.password_last_used,
            self.password_changed,
            self.mfa,
            k(0),
            k(1),
            self.certs[0],
            self.certs[1]
        )
    }
}

fn data(rows: &[U]) -> AccountData {
    let mut body = String::from(HEADER);
    for r in rows {
        body.push('\n');
        body.push_str(&r.line());
    }
    AccountData {
        report: parse(body.as_bytes()).expect("test report parses"),
        ..AccountData::default()
    }
}

fn verdict(p: &Posture, c: ControlId) -> Option<(bool, u64)> {
    p.verdicts
        .iter()
        .find(|v| v.control == c)
        .map(|v| (v.failing, v.failing_resources))
}

fn derive_default(d: &AccountData) -> Posture {
    derive(d, &Thresholds::default(), NOW)
}

/// The findings of a control that is known, with the default thresholds.
fn findings_default(d: &AccountData, c: ControlId) -> Vec<Finding<'_>> {
    findings(d, &Thresholds::default(), NOW, c).expect("the control is known")
}

mod account;
mod root;
mod security_hub;
mod table;
