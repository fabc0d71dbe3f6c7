//! `audit --format csv`: one row per finding for spreadsheets, RFC 4180 (a header row, CRLF line
//! ends, a field quoted when it holds a comma, a quote or a line break: IAM names may hold
//! commas).
//!
//! A failing control gives one row per offender (the table's lines: a user with two failing
//! credentials gives two rows); a passing or unknown control gives one row with the user
//! fields empty.

use serde::Serialize;

use super::fields::{days_since, per_finding};
use super::{Audit, AuditSettings, cis_id, rfc3339};

/// One row. Empty fields are unknown or do not apply (csv writes `None` as an empty field).
#[derive(Serialize)]
struct Row<'a> {
    account_id: &'a str,
    account_name: &'a str,
    control: &'static str,
    status: &'static str,
    severity: &'static str,
    title: &'static str,
    /// `--cis-version`, so that a file says which numbering its `cis` column follows.
    cis_version: &'static str,
    cis: &'static str,
    securityhub: &'static str,
    /// The IAM user, `<root_account>`, the organization id (centralized root access), or empty
    /// for the account (password policy).
    user: &'a str,
    credential: &'static str,
    credential_id: &'a str,
    last_used: Option<String>,
    created: Option<String>,
    never_used: Option<bool>,
    /// Days since the last use, else since creation.
    days: Option<i64>,
}

/// The rows of the audit, in table order (per account, per control in
/// [`crate::posture::CONTROLS`] order, the offenders in report order).
pub fn csv(audit: &Audit<'_>, settings: &AuditSettings) -> String {
    let now = audit.now;
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for account in &audit.accounts {
        let input = account.input;
        for r in &account.controls {
            let c = r.control.control();
            let control = Row {
                account_id: &input.account_id,
                account_name: input.name.as_deref().unwrap_or(""),
                control: c.id,
                status: r.status.as_str(),
                severity: c.severity.as_str(),
                title: c.title,
                cis_version: settings.cis_version,
                cis: cis_id(r.control, settings.cis_version).unwrap_or(""),
                securityhub: c.securityhub,
                user: "",
                credential: "",
                credential_id: "",
                last_used: None,
                created: None,
                never_used: None,
                days: None,
            };
            for offender in per_finding(r) {
                let Some(f) = offender else {
                    // NB: writing rows into a Vec cannot fail (no I/O, no nested containers).
                    let _ = w.serialize(&control);
                    continue;
                };
                let _ = w.serialize(Row {
                    user: f.user,
                    credential: f.credential.as_str(),
                    credential_id: f.credential_id.unwrap_or(""),
                    last_used: f.last_used.map(rfc3339),
                    created: f.created.map(rfc3339),
                    never_used: Some(f.never_used),
                    days: days_since(f, now),
                    ..control
                });
            }
        }
    }
    let bytes = w.into_inner().unwrap_or_default();
    // NB: every field is a &str or a number: the bytes are UTF-8.
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::tests::{audit, sample};

    #[test]
    fn a_header_then_a_row_per_offender_or_per_control_with_crlf_and_quoted_commas() {
        let input = sample();
        let a = audit(&input);
        let text = csv(&a, &AuditSettings::default());
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
        assert_eq!(
            lines[0],
            "account_id,account_name,control,status,severity,title,cis_version,cis,securityhub,user,credential,credential_id,last_used,created,never_used,days"
        );
        let want: usize = a.accounts[0]
            .controls
            .iter()
            .map(|r| per_finding(r).count())
            .sum();
        assert_eq!(lines.len(), 1 + want);
        assert_eq!(
            lines[1],
            "123456789012,,root_access_key,fail,critical,No root user access key exists,4.0.1,1.4,IAM.4,<root_account>,access_key_1,,2026-10-28T03:10:00Z,2021-06-30T08:15:02Z,false,33"
        );
        assert!(
            lines.contains(
                &"123456789012,,multiple_active_keys,fail,low,At most one active access key per user,4.0.1,1.13,,\"ci,runner\",access_key_1,,2026-11-30T23:10:00Z,2026-10-15T11:00:00Z,false,0"
            ),
            "{text}"
        );
        assert!(
            lines.contains(&"123456789012,,root_recent_use,pass,high,The root user is not used for daily tasks,4.0.1,1.7,,,,,,,,"),
            "{text}"
        );
    }
}
