//! Accounts by assumed role (moto): each account carries its own id, name and users.

use super::*;

#[test]
fn roles_each_account_carries_its_own_id_name_and_users() {
    let Some(moto) = Moto::start() else { return };
    let ep = moto.endpoint();
    let alpha_users = names("alpha-user", 2);
    let beta_users = names("beta-user", 3);
    runtime().block_on(async {
        create_users(&iam_in(&ep, "111111111111").await, &alpha_users).await;
        create_users(&iam_in(&ep, "222222222222").await, &beta_users).await;
    });

    let mut exp = start_exporter(&ep, &fixture("multi/roles.yml"), &[]);
    let scrape = wait_all_fresh(&mut exp, &["111111111111", "222222222222"]);

    let users = |id: &str, name: &str| {
        metric_value(
            &scrape,
            "aws_iam_users",
            &[("account_id", id), ("account_name", name)],
        )
    };
    assert_eq!(users("111111111111", "alpha"), Some(2.0), "{scrape}");
    assert_eq!(users("222222222222", "beta"), Some(3.0), "{scrape}");
    assert_eq!(accounts_gauge(&scrape), Some(2.0));
    // No other account (in particular not the base credentials' 123456789012) is watched.
    assert_eq!(
        account_ids_anywhere(&scrape),
        BTreeSet::from(["111111111111".to_string(), "222222222222".to_string()])
    );

    // Every per-account series carries both labels, and the names never cross.
    for s in scrape.lines().filter_map(parse_sample_line) {
        let Some(id) = s.labels.get("account_id") else {
            continue;
        };
        let want = if id == "111111111111" {
            "alpha"
        } else {
            "beta"
        };
        assert_eq!(
            s.labels.get("account_name").map(String::as_str),
            Some(want),
            "{s:?}"
        );
    }
    // Per-user series land in their own account only.
    for (id, own, other) in [
        ("111111111111", &alpha_users, &beta_users),
        ("222222222222", &beta_users, &alpha_users),
    ] {
        for u in own {
            assert_eq!(
                metric_value(
                    &scrape,
                    "aws_iam_user_active_access_keys",
                    &[("account_id", id), ("user", u)]
                ),
                Some(1.0),
                "{u} in {id}"
            );
        }
        for u in other {
            assert_eq!(
                metric_value(
                    &scrape,
                    "aws_iam_user_active_access_keys",
                    &[("account_id", id), ("user", u)]
                ),
                None,
                "{u} must not appear in {id}"
            );
        }
        assert_eq!(
            metric_value(&scrape, "aws_iam_active_access_keys", &[("account_id", id)]),
            Some(own.len() as f64)
        );
    }
}
