//! Centralized root access: one ListOrganizationsFeatures call per interval, not per account.

use super::*;

#[test]
fn list_organizations_features_is_called_once_per_interval_whatever_the_number_of_accounts() {
    let (config, ids) = ten_accounts();
    let s = Scenario::start();
    for id in &ids {
        seed_scenario_account(&s, id, 1);
    }

    // --once: ten accounts, one call, from the exporter's own credentials.
    let out = exporter_cmd(Some(&s.endpoint()))
        .args(["--once", &format!("--config.file={}", config.display())])
        .output()
        .expect("run --once");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = String::from_utf8(out.stdout).unwrap();
    assert_eq!(s.calls_all_accounts("ListOrganizationsFeatures"), 1);
    assert_eq!(
        s.calls("ListOrganizationsFeatures"),
        1,
        "asked as the exporter itself"
    );
    assert_eq!(s.calls_all_accounts("GetAccountSummary"), 10);
    assert_eq!(
        metric_samples(&m, "aws_iam_organization_feature_enabled").len(),
        2
    );
    let control: Vec<Sample> = metric_samples(&m, "aws_iam_control_failing")
        .into_iter()
        .filter(|x| x.labels["control"] == "root_credentials_management")
        .collect();
    // The exporter's own account (the hub) is not among the ten: its control is left out,
    // not served under a phantom account (tests/it/multi_account/hub_labels.rs).
    assert!(control.is_empty(), "{control:?}");
    assert_eq!(accounts_gauge(&m), Some(10.0));

    // The daemon: while each account refreshes every interval, the organization is asked once
    // per interval too, not once per account.
    for id in &ids {
        s.account(id).reset_calls();
    }
    s.reset_calls();
    let mut exp = start_exporter(&s.endpoint(), &config, &[]);
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    wait_all_fresh(&mut exp, &id_refs);
    let deadline = Instant::now() + WAIT;
    while ids
        .iter()
        .any(|id| s.account(id).calls("GetAccountSummary") < 3)
    {
        assert!(
            Instant::now() < deadline,
            "accounts did not refresh 3 times"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let org = s.calls_all_accounts("ListOrganizationsFeatures");
    let most = ids
        .iter()
        .map(|id| s.account(id).calls("GetAccountSummary"))
        .max()
        .unwrap();
    assert!(
        (1..=most + 1).contains(&org),
        "{org} ListOrganizationsFeatures calls while the busiest account refreshed {most} times"
    );
    assert_eq!(
        s.calls("GetCallerIdentity"),
        1,
        "the exporter's account is asked once"
    );
}
