//! The exporter-level control `root_credentials_management` (asked once, with the exporter's
//! own credentials) carries the same labels as the series of the account it belongs to, so
//! the recording rules in `alerts/` make one series per account: proven with promtool on the
//! real output of a multi-account run (issue 22, item 9).

use super::*;

const MEMBER: &str = "222222222222";

/// The organization of the scenario's default account (the exporter's own, the hub), with one
/// member; the hub reads centralized root access as disabled (the control fails).
fn hub_scenario() -> Scenario {
    let s = Scenario::start();
    seed_scenario_account(&s, DEFAULT_ACCOUNT, 1);
    seed_scenario_account(&s, MEMBER, 2);
    s.set_organization(Some(
        OrganizationState::new(DEFAULT_ACCOUNT).member(MEMBER, "member-two"),
    ));
    s.set_organization_features(Some(OrganizationFeatures {
        organization_id: "o-a1b2c3d4e5".into(),
        enabled: vec!["RootSessions".into()],
    }));
    s
}

fn org_config(dir: &Path, include_management_account: bool) -> PathBuf {
    write_file(
        dir,
        "org.yml",
        &format!(
            "organizations:\n  role_name: IamExporter\n  include_management_account: {include_management_account}\n"
        ),
    )
}

/// The `root_credentials_management` samples of a scrape.
fn root_credentials_management(scrape: &str) -> Vec<Sample> {
    metric_samples(scrape, "aws_iam_control_failing")
        .into_iter()
        .filter(|s| s.labels["control"] == "root_credentials_management")
        .collect()
}

/// `{a="1",b="2"}` in the order given.
fn selector(name: &str, labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{name}{{{}}}", inner.join(","))
}

/// Runs `promtool test rules` with the repository's rules on the scrape's
/// `aws_iam_control_failing` samples, expecting `account_id:aws_iam_control_failing:sum` to be
/// exactly `expected` (account labels -> failing controls): promtool fails on a missing, an
/// extra or a duplicated series.
fn assert_recording_rule_on(scrape: &str, expected: &[(BTreeMap<String, String>, f64)]) {
    let Some(promtool) = require_tool("PROMTOOL", &["promtool"]) else {
        return;
    };
    let rules = repo_root().join("alerts/aws-iam-exporter.rules.yml");
    let mut inputs = String::new();
    for s in metric_samples(scrape, "aws_iam_control_failing") {
        let mut labels = s.labels.clone();
        labels.insert("job".into(), "aws-iam-exporter".into());
        labels.insert("instance".into(), "exporter-a:9741".into());
        inputs.push_str(&format!(
            "      - series: '{}'\n        values: '{}x5'\n",
            selector("aws_iam_control_failing", &labels),
            s.value
        ));
    }
    let mut samples = String::new();
    for (labels, value) in expected {
        samples.push_str(&format!(
            "          - labels: '{}'\n            value: {value}\n",
            selector("account_id:aws_iam_control_failing:sum", labels)
        ));
    }
    let test = format!(
        "rule_files:\n  - {}\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n{inputs}    promql_expr_test:\n      - expr: account_id:aws_iam_control_failing:sum\n        eval_time: 2m\n        exp_samples:\n{samples}",
        rules.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "real-output.test.yml", &test);
    let o = std::process::Command::new(promtool)
        .args(["test", "rules"])
        .arg(&file)
        .output()
        .expect("run promtool");
    assert!(
        o.status.success(),
        "promtool test rules on the real output:\n{}\n{}\n--- test ---\n{test}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Failing controls per account (account_id, account_name) in a scrape.
fn failing_per_account(scrape: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    let mut per: BTreeMap<BTreeMap<String, String>, f64> = BTreeMap::new();
    for s in metric_samples(scrape, "aws_iam_control_failing") {
        let key: BTreeMap<String, String> = s
            .labels
            .iter()
            .filter(|(k, _)| *k == "account_id" || *k == "account_name")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        *per.entry(key).or_default() += s.value;
    }
    per.into_iter().collect()
}

#[test]
fn the_hubs_root_credentials_management_series_has_the_hubs_labels_and_one_series_per_account() {
    let s = hub_scenario();
    let dir = tempfile::tempdir().unwrap();
    let mut e = start_exporter(&s.endpoint(), &org_config(dir.path(), true), &[]);
    let m = wait_scrape(&mut e, "both accounts and the hub's control", |m| {
        let ok = refresh_success(m);
        ok.get(DEFAULT_ACCOUNT) == Some(&1.0)
            && ok.get(MEMBER) == Some(&1.0)
            && !root_credentials_management(m).is_empty()
    });
    let control = root_credentials_management(&m);
    assert_eq!(control.len(), 1, "{control:?}");
    assert_eq!(control[0].value, 1.0);
    // The same labels as every other series of the hub account.
    let users = metric_samples(&m, "aws_iam_users");
    let hub = users
        .iter()
        .find(|s| s.labels["account_id"] == DEFAULT_ACCOUNT)
        .expect("the hub's aws_iam_users");
    assert_eq!(
        hub.labels.get("account_name").map(String::as_str),
        Some("management")
    );
    for key in ["account_id", "account_name"] {
        assert_eq!(control[0].labels.get(key), hub.labels.get(key), "{key}");
    }
    // One series per account for the recording rules, none for a phantom.
    let per = failing_per_account(&m);
    assert_eq!(per.len(), 2, "{per:?}");
    assert_recording_rule_on(&m, &per);
}

#[test]
fn with_the_hub_account_not_watched_no_series_names_it_and_the_feature_gauges_remain() {
    let s = hub_scenario();
    let dir = tempfile::tempdir().unwrap();
    let mut e = start_exporter(&s.endpoint(), &org_config(dir.path(), false), &[]);
    let m = wait_scrape(&mut e, "the member and the organization's features", |m| {
        refresh_success(m).get(MEMBER) == Some(&1.0)
            && !metric_samples(m, "aws_iam_organization_feature_enabled").is_empty()
    });
    // Every account_id of the scrape is a watched account's: no phantom hub.
    let ids: BTreeSet<String> = m
        .lines()
        .filter_map(parse_sample_line)
        .filter_map(|s| s.labels.get("account_id").cloned())
        .collect();
    assert_eq!(ids, BTreeSet::from([MEMBER.to_string()]), "{m}");
    assert_eq!(
        metric_value(
            &m,
            "aws_iam_organization_feature_enabled",
            &[("feature", "RootCredentialsManagement")]
        ),
        Some(0.0)
    );
    let per = failing_per_account(&m);
    assert_eq!(per.len(), 1, "{per:?}");
    assert_recording_rule_on(&m, &per);
}
