//! A report of the root row alone, for facts read without a credential report: a member
//! account's root through sts:AssumeRoot (`posture::root_audit`). Its users are unknown, so
//! every user count and user control is absent for it, where an empty report would pass them.

use super::{AccessKey, Certificate, CredentialReport, ROOT_USER, Row, push_name_and_arn};

impl CredentialReport {
    /// A report whose root row has the ARN `arn` (its account id is the report's) and the
    /// facts `fill` sets; a fact it leaves is unknown.
    pub fn root_only(arn: &str, fill: impl FnOnce(&mut Row)) -> CredentialReport {
        let mut report = CredentialReport {
            account_id: crate::arn::iam_account(arn).map(str::to_owned),
            root_only: true,
            ..CredentialReport::default()
        };
        let (name, arn) = push_name_and_arn(
            &mut report.names,
            ROOT_USER,
            report.account_id.is_some().then_some(arn),
        );
        let mut row = Row {
            name,
            arn,
            user_creation_time: None,
            password_enabled: None,
            password_last_used: None,
            password_last_changed: None,
            mfa_active: None,
            access_keys: [AccessKey::default(); 2],
            certificates: [Certificate::default(); 2],
        };
        fill(&mut row);
        report.root = Some(row);
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_only_report_has_root_its_account_and_no_known_users() {
        let r = CredentialReport::root_only("arn:aws:iam::222233334444:root", |row| {
            row.mfa_active = Some(true)
        });
        let root = r.root.as_ref().unwrap();
        assert_eq!(r.name(root), ROOT_USER);
        assert_eq!(r.arn(root), Some("arn:aws:iam::222233334444:root"));
        assert_eq!(r.account_id.as_deref(), Some("222233334444"));
        assert_eq!(root.mfa_active, Some(true));
        assert_eq!(root.access_keys[0].active, None);
        assert!(r.users.is_empty() && r.root_only);
        let unparsed = CredentialReport::root_only("not-an-arn", |_| {});
        assert_eq!(unparsed.account_id, None);
        assert_eq!(unparsed.arn(unparsed.root.as_ref().unwrap()), None);
    }
}
