//! The control table itself, the findings it names, and docs/controls.md, whose two tables are
//! generated from it here.

use super::*;

#[test]
fn control_table_and_enum_agree() {
    assert_eq!(ControlId::ExposedKeyQuarantine as usize + 1, CONTROLS.len());
    assert_eq!(ControlId::AccessKeyRotation.control().cis, "1.14");
    let mut ids: Vec<_> = CONTROLS.iter().map(|c| c.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), CONTROLS.len());
}

#[test]
fn every_control_row_has_a_title_a_severity_and_an_entry_in_all() {
    assert_eq!(ControlId::ALL.len(), CONTROLS.len());
    for (i, id) in ControlId::ALL.iter().enumerate() {
        assert_eq!(*id as usize, i);
        let c = id.control();
        assert!(!c.title.is_empty() && !c.title.contains('\n'), "{}", c.id);
        assert!(
            c.id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
    }
    // Exported ids are stable although the Rust names now say what they check.
    assert_eq!(
        ControlId::UnusedCredentials.control().id,
        "unused_credentials_45d"
    );
    assert_eq!(
        ControlId::UnusedCredentialsLong.control().id,
        "unused_credentials_90d"
    );
    assert_eq!(ControlId::RootMfa.control().severity, Severity::Critical);
}

#[test]
fn benchmark_numbers_cover_every_cis_version_and_the_fsbp_standard() {
    let of = |c: ControlId| c.control().benchmarks().collect::<Vec<_>>();
    let root_key = of(ControlId::RootAccessKey);
    assert_eq!(root_key.len(), CIS_VERSIONS.len() + 1);
    assert!(root_key.contains(&("cis-aws-foundations", "1.4.0", "1.4")));
    assert!(root_key.contains(&("cis-aws-foundations", "4.0.1", "1.4")));
    assert!(root_key.contains(&("cis-aws-foundations", "5.0.0", "1.3")));
    assert!(root_key.contains(&("cis-aws-foundations", "6.0.0", "2.3")));
    assert!(root_key.contains(&("cis-aws-foundations", "7.0.0", "2.4")));
    assert!(root_key.contains(&("aws-fsbp", "1.0.0", "IAM.4")));
    // Dropped in CIS 7.0.0; IAM.9 is not an FSBP control.
    let initial = of(ControlId::InitialAccessKey);
    assert!(!initial.iter().any(|(_, v, _)| *v == "7.0.0"));
    assert!(
        !of(ControlId::RootMfa)
            .iter()
            .any(|(s, _, _)| *s == "aws-fsbp")
    );
    assert!(of(ControlId::RootSigningCertificate).is_empty());
    // The 90-day variant keeps its `cis="1.12"` label but meets no CIS version.
    assert_eq!(ControlId::UnusedCredentialsLong.control().cis, "1.12");
    assert_eq!(
        of(ControlId::UnusedCredentialsLong),
        [("aws-fsbp", "1.0.0", "IAM.8")]
    );
    // Expired server certificates: 1.19 up to 4.0.1, then renumbered; IAM.26 is not FSBP.
    let certs = of(ControlId::ExpiredServerCertificate);
    assert_eq!(certs.len(), CIS_VERSIONS.len());
    for (version, id) in [
        ("1.4.0", "1.19"),
        ("4.0.1", "1.19"),
        ("5.0.0", "1.18"),
        ("6.0.0", "2.18"),
        ("7.0.0", "2.17"),
    ] {
        assert!(
            certs.contains(&("cis-aws-foundations", version, id)),
            "{version}"
        );
    }
    // Security Hub only: IAM.7 is in FSBP, IAM.11-14, IAM.17 and IAM.19 are not; no CIS
    // version from 1.4.0 on has them.
    assert_eq!(
        of(ControlId::PasswordPolicyStrong),
        [("aws-fsbp", "1.0.0", "IAM.7")]
    );
    for c in [
        ControlId::PasswordPolicyUppercase,
        ControlId::PasswordPolicyLowercase,
        ControlId::PasswordPolicySymbols,
        ControlId::PasswordPolicyNumbers,
        ControlId::PasswordPolicyExpiry,
        ControlId::UserMfa,
        ControlId::ApiKeyLifetime,
    ] {
        assert!(of(c).is_empty(), "{c:?}");
    }
    assert_eq!(ControlId::UserMfa.control().securityhub, "IAM.19");
}

#[test]
fn findings_name_each_offender_credential_and_its_dates() {
    let d = data(&[
        U::new("idle").console(&days_ago(100)),
        U::new("busy").key(0, days_ago(200), &days_ago(1)),
        U::new("two-old-keys")
            .key(0, days_ago(120), &days_ago(60))
            .key(1, days_ago(100), "N/A"),
    ]);
    let t = Thresholds::default();
    let unused = findings(&d, &t, NOW, ControlId::UnusedCredentials).unwrap();
    assert_eq!(unused.len(), 3);
    assert_eq!(unused[0].user, "idle");
    assert_eq!(unused[0].credential, Credential::Password);
    assert_eq!(unused[0].last_used, Some(NOW - 100 * DAY));
    assert!(!unused[0].continues);
    assert_eq!(unused[1].user, "two-old-keys");
    assert_eq!(unused[1].credential, Credential::AccessKey(1));
    assert_eq!(unused[1].created, Some(NOW - 120 * DAY));
    assert_eq!(unused[2].credential, Credential::AccessKey(2));
    assert!(unused[2].never_used && unused[2].continues);
    // The counting sink of the daemon agrees: two users fail.
    assert_eq!(
        verdict(&derive_default(&d), ControlId::UnusedCredentials),
        Some((true, 2))
    );
    // Unknown input: no list, as no series.
    assert_eq!(findings(&d, &t, NOW, ControlId::PasswordPolicyLength), None);
}

#[test]
fn a_finding_reads_as_one_line_for_the_audit_table() {
    let d = data(&[
        U::new("alice").console(&days_ago(324)),
        U::new("bob").key(1, days_ago(400), "N/A"),
    ]);
    let f = findings_default(&d, ControlId::UnusedCredentials);
    assert_eq!(
        f[0].describe(NOW),
        "alice (password, last used 2023-07-13, 324 days)"
    );
    assert_eq!(
        f[1].describe(NOW),
        "bob (access_key_2, never used, created 2023-04-28, 400 days)"
    );
    let one = Finding {
        last_used: Some(NOW - 86_400),
        ..f[0]
    };
    assert_eq!(
        one.describe(NOW),
        "alice (password, last used 2024-05-31, 1 day)"
    );
}

#[test]
fn the_markdown_control_table_has_one_row_per_control() {
    let table = markdown_table();
    assert_eq!(table.lines().count(), CONTROLS.len() + 2);
    assert!(table.contains(
        "| `root_access_key` | 1.4 | 1.3 | 2.3 | 2.4 | IAM.4 (FSBP) | critical | No root user access key exists |"
    ));
}

#[test]
fn findings_and_failing_resources_agree_for_every_control() {
    let mut d = data(&[
        U::root().key(0, days_ago(3), &days_ago(1)),
        U::new("console-no-mfa").console("no_information"),
        U::new("two")
            .key(0, days_ago(1), "N/A")
            .key(1, days_ago(300), &days_ago(200)),
    ]);
    d.facts.password_policy = PolicyState::Absent;
    d.facts.summary = Some(Summary(vec![(
        "AccountSigningCertificatesPresent".into(),
        1,
    )]));
    d.facts.server_certificates = Some(vec![ServerCertificate {
        name: "old".into(),
        arn: "arn:aws:iam::123456789012:server-certificate/old".into(),
        expiration: Some(NOW - DAY),
    }]);
    d.facts.service_credentials = Some(vec![ServiceCredential {
        user: "two".into(),
        service: "logs.amazonaws.com".into(),
        id: "ACCALOGS".into(),
        status: "active".into(),
        created: NOW - 100 * DAY,
        expires: None,
    }]);
    let t = Thresholds::default();
    let p = derive(&d, &t, NOW);
    for c in [
        ControlId::UserMfa,
        ControlId::ExpiredServerCertificate,
        ControlId::ApiKeyLifetime,
        ControlId::PasswordPolicyStrong,
    ] {
        assert_eq!(verdict(&p, c).map(|(f, _)| f), Some(true), "{c:?}");
    }
    for &c in ControlId::ALL {
        let listed =
            findings(&d, &t, NOW, c).map(|f| f.iter().filter(|f| !f.continues).count() as u64);
        assert_eq!(listed, verdict(&p, c).map(|(_, n)| n), "{c:?}");
    }
}

/// The control table as Markdown (id, CIS 1.4.0-4.0.1 / 5.0.0 / 6.0.0 / 7.0.0, Security Hub,
/// severity, title), for docs/controls.md: generated, so the page cannot drift from the code
/// (the tests below compare them).
fn markdown_table() -> String {
    let mut s = String::from(
        "| control | CIS 1.4.0-4.0.1 | CIS 5.0.0 | CIS 6.0.0 | CIS 7.0.0 | Security Hub | severity | title |\n|---|---|---|---|---|---|---|---|\n",
    );
    let or_dash = |v: &'static str| if v.is_empty() { "-" } else { v };
    for c in CONTROLS {
        let sh = match (c.securityhub, c.fsbp) {
            ("", _) => "-".to_owned(),
            (id, true) => format!("{id} (FSBP)"),
            (id, false) => id.to_owned(),
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            c.id,
            if c.cis_label_only {
                "-"
            } else {
                or_dash(c.cis)
            },
            or_dash(c.cis_v5),
            or_dash(c.cis_v6),
            or_dash(c.cis_v7),
            sh,
            c.severity.as_str(),
            c.title
        ));
    }
    s
}

/// What each control checks, as Markdown (id, when it fails, its threshold flag, where its
/// input comes from), for docs/controls.md; generated like [`markdown_table`].
fn markdown_checks() -> String {
    let mut s = String::from(
        "| control | fails when | threshold flag | data source |\n|---|---|---|---|\n",
    );
    for c in CONTROLS {
        let threshold = match c.threshold {
            "" => String::new(),
            flag => format!("`{flag}`"),
        };
        s.push_str(&format!(
            "| `{}` | {} | {threshold} | {} |\n",
            c.id, c.fails_when, c.source
        ));
    }
    s
}

/// docs/controls.md, after checking that it holds `table` (generated by `name`; else the
/// message is the text to paste).
fn controls_md_holding(name: &str, table: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/controls.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    assert!(
        doc.contains(table),
        "paste the table of {name}() (src/posture/tests/table.rs) into {}:\n{table}",
        path.display()
    );
    doc
}

#[test]
fn docs_controls_md_holds_the_generated_benchmark_table() {
    controls_md_holding("markdown_table", &markdown_table());
}

#[test]
fn docs_controls_md_holds_the_generated_checks_table_and_no_other() {
    let doc = controls_md_holding("markdown_checks", &markdown_checks());
    // A row of a control is in one of the two generated tables, and nowhere else.
    for c in CONTROLS {
        let rows = doc
            .lines()
            .filter(|l| l.starts_with(&format!("| `{}` |", c.id)))
            .count();
        assert_eq!(rows, 2, "rows of `{}` in docs/controls.md", c.id);
    }
}
