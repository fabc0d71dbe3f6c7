//! The promtool tests of the credential, API-key and certificate alerts are fed the series the
//! exporter emits.

use super::*;

/// The series the credential alerts read, as `--once` emits them.
fn credential_alert_inputs(m: &str) -> std::collections::BTreeSet<String> {
    const CONTROLS: [&str; 3] = [
        "bedrock_long_term_api_key",
        "service_credential_rotation",
        "root_credentials_management",
    ];
    m.lines()
        .filter(|l| {
            l.starts_with("aws_iam_organization_feature_enabled{")
                || ((l.starts_with("aws_iam_control_failing{")
                    || l.starts_with("aws_iam_control_failing_resources{"))
                    && CONTROLS
                        .iter()
                        .any(|c| l.contains(&format!("control=\"{c}\""))))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_credential_alert_tests_are_fed_the_series_the_exporter_emits() {
    const FILE: &str = "alerts/tests/credentials.test.yml";
    // Firing: a long-term Bedrock key, a 120-day-old CodeCommit credential, and an
    // organization with privileged root sessions but no centralized root credentials.
    let s = Scenario::start();
    s.set_service_credentials(vec![
        ServiceCredentialRow::bedrock("bedrock-dev", "ACCABEDROCKACTIVE0001", 10),
        credential(
            "codecommit.amazonaws.com",
            "anika",
            "ACCACODECOMMITOLD0001",
            "Active",
            120,
        ),
    ]);
    s.set_organization_features(org_features(&["RootSessions"]));
    let out = once_ok(&s, &[]);
    if let Some(promtool) = require_tool("PROMTOOL", &["promtool"]) {
        assert_promtool_check_metrics_clean(&promtool, &out, "the credential scenario");
    }
    let firing = credential_alert_inputs(&out);
    assert_eq!(firing.len(), 8, "{firing:#?}");
    assert_eq!(
        promtool_test_inputs(
            FILE,
            "exporter output: Bedrock key, stale credential, centralized root access off"
        ),
        firing,
        "regenerate the input series of {FILE} from `--once` (this test's scenarios)"
    );

    // Healthy: a fresh CodeCommit credential, both features on.
    let s = Scenario::start();
    s.set_service_credentials(vec![credential(
        "codecommit.amazonaws.com",
        "anika",
        "ACCACODECOMMITNEW0001",
        "Active",
        5,
    )]);
    s.set_organization_features(org_features(&["RootCredentialsManagement", "RootSessions"]));
    let healthy = credential_alert_inputs(&once_ok(&s, &[]));
    assert_eq!(
        promtool_test_inputs(
            FILE,
            "exporter output: healthy credentials and organization"
        ),
        healthy,
        "regenerate the input series of {FILE} from `--once` (this test's scenarios)"
    );
}

/// The series the API-key and server-certificate alerts read, as `--once` emits them.
fn api_key_and_certificate_alert_inputs(m: &str) -> std::collections::BTreeSet<String> {
    const CONTROLS: [&str; 2] = ["api_key_lifetime", "expired_server_certificate"];
    m.lines()
        .filter(|l| {
            (l.starts_with("aws_iam_control_failing{")
                || l.starts_with("aws_iam_control_failing_resources{"))
                && CONTROLS
                    .iter()
                    .any(|c| l.contains(&format!("control=\"{c}\"")))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_api_key_and_certificate_alert_tests_are_fed_the_series_the_exporter_emits() {
    const FILE: &str = "alerts/tests/api-keys-certificates.test.yml";
    // Firing: a CloudWatch Logs API key that never expires, a certificate expired a month ago.
    let s = Scenario::start();
    s.set_service_credentials(vec![ServiceCredentialRow::api_key(
        "logs.amazonaws.com",
        "ops",
        "ACCALOGSNEVER000001",
        10,
        None,
    )]);
    s.set_server_certificates(vec![ServerCertificateRow::new("legacy-web", -30)]);
    let out = once_ok(&s, &[]);
    if let Some(promtool) = require_tool("PROMTOOL", &["promtool"]) {
        assert_promtool_check_metrics_clean(
            &promtool,
            &out,
            "the API key and certificate scenario",
        );
    }
    let firing = api_key_and_certificate_alert_inputs(&out);
    assert_eq!(firing.len(), 4, "{firing:#?}");
    assert_eq!(
        promtool_test_inputs(
            FILE,
            "exporter output: an API key that never expires, an expired server certificate"
        ),
        firing,
        "regenerate the input series of {FILE} from `--once` (this test's scenarios)"
    );

    // Healthy: a 30-day API key, a certificate valid for two more months.
    let s = Scenario::start();
    s.set_service_credentials(vec![ServiceCredentialRow::api_key(
        "logs.amazonaws.com",
        "ops",
        "ACCALOGSSHORT000001",
        10,
        Some(30),
    )]);
    s.set_server_certificates(vec![ServerCertificateRow::new("api", 60)]);
    let healthy = api_key_and_certificate_alert_inputs(&once_ok(&s, &[]));
    assert_eq!(
        promtool_test_inputs(
            FILE,
            "exporter output: short-lived API keys and valid certificates"
        ),
        healthy,
        "regenerate the input series of {FILE} from `--once` (this test's scenarios)"
    );
}

/// The series the exposed-key alert reads (and the quarantine's others), as `--once` emits them.
fn exposure_alert_inputs(m: &str) -> std::collections::BTreeSet<String> {
    m.lines()
        .filter(|l| {
            l.starts_with("aws_iam_user_quarantined{")
                || l.starts_with("aws_iam_quarantined_users{")
                || l.starts_with("aws_iam_quarantine_policy_attachments{")
                || ((l.starts_with("aws_iam_control_failing{")
                    || l.starts_with("aws_iam_control_failing_resources{"))
                    && l.contains("control=\"exposed_key_quarantine\""))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_exposure_alert_tests_are_fed_the_series_the_exporter_emits() {
    const FILE: &str = "alerts/tests/exposure.test.yml";
    let cases: [(&str, Vec<PolicyAttachment>); 3] = [
        (
            "exporter output: a user quarantined directly (V4), a member of a quarantined group (V5)",
            vec![
                PolicyAttachment::aws(
                    "AWSCompromisedKeyQuarantineV4",
                    PolicyEntity::user("leaked"),
                ),
                PolicyAttachment::aws(
                    "AWSCompromisedKeyQuarantineV5",
                    PolicyEntity::group("contractors"),
                ),
            ],
        ),
        (
            "exporter output: a quarantine on a role only",
            vec![PolicyAttachment::aws(
                "AWSCompromisedKeyQuarantineV2",
                PolicyEntity::role("ci-deployer"),
            )],
        ),
        ("exporter output: nothing quarantined", vec![]),
    ];
    for (name, attachments) in cases {
        let s = Scenario::start();
        s.set_group("contractors", &["carol"]);
        for a in attachments {
            s.attach_policy(a);
        }
        let out = once_ok(&s, &[]);
        if let Some(promtool) = require_tool("PROMTOOL", &["promtool"]) {
            assert_promtool_check_metrics_clean(&promtool, &out, name);
        }
        let emitted = exposure_alert_inputs(&out);
        assert_eq!(
            promtool_test_inputs(FILE, name),
            emitted,
            "regenerate the input series of {FILE} ({name}) from `--once` (this test's scenarios)"
        );
    }
}
