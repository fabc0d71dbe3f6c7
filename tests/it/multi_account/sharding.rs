//! Sharding (scenario server): every account is watched by exactly one shard.

use super::*;

#[test]
fn sharding_covers_every_account_exactly_once() {
    let (config, ids) = ten_accounts();

    let s = Scenario::start();
    for (i, id) in ids.iter().enumerate() {
        seed_scenario_account(&s, id, i + 1);
    }
    let mut shards: Vec<Exporter> = (0..2)
        .map(|i| {
            start_exporter(
                &s.endpoint(),
                &config,
                &["--shard.count=2", &format!("--shard.index={i}")],
            )
        })
        .collect();

    // Expected split: FNV-1a(id) % 2 (the documented rule).
    let expected: Vec<BTreeSet<String>> = (0..2)
        .map(|i| {
            ids.iter()
                .filter(|id| aws_iam_exporter::shard::shard_of(id, 2) == i)
                .cloned()
                .collect()
        })
        .collect();
    assert!(
        expected.iter().all(|e| !e.is_empty()),
        "fixture ids should land in both shards: {expected:?}"
    );

    let mut seen: Vec<BTreeSet<String>> = Vec::new();
    for (i, exp) in shards.iter_mut().enumerate() {
        let want: Vec<&str> = expected[i].iter().map(String::as_str).collect();
        let scrape = wait_all_fresh(exp, &want);
        // Let a few more refreshes happen: no other account may show up later.
        std::thread::sleep(Duration::from_secs(3));
        let scrape2 = exp.scrape();
        let got = account_ids_anywhere(&scrape2);
        assert_eq!(accounts_gauge(&scrape2), Some(want.len() as f64));
        assert_eq!(got, account_ids_anywhere(&scrape));
        // Right user count per account (account i+1 has i+1 users).
        for id in &got {
            let n = ids.iter().position(|x| x == id).unwrap() + 1;
            assert_eq!(
                metric_value(&scrape2, "aws_iam_users", &[("account_id", id)]),
                Some(n as f64),
                "{id}"
            );
        }
        seen.push(got);
    }
    let union: BTreeSet<String> = seen[0].union(&seen[1]).cloned().collect();
    let both: BTreeSet<String> = seen[0].intersection(&seen[1]).cloned().collect();
    assert_eq!(union, ids.iter().cloned().collect::<BTreeSet<_>>());
    assert!(both.is_empty(), "accounts in both shards: {both:?}");
    assert_eq!(seen, expected);
    // Each account was entered (AssumeRole) by one exporter only: the credentials are cached
    // for their hour, so one AssumeRole per account in all, never one for another shard's.
    let mut assumed: BTreeMap<String, usize> = BTreeMap::new();
    for r in s.requests().iter().filter(|r| r.action == "AssumeRole") {
        *assumed
            .entry(r.params.get("RoleArn").cloned().unwrap_or_default())
            .or_default() += 1;
    }
    let want: BTreeMap<String, usize> = ids
        .iter()
        .map(|id| (format!("arn:aws:iam::{id}:role/IamExporter"), 1))
        .collect();
    assert_eq!(assumed, want);
}
