//! Service-specific credentials (ListServiceSpecificCredentials): counted by service and status,
//! judged (Bedrock long-term keys, rotation, the lifetime of every service's API keys), and
//! absent when refused.

use super::*;

fn service_count(text: &str, service: &str, status: &str) -> Option<f64> {
    metric_value(
        text,
        "aws_iam_service_specific_credentials",
        &[ACCT, ("service", service), ("status", status)],
    )
}

#[test]
fn service_credentials_over_several_pages_are_counted_by_service_and_status_and_judged() {
    const BEDROCK: &str = "bedrock.amazonaws.com";
    const CODECOMMIT: &str = "codecommit.amazonaws.com";
    let s = Scenario::start();
    s.set_service_credentials(vec![
        // Active, never expires: a long-term Bedrock key, 10 days old.
        ServiceCredentialRow::bedrock("bedrock-dev", "ACCABEDROCKACTIVE0001", 10),
        // Active with an expiry in 20 days: still long-term.
        ServiceCredentialRow {
            expires: Some(days_ago(-20)),
            ..ServiceCredentialRow::bedrock("bedrock-ci", "ACCABEDROCKEXPIRING01", 10)
        },
        // Expired and inactive keys are not live.
        ServiceCredentialRow {
            expires: Some(days_ago(1)),
            ..credential(
                BEDROCK,
                "bedrock-old",
                "ACCABEDROCKEXPIRED001",
                "Expired",
                40,
            )
        },
        credential(
            BEDROCK,
            "bedrock-off",
            "ACCABEDROCKINACTIVE01",
            "Inactive",
            200,
        ),
        // CodeCommit HTTPS Git: one active and 120 days old (not rotated), one fresh.
        credential(CODECOMMIT, "anika", "ACCACODECOMMITOLD0001", "Active", 120),
        credential(CODECOMMIT, "anika", "ACCACODECOMMITNEW0001", "Active", 5),
        credential(
            "cassandra.amazonaws.com",
            "cassandra-app",
            "ACCAKEYSPACES0000001",
            "Inactive",
            400,
        ),
    ]);
    s.with(|a| a.service_credentials_page_size = Some(2));
    let m = once_ok(&s, &[]);

    // 7 credentials, 2 per page: 4 pages, each after the first with the previous Marker.
    let asked: Vec<RecordedRequest> = s
        .requests()
        .into_iter()
        .filter(|r| r.action == "ListServiceSpecificCredentials")
        .collect();
    assert_eq!(asked.len(), 4, "{asked:?}");
    assert!(
        asked
            .iter()
            .all(|r| r.params.get("AllUsers").map(String::as_str) == Some("true"))
    );
    assert_eq!(asked[0].params.get("Marker"), None);
    assert_eq!(
        asked[3].params.get("Marker").map(String::as_str),
        Some("marker-6")
    );

    assert_eq!(service_count(&m, BEDROCK, "active"), Some(2.0));
    assert_eq!(service_count(&m, BEDROCK, "expired"), Some(1.0));
    assert_eq!(service_count(&m, BEDROCK, "inactive"), Some(1.0));
    assert_eq!(service_count(&m, CODECOMMIT, "active"), Some(2.0));
    assert_eq!(
        service_count(&m, "cassandra.amazonaws.com", "inactive"),
        Some(1.0)
    );
    assert_eq!(
        metric_samples(&m, "aws_iam_service_specific_credentials").len(),
        5
    );

    let per = |name: &str, user: &str, service: &str, id: &str| {
        metric_value(
            &m,
            name,
            &[
                ACCT,
                ("user", user),
                ("service", service),
                ("credential_id", id),
            ],
        )
    };
    let created = "aws_iam_service_specific_credential_created_timestamp_seconds";
    let expires = "aws_iam_service_specific_credential_expiration_timestamp_seconds";
    assert_eq!(metric_samples(&m, created).len(), 7);
    let c = per(created, "anika", CODECOMMIT, "ACCACODECOMMITOLD0001").unwrap();
    assert!((c - unix(days_ago(120)) as f64).abs() <= 120.0, "{c}");
    assert!(per(expires, "bedrock-ci", BEDROCK, "ACCABEDROCKEXPIRING01").is_some());
    assert_eq!(
        per(expires, "bedrock-dev", BEDROCK, "ACCABEDROCKACTIVE0001"),
        None
    );
    assert_eq!(metric_samples(&m, expires).len(), 2);

    // Long-term Bedrock keys: the two active, unexpired ones.
    assert_eq!(control(&m, "bedrock_long_term_api_key"), Some(1.0));
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing_resources",
            &[("control", "bedrock_long_term_api_key")]
        ),
        2.0
    );
    // Not rotated: only the active 120-day CodeCommit credential (inactive ones are not live).
    assert_eq!(control(&m, "service_credential_rotation"), Some(1.0));
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing_resources",
            &[("control", "service_credential_rotation")]
        ),
        1.0
    );
    assert_eq!(
        errors_total(&m, "ListServiceSpecificCredentials", "AccessDenied"),
        None
    );

    // Without per-user series: the counts and controls stay, the per-credential series go.
    let m = once_ok(&s, &["--metrics.per-user=false"]);
    assert_eq!(service_count(&m, BEDROCK, "active"), Some(2.0));
    assert_eq!(metric_samples(&m, created).len(), 0);
    assert_eq!(control(&m, "bedrock_long_term_api_key"), Some(1.0));
}

#[test]
fn api_keys_of_every_service_fail_when_they_never_expire_or_outlive_the_limit() {
    let key = ServiceCredentialRow::api_key;
    let s = Scenario::start();
    s.set_service_credentials(vec![
        // Never expire: each fails, whatever its service.
        key(
            "bedrock.amazonaws.com",
            "bedrock-dev",
            "ACCABEDROCK00000001",
            10,
            None,
        ),
        key(
            "aws-external-anthropic.amazonaws.com",
            "claude-app",
            "ACCAANTHROPIC000001",
            3,
            None,
        ),
        // A service the exporter has never heard of is an API-key service by default.
        key(
            "newservice.amazonaws.com",
            "future",
            "ACCAFUTURE000000001",
            1,
            None,
        ),
        // Lifetimes: 90 days is the limit (passes), 91 and 365 are over it.
        key(
            "logs.amazonaws.com",
            "ops",
            "ACCALOGS00000000001",
            10,
            Some(90),
        ),
        key(
            "logs.amazonaws.com",
            "ops",
            "ACCALOGS00000000002",
            10,
            Some(91),
        ),
        key(
            "cloudwatch.amazonaws.com",
            "dash",
            "ACCACLOUDWATCH00001",
            2,
            Some(365),
        ),
        key(
            "cloudwatch.amazonaws.com",
            "dash",
            "ACCACLOUDWATCH00002",
            2,
            Some(7),
        ),
        // Not live: inactive, expired.
        ServiceCredentialRow {
            status: "Inactive".into(),
            ..key(
                "bedrock.amazonaws.com",
                "off",
                "ACCABEDROCK00000002",
                100,
                None,
            )
        },
        ServiceCredentialRow {
            status: "Expired".into(),
            ..key(
                "logs.amazonaws.com",
                "old",
                "ACCALOGS00000000003",
                400,
                Some(365),
            )
        },
        // The older kinds are no API keys: a CodeCommit or Keyspaces password never expires.
        credential(
            "codecommit.amazonaws.com",
            "anika",
            "ACCACODECOMMIT00001",
            "Active",
            5,
        ),
        credential(
            "cassandra.amazonaws.com",
            "app",
            "ACCAKEYSPACES000001",
            "Active",
            5,
        ),
    ]);
    let m = once_ok(&s, &[]);
    let failing = |m: &str| {
        val(
            m,
            "aws_iam_control_failing_resources",
            &[("control", "api_key_lifetime")],
        )
    };
    assert_eq!(control(&m, "api_key_lifetime"), Some(1.0));
    assert_eq!(failing(&m), 5.0, "3 never expire, 2 over 90 days");
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing",
            &[
                ("control", "api_key_lifetime"),
                ("cis", ""),
                ("securityhub", "")
            ]
        ),
        1.0
    );
    // bedrock_long_term_api_key stays Bedrock's alone.
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing_resources",
            &[("control", "bedrock_long_term_api_key")]
        ),
        1.0
    );
    assert_eq!(
        service_count(&m, "aws-external-anthropic.amazonaws.com", "active"),
        Some(1.0)
    );
    assert_eq!(service_count(&m, "logs.amazonaws.com", "active"), Some(2.0));

    // The limit is --control.api-key-max-lifetime: at 365 days only the keys that never
    // expire fail.
    let m = once_ok(&s, &["--control.api-key-max-lifetime=365d"]);
    assert_eq!(failing(&m), 3.0);
    let m = once_ok(&s, &["--control.api-key-max-lifetime=1d"]);
    assert_eq!(failing(&m), 7.0);
}

#[test]
fn no_service_credentials_pass_both_controls() {
    let s = Scenario::start();
    let m = once_ok(&s, &[]);
    assert_eq!(
        metric_samples(&m, "aws_iam_service_specific_credentials").len(),
        0
    );
    assert_eq!(control(&m, "bedrock_long_term_api_key"), Some(0.0));
    assert_eq!(control(&m, "service_credential_rotation"), Some(0.0));
    assert_eq!(control(&m, "api_key_lifetime"), Some(0.0));
}

#[test]
fn a_refused_or_unsupported_service_credential_list_leaves_them_absent_counted_and_the_refresh_successful()
 {
    const OP: &str = "ListServiceSpecificCredentials";
    let refusals: [(&str, Refuse); 2] = [
        ("AccessDenied", Box::new(|s| s.deny(OP))),
        (
            "NotSupportedService",
            Box::new(|s| {
                s.push_faults(
                    OP,
                    Fault::error(
                        404,
                        "NotSupportedService",
                        "The specified service is not supported in this partition.",
                    ),
                    1,
                )
            }),
        ),
    ];
    for (code, refuse) in refusals {
        let s = Scenario::start();
        s.set_service_credentials(vec![ServiceCredentialRow::bedrock(
            "bedrock-dev",
            "ACCABEDROCKACTIVE0001",
            10,
        )]);
        refuse(&s);
        let m = once_ok(&s, &[]);
        for name in [
            "aws_iam_service_specific_credentials",
            "aws_iam_service_specific_credential_created_timestamp_seconds",
        ] {
            assert_eq!(metric_samples(&m, name).len(), 0, "{code}: {name}");
        }
        assert_eq!(control(&m, "bedrock_long_term_api_key"), None, "{code}");
        assert_eq!(control(&m, "service_credential_rotation"), None, "{code}");
        assert_eq!(control(&m, "api_key_lifetime"), None, "{code}");
        assert_eq!(errors_total(&m, OP, code), Some(1.0), "{code}: {m}");
        assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
        assert_eq!(control(&m, "root_access_key"), Some(0.0), "{code}");
    }
}
