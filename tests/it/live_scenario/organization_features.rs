//! Centralized root access (ListOrganizationsFeatures), an exporter-level control.

use super::*;

fn feature(text: &str, name: &str) -> Option<f64> {
    metric_value(
        text,
        "aws_iam_organization_feature_enabled",
        &[("organization_id", "o-a1b2c3d4e5"), ("feature", name)],
    )
}

#[test]
fn centralized_root_access_on_exports_both_features_and_passes_the_control_under_the_exporters_account()
 {
    let s = Scenario::start();
    s.set_organization_features(org_features(&["RootCredentialsManagement", "RootSessions"]));
    let m = once_ok(&s, &[]);
    assert_eq!(feature(&m, "RootCredentialsManagement"), Some(1.0));
    assert_eq!(feature(&m, "RootSessions"), Some(1.0));
    assert_eq!(
        metric_value(
            &m,
            "aws_iam_control_failing",
            &[ACCT, ("control", "root_credentials_management")]
        ),
        Some(0.0)
    );
    assert_eq!(
        metric_samples(&m, "aws_iam_control_failing")
            .iter()
            .filter(|x| x.labels["control"] == "root_credentials_management")
            .count(),
        1,
        "one control series per exporter, not per account"
    );
    assert_eq!(s.calls("ListOrganizationsFeatures"), 1);
    assert_eq!(
        metric_value(&m, "aws_iam_exporter_accounts", &[]),
        Some(1.0),
        "the organization job is not an account"
    );
}

#[test]
fn one_feature_enabled_exports_the_other_as_0_and_without_root_credentials_management_the_control_fails()
 {
    let s = Scenario::start();
    s.set_organization_features(org_features(&["RootSessions"]));
    let m = once_ok(&s, &[]);
    assert_eq!(feature(&m, "RootCredentialsManagement"), Some(0.0));
    assert_eq!(feature(&m, "RootSessions"), Some(1.0));
    assert_eq!(control(&m, "root_credentials_management"), Some(1.0));
    assert_eq!(
        val(
            &m,
            "aws_iam_control_failing_resources",
            &[ACCT, ("control", "root_credentials_management")]
        ),
        1.0
    );

    s.set_organization_features(org_features(&["RootCredentialsManagement"]));
    let m = once_ok(&s, &[]);
    assert_eq!(feature(&m, "RootCredentialsManagement"), Some(1.0));
    assert_eq!(feature(&m, "RootSessions"), Some(0.0));
    assert_eq!(control(&m, "root_credentials_management"), Some(0.0));

    // No feature at all: both present, both 0.
    s.set_organization_features(org_features(&[]));
    let m = once_ok(&s, &[]);
    assert_eq!(feature(&m, "RootCredentialsManagement"), Some(0.0));
    assert_eq!(feature(&m, "RootSessions"), Some(0.0));
    assert_eq!(control(&m, "root_credentials_management"), Some(1.0));
}

#[test]
fn each_refusal_of_list_organizations_features_leaves_it_unknown_counted_and_the_refresh_successful()
 {
    const OP: &str = "ListOrganizationsFeatures";
    let refusals: [(&str, Refuse); 5] = [
        (
            "AccountNotManagementOrDelegatedAdministratorException",
            Box::new(|s| s.set_organization_features(None)),
        ),
        (
            "OrganizationNotFoundException",
            Box::new(|s| {
                s.push_faults(
                    OP,
                    Fault::error(
                        400,
                        "OrganizationNotFoundException",
                        "not in an organization",
                    ),
                    1,
                )
            }),
        ),
        (
            "OrganizationNotInAllFeaturesModeException",
            Box::new(|s| {
                s.push_faults(
                    OP,
                    Fault::error(
                        400,
                        "OrganizationNotInAllFeaturesModeException",
                        "consolidated billing only",
                    ),
                    1,
                )
            }),
        ),
        (
            "ServiceAccessNotEnabledException",
            Box::new(|s| {
                s.push_faults(
                    OP,
                    Fault::error(
                        400,
                        "ServiceAccessNotEnabledException",
                        "trusted access for IAM is not enabled",
                    ),
                    1,
                )
            }),
        ),
        ("AccessDenied", Box::new(|s| s.deny(OP))),
    ];
    for (code, refuse) in refusals {
        let s = Scenario::start();
        refuse(&s);
        let m = once_ok(&s, &[]);
        assert_eq!(
            metric_samples(&m, "aws_iam_organization_feature_enabled").len(),
            0,
            "{code}: {m}"
        );
        assert_eq!(control(&m, "root_credentials_management"), None, "{code}");
        let counted = metric_samples(&m, "aws_iam_exporter_aws_errors_total")
            .into_iter()
            .find(|x| x.labels.get("operation").map(String::as_str) == Some(OP))
            .unwrap_or_else(|| panic!("{code} not counted:\n{m}"));
        assert_eq!(counted.labels.get("code").map(String::as_str), Some(code));
        assert_eq!(counted.value, 1.0);
        assert!(
            !counted.labels.contains_key("account_id"),
            "exporter-level: {counted:?}"
        );
        assert_eq!(val(&m, "aws_iam_exporter_refresh_success", &[ACCT]), 1.0);
        // The account's own controls are all there.
        assert_eq!(control(&m, "root_access_key"), Some(0.0), "{code}");
    }
}

#[test]
fn a_refused_organization_call_leaves_readiness_alone_and_is_logged_once_not_every_interval() {
    let s = Scenario::start();
    s.set_organization_features(None);
    let mut e = daemon(&s, &[]);
    e.wait_ready(Duration::from_secs(20));
    assert!(
        s.wait_calls("ListOrganizationsFeatures", 4, Duration::from_secs(20)),
        "asked once per interval"
    );
    let m = e.scrape();
    assert_eq!(
        metric_samples(&m, "aws_iam_organization_feature_enabled").len(),
        0
    );
    assert!(
        metric_value(
            &m,
            "aws_iam_exporter_aws_errors_total",
            &[
                ("operation", "ListOrganizationsFeatures"),
                (
                    "code",
                    "AccountNotManagementOrDelegatedAdministratorException"
                )
            ]
        )
        .is_some_and(|v| v >= 3.0),
        "{m}"
    );
    assert_eq!(e.get("/readyz").0, 200);
    // The daemon publishes the benchmark numbers too, not only --once.
    assert!(
        metric_value(
            &m,
            "aws_iam_control_info",
            &[
                ("control", "root_credentials_management"),
                ("version", "7.0.0")
            ]
        ) == Some(1.0),
        "{m}"
    );
    let log = e.stderr();
    let loud: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("ListOrganizationsFeatures")
                && (l.contains("level=warn") || l.contains("level=error"))
        })
        .collect();
    assert_eq!(loud.len(), 1, "{log}");

    // A change of answer is logged again, once.
    s.set_organization_features(org_features(&["RootCredentialsManagement"]));
    e.wait_for_metric(
        "aws_iam_organization_feature_enabled",
        &[("feature", "RootCredentialsManagement")],
        Duration::from_secs(20),
        |v| v == 1.0,
    );
    let log = e.stderr();
    assert_eq!(
        log.lines()
            .filter(
                |l| l.contains("centralized root access features read") && l.contains("level=info")
            )
            .count(),
        1,
        "{log}"
    );
}
