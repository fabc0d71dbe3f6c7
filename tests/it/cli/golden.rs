//! The golden `--once` output, the alert test fed what it emits, and `promtool check metrics`.

use super::*;

#[test]
fn once_output_of_the_full_fixture_matches_the_golden_file() {
    let got = normalise(&once("full.csv", Some("full.summary.json"), &[]), &[]);
    let golden = fixture("reports/full.expected.prom");
    assert_golden(&golden, &got, "cli::");
}

/// The promtool test that proves every root alert quiet for a credential-less root must be fed
/// what the exporter really emits for one, not hand-typed series.
#[test]
fn the_credentialless_root_alert_test_is_fed_the_series_the_exporter_emits() {
    let out = once(
        "credentialless-root.csv",
        Some("credentialless-root.summary.json"),
        &[],
    );
    let emitted: std::collections::BTreeSet<String> = out
        .lines()
        .filter(|l| l.starts_with("aws_iam_root_"))
        .map(str::to_owned)
        .collect();
    assert!(emitted.contains("aws_iam_root_credentials_present{account_id=\"777788889999\"} 0"));
    assert_eq!(
        control(&out.replace("777788889999", ACCOUNT), "root_mfa"),
        0.0
    );
    const FILE: &str = "alerts/tests/root.test.yml";
    let fed = promtool_test_inputs(FILE, "credential-less root");
    assert_eq!(
        fed, emitted,
        "regenerate the input series of {FILE} from `--once` on the fixture"
    );
}

#[test]
fn once_output_passes_promtool_check_metrics() {
    let Some(promtool) = require_tool("PROMTOOL", &["promtool"]) else {
        return;
    };
    for (report, summary) in [("full.csv", Some("full.summary.json")), ("full.json", None)] {
        assert_promtool_check_metrics_clean(&promtool, &once(report, summary, &[]), report);
    }
}
