//! IAM server certificates (ListServerCertificates, every page): each certificate's expiration,
//! and `expired_server_certificate` (CIS 1.19 in v1.4-4.0, Security Hub IAM.26); absent when
//! the call fails.

use super::*;

const EXPIRATION: &str = "aws_iam_server_certificate_expiration_timestamp_seconds";

fn expiration(text: &str, certificate: &str) -> Option<f64> {
    metric_value(text, EXPIRATION, &[ACCT, ("certificate", certificate)])
}

#[test]
fn expired_server_certificates_over_several_pages_fail_and_valid_ones_pass() {
    let s = Scenario::start();
    s.set_server_certificates(vec![
        ServerCertificateRow::new("legacy-web", -30),
        ServerCertificateRow {
            path: "/cloudfront/".into(),
            ..ServerCertificateRow::new("cdn-2025", -1)
        },
        ServerCertificateRow::new("api", 60),
    ]);
    s.with(|a| a.server_certificates_page_size = Some(2));
    let m = once_ok(&s, &[]);

    // 3 certificates, 2 per page: 2 calls, the second with the first's Marker, every path.
    let asked: Vec<RecordedRequest> = s
        .requests()
        .into_iter()
        .filter(|r| r.action == "ListServerCertificates")
        .collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[0].params.get("Marker"), None);
    assert_eq!(
        asked[1].params.get("Marker").map(String::as_str),
        Some("marker-2")
    );
    assert!(
        asked
            .iter()
            .all(|r| r.params.get("PathPrefix").is_none_or(|p| p == "/"))
    );

    assert_eq!(metric_samples(&m, EXPIRATION).len(), 3);
    let legacy = expiration(&m, "legacy-web").unwrap();
    assert!(
        (legacy - unix(days_ago(30)) as f64).abs() <= 120.0,
        "{legacy}"
    );
    // The name alone identifies a certificate (unique in the account); the path is no label.
    let cdn = metric_samples(&m, EXPIRATION)
        .into_iter()
        .find(|x| x.labels.get("certificate").map(String::as_str) == Some("cdn-2025"))
        .expect("cdn-2025");
    assert!(!cdn.labels.contains_key("path"), "{:?}", cdn.labels);
    assert!(expiration(&m, "api").unwrap() > unix(now()) as f64);

    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing",
            &[
                ("control", "expired_server_certificate"),
                ("cis", "1.19"),
                ("securityhub", "IAM.26")
            ]
        ),
        1.0
    );
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing_resources",
            &[("control", "expired_server_certificate")]
        ),
        2.0
    );
    assert_eq!(
        errors_total(&m, "ListServerCertificates", "AccessDenied"),
        None
    );

    // Kept without the per-user series: certificates are few (a quota of 20 by default).
    let m = once_ok(&s, &["--metrics.per-user=false"]);
    assert_eq!(metric_samples(&m, EXPIRATION).len(), 3);
}

#[test]
fn no_certificate_or_only_valid_ones_pass() {
    let s = Scenario::start();
    let m = once_ok(&s, &[]);
    assert_eq!(control(&m, "expired_server_certificate"), Some(0.0));
    assert_eq!(metric_samples(&m, EXPIRATION).len(), 0);

    s.set_server_certificates(vec![ServerCertificateRow::new("api", 1)]);
    let m = once_ok(&s, &[]);
    assert_eq!(control(&m, "expired_server_certificate"), Some(0.0));
    assert!(expiration(&m, "api").is_some());
}

#[test]
fn a_certificate_without_an_expiration_is_unknown_unless_another_has_expired() {
    let s = Scenario::start();
    let unknown = ServerCertificateRow {
        expiration: None,
        ..ServerCertificateRow::new("no-date", 0)
    };
    s.set_server_certificates(vec![unknown.clone(), ServerCertificateRow::new("api", 30)]);
    let m = once_ok(&s, &[]);
    assert_eq!(control(&m, "expired_server_certificate"), None);
    assert_eq!(expiration(&m, "no-date"), None);
    assert!(expiration(&m, "api").is_some());

    s.set_server_certificates(vec![unknown, ServerCertificateRow::new("old", -2)]);
    let m = once_ok(&s, &[]);
    assert_eq!(control(&m, "expired_server_certificate"), Some(1.0));
}

#[test]
fn a_refused_certificate_list_leaves_them_absent_counted_and_the_refresh_successful() {
    let s = Scenario::start();
    s.set_server_certificates(vec![ServerCertificateRow::new("legacy-web", -30)]);
    s.deny("ListServerCertificates");
    let m = once_ok(&s, &[]);
    assert_eq!(control(&m, "expired_server_certificate"), None);
    assert_eq!(metric_samples(&m, EXPIRATION).len(), 0);
    assert_eq!(
        errors_total(&m, "ListServerCertificates", "AccessDenied"),
        Some(1.0)
    );
    assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
    assert_eq!(control(&m, "root_access_key"), Some(0.0));
    let log = String::from_utf8(once(&s, &[]).stderr).unwrap();
    assert!(log.contains("needs iam:ListServerCertificates"), "{log}");
}
