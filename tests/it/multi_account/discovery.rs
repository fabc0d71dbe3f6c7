//! AWS Organizations discovery (moto): members are watched, excluded ones are not.

use super::*;

#[test]
fn organizations_discovery_watches_members_but_not_excluded_ones() {
    let Some(moto) = Moto::start() else { return };
    let ep = moto.endpoint();
    let accts = runtime().block_on(async {
        let accts = create_org(&ep, &["team-a", "team-b", "team-c"]).await;
        // Users so that each account's data is its own: team-a 1, team-b 2, team-c 3.
        for (i, (name, id)) in accts.iter().enumerate() {
            create_users(&iam_in(&ep, id).await, &names(name, i + 1)).await;
        }
        accts
    });
    let (a, b, c) = (&accts[0].1, &accts[1].1, &accts[2].1);
    let dir = tempfile::tempdir().unwrap();

    // Discovery excluding team-b, with or without the management account.
    let config = |name: &str, include_management_account: bool| {
        write_file(
            dir.path(),
            name,
            &format!(
                "organizations:\n  role_name: OrganizationAccountAccessRole\n  \
                 include_management_account: {include_management_account}\n  \
                 exclude_accounts: [\"{b}\"]\n"
            ),
        )
    };
    let with_mgmt = config("org.yml", true);
    let without_mgmt = config("org-no-mgmt.yml", false);
    let mut exp1 = start_exporter(&ep, &with_mgmt, &[]);
    let mut exp2 = start_exporter(&ep, &without_mgmt, &[]);

    let s1 = wait_all_fresh(&mut exp1, &[MANAGEMENT, a, c]);
    let s2 = wait_all_fresh(&mut exp2, &[a, c]);

    assert_eq!(
        account_ids_anywhere(&s1),
        BTreeSet::from([MANAGEMENT.to_string(), a.clone(), c.clone()]),
        "management + team-a + team-c, not the excluded team-b"
    );
    assert_eq!(accounts_gauge(&s1), Some(3.0));
    assert_eq!(
        metric_value(&s1, "aws_iam_exporter_account_discovery_success", &[]),
        Some(1.0),
        "discovery through Organizations succeeded"
    );
    assert_eq!(
        account_ids_anywhere(&s2),
        BTreeSet::from([a.clone(), c.clone()])
    );
    assert_eq!(accounts_gauge(&s2), Some(2.0));

    // Organization account names become account_name; each account has its own users.
    for s in [&s1, &s2] {
        assert_eq!(
            metric_value(
                s,
                "aws_iam_users",
                &[("account_id", a), ("account_name", "team-a")]
            ),
            Some(1.0)
        );
        assert_eq!(
            metric_value(
                s,
                "aws_iam_users",
                &[("account_id", c), ("account_name", "team-c")]
            ),
            Some(3.0)
        );
        assert!(!s.contains(b.as_str()), "excluded {b} appears");
    }
    assert_eq!(
        metric_value(&s1, "aws_iam_users", &[("account_id", MANAGEMENT)]),
        Some(0.0)
    );
    // The management account is named too (moto calls it "master").
    let mgmt_name = metric_samples(&s1, "aws_iam_exporter_refresh_success")
        .into_iter()
        .find(|x| x.labels.get("account_id").map(String::as_str) == Some(MANAGEMENT))
        .and_then(|x| x.labels.get("account_name").cloned());
    assert!(
        mgmt_name.as_deref().is_some_and(|n| !n.is_empty()),
        "{mgmt_name:?}"
    );
}
