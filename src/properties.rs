//! Property tests across the pure core (`report` -> `posture` -> `exposition`): whatever report
//! comes in, what goes out is a valid exposition.

use std::collections::HashSet;
use std::sync::Arc;

use proptest::prelude::*;

use crate::exposition::{
    AccountView, Format, Published, RefreshStats, RootUse, render_account, render_stats,
};
use crate::posture::{
    AccountData, ControlId, Facts, ServiceCredential, Summary, Thresholds, derive, findings,
};
use crate::report::{TEST_HEADER, parse};

/// 2024-06-01T00:00:00Z
const NOW: i64 = 1_717_200_000;

/// Values a column of each kind can hold, the odd ones included.
fn value(column: &str) -> BoxedStrategy<String> {
    let pick = |v: &[&str]| {
        proptest::sample::select(v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).boxed()
    };
    match column {
        // Few names, so that duplicates are common; root, a comma and a quote among them.
        "user" => pick(&["alice", "bob", "<root_account>", "ops,bob", "o\"dd"]),
        "arn" => pick(&[
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::123456789012:root",
            "arn:nope",
        ]),
        c if c.ends_with("_active") => pick(&["true", "false", "TRUE", "False", "N/A", "maybe"]),
        "password_enabled" => pick(&["true", "false", "not_supported", ""]),
        c if c.ends_with("_region") || c.ends_with("_service") => {
            pick(&["N/A", "us-east-1", "s3", "not_supported"])
        }
        _ => pick(&[
            "N/A",
            "no_information",
            "not_supported",
            "2014-01-01T00:00:00Z",
            "2024-05-31T10:00:00+00:00",
            "2024-06-01T00:00:00Z",
            "yesterday",
        ]),
    }
}

/// A report with any subset of the documented columns (`user` always) and plausible values.
fn report() -> impl Strategy<Value = String> {
    let all: Vec<&'static str> = TEST_HEADER.split(',').collect();
    proptest::collection::vec(any::<bool>(), all.len()).prop_flat_map(move |keep| {
        let columns: Vec<&'static str> = all
            .iter()
            .zip(keep)
            .filter(|(c, k)| *k || **c == "user")
            .map(|(c, _)| *c)
            .collect();
        let row = columns.iter().map(|c| value(c)).collect::<Vec<_>>();
        proptest::collection::vec(row, 0..12).prop_map(move |rows| {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(&columns);
            for r in rows {
                let _ = w.write_record(&r);
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        })
    })
}

/// The `name{labels}` of every sample line that repeats an earlier one.
fn duplicate_series(text: &str) -> Vec<&str> {
    let mut seen = HashSet::new();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series))
        .filter(|series| !seen.insert(*series))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_report_ever_renders_two_series_with_the_same_name_and_labels(
        body in report(),
        per_user in any::<bool>(),
    ) {
        // Every report the strategy writes is one the parser must take: a failure here is a
        // parser bug, not a case to skip.
        let report = parse(body.as_bytes());
        prop_assert!(report.is_ok(), "{:?} for\n{body}", report.err());
        let Ok(report) = report else { unreachable!("checked above") };
        let credential = ServiceCredential {
            user: "alice".into(),
            service: "bedrock.amazonaws.com".into(),
            id: "ACCA1".into(),
            status: "active".into(),
            created: NOW - 100 * 86_400,
            expires: None,
        };
        let data = AccountData {
            report,
            facts: Facts {
                summary: Some(Summary(vec![("AccountMFAEnabled".into(), 1)])),
                // Listed twice on purpose: the list is AWS's, the series must still be unique.
                virtual_mfa_users: Some(vec!["alice".into(), "alice".into(), "o\"dd".into()]),
                service_credentials: Some(vec![credential.clone(), credential]),
                ..Facts::default()
            },
            ..AccountData::default()
        };
        let posture = derive(&data, &Thresholds::default(), NOW);
        let users = posture.counts.users;
        // The audit's list and the daemon's count come from one evaluator: they agree.
        for &c in ControlId::ALL {
            let listed = findings(&data, &Thresholds::default(), NOW, c)
                .map(|f| f.iter().filter(|f| !f.continues).count() as u64);
            let counted = posture
                .verdicts
                .iter()
                .find(|v| v.control == c)
                .map(|v| v.failing_resources);
            prop_assert_eq!(listed, counted, "{:?}", c);
        }
        let labels = vec![("account_id", "123456789012".to_owned())];
        let root_uses: Vec<RootUse> = posture
            .root
            .most_recent_use()
            .map(|at| RootUse { labels: labels.clone(), at })
            .into_iter()
            .collect();
        let view = Arc::new(AccountView {
            labels: labels.clone(),
            data: data.into(),
            posture,
            per_user,
        });
        // What a scrape is served: the account's parts in a publication, with the scrape-time
        // tail, in each format, plain and gzipped.
        let parts = [
            Arc::new(render_account(view)),
            Arc::new(render_stats(RefreshStats {
                labels,
                success: true,
                ..RefreshStats::default()
            })),
        ];
        let published = Published::build_after(&parts, &[], root_uses, None);
        for format in [Format::Classic, Format::OpenMetrics] {
            let served: Vec<u8> = published
                .body(format, false, NOW as f64)
                .iter()
                .flat_map(|chunk| chunk.iter().copied())
                .collect();
            let text = String::from_utf8(served).expect("the exposition is UTF-8");
            let dups = duplicate_series(&text);
            prop_assert!(dups.is_empty(), "duplicate series {dups:?} in\n{body}\n{text}");
            let gzipped: Vec<u8> = published
                .body(format, true, NOW as f64)
                .iter()
                .flat_map(|chunk| chunk.iter().copied())
                .collect();
            let mut unzipped = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::MultiGzDecoder::new(&gzipped[..]),
                &mut unzipped,
            )
            .expect("the gzip form is gzip");
            prop_assert_eq!(&unzipped, &text);
        }
        let distinct: HashSet<String> = csv::Reader::from_reader(body.as_bytes())
            .records()
            .filter_map(|r| r.ok().and_then(|r| r.get(0).map(str::to_owned)))
            .filter(|u| u != "<root_account>")
            .collect();
        prop_assert_eq!(users, Some(distinct.len() as u64));
    }
}
