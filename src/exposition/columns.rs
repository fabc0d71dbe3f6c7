//! What a credential report without some columns leaves absent: the families that lose series
//! and the controls that cannot be decided, for the one warning a refresh logs about them.
//!
//! No table says it: the pipeline itself answers, run on a few probe rows with and without the
//! missing columns ([`left_absent`]). A column's effect depends on the others (a never-used
//! password's age is its last change, else its user's creation: either column alone is
//! enough), and on the facts beside the report (with a summary, root's MFA does not need the
//! report's `mfa_active`), which a table would get wrong as the code moves.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{AccountView, FAMILIES, render_account};
use crate::posture::{AccountData, Facts, Summary, Thresholds, derive};
use crate::report::parse;

/// 2024-06-01T00:00:00Z, the probes' "now".
const NOW: i64 = 1_717_200_000;

const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// Root rows: every credential in use; then no key, one inactive certificate (the first, then
/// the second), only the password used of late.
const ROOTS: [&str; 3] = [
    "<root_account>,arn:aws:iam::123456789012:root,2015-01-01T00:00:00+00:00,not_supported,2024-05-30T00:00:00+00:00,not_supported,not_supported,false,true,2020-01-01T00:00:00+00:00,2024-05-31T00:00:00+00:00,us-east-1,iam,true,2020-01-01T00:00:00+00:00,2024-05-31T00:00:00+00:00,us-east-1,iam,true,2020-01-01T00:00:00+00:00,true,2020-01-01T00:00:00+00:00",
    "<root_account>,arn:aws:iam::123456789012:root,2015-01-01T00:00:00+00:00,not_supported,2024-05-30T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,2020-01-01T00:00:00+00:00,false,N/A",
    "<root_account>,arn:aws:iam::123456789012:root,2015-01-01T00:00:00+00:00,not_supported,2024-05-30T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,2020-01-01T00:00:00+00:00",
];

/// User rows, one per probe, each failing (or passing) its controls in one way only.
const USERS: [&str; 4] = [
    // Everything old and unused: a console user without MFA, two stale keys.
    "old,arn:aws:iam::123456789012:user/old,2019-01-01T00:00:00+00:00,true,2020-01-01T00:00:00+00:00,2019-01-01T00:00:00+00:00,N/A,false,true,2019-01-01T00:00:00+00:00,2020-01-01T00:00:00+00:00,us-east-1,s3,true,2019-01-01T00:00:00+00:00,2020-01-01T00:00:00+00:00,us-east-1,s3,false,N/A,false,N/A",
    // Set up with its keys the same second, never signed in, keys never used.
    "new,arn:aws:iam::123456789012:user/new,2024-05-01T00:00:00+00:00,true,no_information,2024-05-01T00:00:00+00:00,N/A,false,true,2024-05-01T00:00:00+00:00,N/A,N/A,N/A,true,2024-05-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A",
    // No console, two recent keys in use.
    "bot,arn:aws:iam::123456789012:user/bot,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-05-01T00:00:00+00:00,2024-05-31T00:00:00+00:00,us-east-1,s3,true,2024-05-02T00:00:00+00:00,2024-05-31T00:00:00+00:00,us-east-1,s3,false,N/A,false,N/A",
    // All good: a console user with MFA, signed in yesterday, no key.
    "good,arn:aws:iam::123456789012:user/good,2024-01-01T00:00:00+00:00,true,2024-05-31T00:00:00+00:00,2024-05-01T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
];

/// What a report without some columns leaves absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeftAbsent {
    /// Families that lose some or all of their series (exposition names, sorted), but for the
    /// control families: [`LeftAbsent::controls`] says which of their series.
    pub families: Vec<String>,
    /// Controls that cannot be decided from the report alone (ids, in the control table's
    /// order): absent unless a known failure decides them.
    pub controls: Vec<&'static str>,
}

/// What a report without the columns `missing` leaves absent, beside `summary` (the account's,
/// when it has one): the pipeline run on probe rows with every column and without those.
pub fn left_absent(missing: &[&str], summary: Option<&Summary>) -> LeftAbsent {
    let mut families = BTreeSet::new();
    let mut controls = BTreeSet::new();
    for root in ROOTS {
        for user in USERS {
            let rows = [root, user];
            let (f0, c0) = outcome(&report(&rows, &[]), summary);
            let (f1, c1) = outcome(&report(&rows, missing), summary);
            // The control families are said by the controls themselves.
            for (name, n) in f0
                .into_iter()
                .filter(|(f, _)| !f.starts_with("aws_iam_control_"))
            {
                if f1.get(&name).copied().unwrap_or(0) < n {
                    families.insert(name);
                }
            }
            controls.extend(c0.difference(&c1).copied());
        }
    }
    let order = |id: &&str| crate::posture::CONTROLS.iter().position(|c| c.id == *id);
    let mut controls: Vec<&'static str> = controls.into_iter().collect();
    controls.sort_by_key(order);
    LeftAbsent {
        families: families.into_iter().collect(),
        controls,
    }
}

/// The CSV of `rows` without the columns `drop`.
fn report(rows: &[&str], drop: &[&str]) -> String {
    let header: Vec<&str> = HEADER.split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| !drop.contains(&header[i]))
        .collect();
    std::iter::once(HEADER)
        .chain(rows.iter().copied())
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let kept: Vec<&str> = keep.iter().map(|&i| fields[i]).collect();
            kept.join(",") + "\n"
        })
        .collect()
}

/// Series per family, and the controls decided, of one probe report.
fn outcome(
    csv: &str,
    summary: Option<&Summary>,
) -> (BTreeMap<String, usize>, BTreeSet<&'static str>) {
    // NB: the probes are constants with at least the `user` column: they always parse.
    let Ok(report) = parse(csv.as_bytes()) else {
        return Default::default();
    };
    let data = AccountData {
        report,
        generated: None,
        facts: Facts {
            summary: summary.cloned(),
            root_virtual_mfa: Some(false),
            virtual_mfa_users: Some(vec!["old".into()]),
            ..Facts::default()
        },
    };
    let posture = derive(&data, &Thresholds::default(), NOW);
    let controls = posture
        .verdicts
        .iter()
        .map(|v| v.control.control().id)
        .collect();
    let view = Arc::new(AccountView {
        labels: vec![("account_id", "123456789012".into())],
        data: data.into(),
        posture,
        per_user: true,
    });
    let rendered = render_account(view);
    // Counted on the rendered part itself: its sample lines, by family.
    let families = FAMILIES
        .iter()
        .enumerate()
        .map(|(f, family)| {
            let lines = rendered
                .samples(f)
                .split(|b| *b == b'\n')
                .filter(|line| !line.is_empty())
                .count();
            (family.name.to_owned(), lines)
        })
        .filter(|(_, lines)| *lines > 0)
        .collect();
    (families, controls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::OPTIONAL_COLUMNS;

    #[test]
    fn each_column_the_exporter_reads_leaves_something_absent_without_it() {
        for column in OPTIONAL_COLUMNS {
            let absent = left_absent(&[column], None);
            // The account id is the role's or STS's without `arn`; a password's last change
            // has its user's creation to stand in for it; the rest feeds series.
            if ["arn", "password_last_changed"].contains(&column) {
                assert_eq!(absent, LeftAbsent::default(), "{column}");
            } else {
                assert!(!absent.families.is_empty(), "{column}: {absent:?}");
            }
        }
    }

    #[test]
    fn the_second_key_leaves_the_key_counts_and_the_one_key_control_absent() {
        let absent = left_absent(&["access_key_2_active"], None);
        for family in [
            "aws_iam_users_with_multiple_active_keys",
            "aws_iam_active_access_keys",
            "aws_iam_user_active_access_keys",
            "aws_iam_root_access_key_active",
        ] {
            assert!(
                absent.families.iter().any(|f| f == family),
                "{family}: {absent:?}"
            );
        }
        for control in [
            "multiple_active_keys",
            "access_key_rotation",
            "root_access_key",
        ] {
            assert!(absent.controls.contains(&control), "{control}: {absent:?}");
        }
        assert!(!absent.controls.contains(&"console_user_mfa"), "{absent:?}");
    }

    #[test]
    fn a_column_that_another_stands_in_for_leaves_nothing_absent_until_both_are_missing() {
        // A never-used password is as old as its last change, else as its user.
        let one = left_absent(&["password_last_changed"], None);
        assert!(!one.controls.contains(&"unused_credentials_45d"), "{one:?}");
        let both = left_absent(&["password_last_changed", "user_creation_time"], None);
        assert!(
            both.controls.contains(&"unused_credentials_45d"),
            "{both:?}"
        );
    }

    #[test]
    fn with_a_summary_roots_mfa_does_not_need_the_report() {
        let without = left_absent(&["mfa_active"], None);
        assert!(without.controls.contains(&"root_mfa"), "{without:?}");
        let summary = Summary(vec![
            ("AccountMFAEnabled".into(), 1),
            ("AccountAccessKeysPresent".into(), 1),
        ]);
        let with = left_absent(&["mfa_active"], Some(&summary));
        assert!(!with.controls.contains(&"root_mfa"), "{with:?}");
        assert!(with.controls.contains(&"console_user_mfa"), "{with:?}");
    }
}
