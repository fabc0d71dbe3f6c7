//! Re-discovery (moto): accounts that leave the organization lose their series.

use super::*;

#[test]
fn accounts_leaving_the_organization_lose_their_series() {
    let Some(moto) = Moto::start() else { return };
    let ep = moto.endpoint();
    let accts = runtime().block_on(async {
        let accts = create_org(&ep, &["stays", "removed", "closed"]).await;
        for (name, id) in &accts {
            create_users(&iam_in(&ep, id).await, &names(name, 2)).await;
        }
        accts
    });
    let (stays, removed, closed) = (&accts[0].1, &accts[1].1, &accts[2].1);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(
        dir.path(),
        "org.yml",
        "organizations:\n  role_name: OrganizationAccountAccessRole\n  include_management_account: false\n",
    );
    let mut exp = start_exporter(&ep, &cfg, &[]);
    let before = wait_all_fresh(&mut exp, &[stays, removed, closed]);
    assert_eq!(accounts_gauge(&before), Some(3.0));
    assert!(metric_value(&before, "aws_iam_users", &[("account_id", removed)]) == Some(2.0));

    runtime().block_on(async {
        let org = org_client(&ep).await;
        org.remove_account_from_organization()
            .account_id(removed)
            .send()
            .await
            .expect("RemoveAccountFromOrganization");
        org.close_account()
            .account_id(closed)
            .send()
            .await
            .expect("CloseAccount");
    });
    let left_at = Instant::now();

    let after = wait_scrape(
        &mut exp,
        "the removed and the closed account's series to disappear",
        |s| {
            let ids = account_ids_anywhere(s);
            !ids.contains(removed.as_str()) && !ids.contains(closed.as_str())
        },
    );
    eprintln!(
        "series gone {:.1}s after the accounts left (interval 2s)",
        left_at.elapsed().as_secs_f64()
    );
    assert!(
        !after.contains(removed.as_str()) && !after.contains(closed.as_str()),
        "no trace of the accounts that left"
    );
    assert_eq!(accounts_gauge(&after), Some(1.0));
    assert_eq!(
        account_ids_anywhere(&after),
        BTreeSet::from([stays.clone()])
    );
    // The remaining account keeps refreshing.
    let n = metric_value(
        &after,
        "aws_iam_exporter_refreshes_total",
        &[("account_id", stays), ("result", "success")],
    )
    .unwrap();
    let later = wait_scrape(&mut exp, "one more refresh of the remaining account", |s| {
        metric_value(
            s,
            "aws_iam_exporter_refreshes_total",
            &[("account_id", stays), ("result", "success")],
        )
        .is_some_and(|v| v > n)
    });
    assert_eq!(refresh_success(&later).get(stays.as_str()), Some(&1.0));
    assert!(
        !later.contains(removed.as_str()),
        "removed account came back"
    );
}
