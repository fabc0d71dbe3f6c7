//! A role that cannot be assumed fails alone; every account signs its calls with its own session.

use super::*;

#[test]
fn a_role_that_cannot_be_assumed_fails_alone() {
    let s = Scenario::start();
    seed_scenario_account(&s, "111111111111", 1);
    seed_scenario_account(&s, "222222222222", 2);
    let denied = seed_scenario_account(&s, "333333333333", 3);
    denied.deny_assume_role("arn:aws:iam::333333333333:role/IamExporter");

    let mut exp = start_exporter(
        &s.endpoint(),
        &fixture("multi/three-roles-one-denied.yml"),
        &[],
    );
    let scrape = wait_scrape(
        &mut exp,
        "two fresh accounts and a failed 333333333333 with an AWS error counted",
        |sc| {
            let ok = refresh_success(sc);
            ok.get("111111111111") == Some(&1.0)
                && ok.get("222222222222") == Some(&1.0)
                && ok.get("333333333333") == Some(&0.0)
                && aws_errors(sc, "333333333333").0 >= 1.0
        },
    );
    let (_, kinds) = aws_errors(&scrape, "333333333333");
    eprintln!("errors counted for the denied account: {kinds:?}");

    // The others are fresh, with their data.
    for (id, name, users) in [("111111111111", "one", 1.0), ("222222222222", "two", 2.0)] {
        assert_eq!(
            metric_value(
                &scrape,
                "aws_iam_users",
                &[("account_id", id), ("account_name", name)]
            ),
            Some(users)
        );
        assert_eq!(aws_errors(&scrape, id).0, 0.0, "{id} has no errors");
        assert!(
            metric_value(
                &scrape,
                "aws_iam_exporter_last_refresh_success_timestamp_seconds",
                &[("account_id", id)]
            )
            .is_some()
        );
    }
    // The denied one: failure counted, named, no data (it never succeeded).
    assert_eq!(
        metric_value(
            &scrape,
            "aws_iam_exporter_refresh_success",
            &[
                ("account_id", "333333333333"),
                ("account_name", "three-denied")
            ]
        ),
        Some(0.0)
    );
    assert!(
        metric_value(
            &scrape,
            "aws_iam_exporter_refreshes_total",
            &[("account_id", "333333333333"), ("result", "failure")]
        )
        .is_some_and(|v| v >= 1.0)
    );
    assert_eq!(
        metric_value(&scrape, "aws_iam_users", &[("account_id", "333333333333")]),
        None
    );
    // It never got past AssumeRole: no IAM call reached its account.
    assert_eq!(denied.calls("GetAccountSummary"), 0);

    // The failure stays isolated over further refreshes.
    let later = wait_scrape(&mut exp, "a second failed refresh of 333333333333", |sc| {
        metric_value(
            sc,
            "aws_iam_exporter_refreshes_total",
            &[("account_id", "333333333333"), ("result", "failure")],
        )
        .is_some_and(|v| v >= 2.0)
    });
    let ok = refresh_success(&later);
    assert_eq!(ok.get("111111111111"), Some(&1.0));
    assert_eq!(ok.get("222222222222"), Some(&1.0));
    // Counted as what failed: sts:AssumeRole, with AWS's error code.
    assert!(
        kinds
            .iter()
            .any(|(op, code)| op == "AssumeRole" && code == "AccessDenied"),
        "the error should name the operation that failed (sts:AssumeRole) and AWS's code \
         (AccessDenied); counted instead: {kinds:?}"
    );
}

/// Every account shares one STS and one IAM client; what an account keeps of its own is its
/// role's credentials and their cache. So: one AssumeRole per account for the hour the
/// session lasts, however many refreshes and IAM calls, with the role's external id, and every
/// IAM call signed with its own account's session (never another's, never the base key).
#[test]
fn each_account_assumes_its_role_once_and_signs_every_call_with_its_own_session() {
    let s = Scenario::start();
    let alpha = seed_scenario_account(&s, "111111111111", 1);
    let beta = seed_scenario_account(&s, "222222222222", 2);
    let mut exp = start_exporter(&s.endpoint(), &fixture("multi/roles.yml"), &[]);
    wait_all_fresh(&mut exp, &["111111111111", "222222222222"]);
    // Three refreshes of each account (six IAM calls each): the credentials must be reused.
    for a in [&alpha, &beta] {
        assert!(
            poll_until(WAIT, || (a.calls("GetAccountSummary") >= 3).then_some(())).is_some(),
            "three refreshes\n{}",
            exp.stderr()
        );
    }

    let requests = s.requests();
    let assumed: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.action == "AssumeRole")
        .collect();
    let param = |r: &RecordedRequest, k: &str| r.params.get(k).cloned();
    let by_role: BTreeMap<String, (usize, Option<String>, Option<String>)> =
        assumed.iter().fold(BTreeMap::new(), |mut m, r| {
            let e = m
                .entry(param(r, "RoleArn").unwrap_or_default())
                .or_insert((0, None, None));
            e.0 += 1;
            e.1 = param(r, "ExternalId");
            e.2 = param(r, "RoleSessionName");
            m
        });
    let session = Some("aws-iam-exporter".to_string());
    assert_eq!(
        by_role,
        BTreeMap::from([
            (
                "arn:aws:iam::111111111111:role/IamExporter".to_string(),
                (1, None, session.clone())
            ),
            (
                "arn:aws:iam::222222222222:role/IamExporter".to_string(),
                (1, Some("alpha-beta-external-id".to_string()), session)
            ),
        ])
    );
    // AssumeRole itself is signed with the exporter's own credentials.
    let base_keys: BTreeSet<Option<String>> =
        assumed.iter().map(|r| r.access_key_id.clone()).collect();
    assert_eq!(base_keys.len(), 1, "{base_keys:?}");

    // Two sessions sign the accounts' IAM calls, one per account, and each call lands in its
    // account: nothing in the base credentials' own account, and every account's users are its
    // own. (ListOrganizationsFeatures is the exporter's own call, with its own credentials.)
    let iam_keys: BTreeSet<Option<String>> = requests
        .iter()
        .filter(|r| r.service.as_deref() == Some("iam") && r.action != "ListOrganizationsFeatures")
        .map(|r| r.access_key_id.clone())
        .collect();
    assert_eq!(iam_keys.len(), 2, "{iam_keys:?}");
    assert!(iam_keys.is_disjoint(&base_keys));
    assert_eq!(s.calls("GetAccountSummary"), 0);
    let scrape = exp.scrape();
    for (id, users) in [("111111111111", 1.0), ("222222222222", 2.0)] {
        assert_eq!(
            metric_value(&scrape, "aws_iam_users", &[("account_id", id)]),
            Some(users),
            "{id}"
        );
    }
}

/// The same on moto with IAM auth enforced (MOTO-NOTES recipe): the exporter's own user may
/// assume every role except 333333333333's (explicit Deny). moto's auth errors are not in a
/// shape the SDK parses, so only the isolation is asserted here, not the error code.
#[test]
fn moto_a_denied_role_fails_alone_under_auth_enforcement() {
    let Some(moto) = Moto::start() else { return };
    let ep = moto.endpoint();
    let accounts = ["222222222222", "333333333333", "444444444444"];
    let key = runtime().block_on(async {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
        // The member roles get the policy the project ships.
        let ro = std::fs::read_to_string(repo_root().join("deploy/iam-policy.json"))
            .expect("deploy/iam-policy.json");
        let ro = ro.as_str();
        for (i, id) in accounts.iter().enumerate() {
            let iam = iam_in(&ep, id).await;
            iam.create_role()
                .role_name("IamExporter")
                .assume_role_policy_document(trust)
                .send()
                .await
                .expect("CreateRole");
            iam.put_role_policy()
                .role_name("IamExporter")
                .policy_name("ro")
                .policy_document(ro)
                .send()
                .await
                .expect("PutRolePolicy");
            create_users(&iam, &names(&format!("u{id}"), i + 1)).await;
        }
        let iam = aws_sdk_iam::Client::new(&sdk_config(&ep, testing_credentials()).await);
        iam.create_user()
            .user_name("exporter")
            .send()
            .await
            .expect("CreateUser exporter");
        let policy = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"},
            {"Effect":"Deny","Action":"sts:AssumeRole","Resource":"arn:aws:iam::333333333333:role/IamExporter"}]}"#;
        iam.put_user_policy()
            .user_name("exporter")
            .policy_name("assume")
            .policy_document(policy)
            .send()
            .await
            .expect("PutUserPolicy");
        let k = iam
            .create_access_key()
            .user_name("exporter")
            .send()
            .await
            .expect("CreateAccessKey exporter");
        let k = k.access_key().expect("key");
        (
            k.access_key_id().to_string(),
            k.secret_access_key().to_string(),
        )
    });
    moto.set_auth_after(Some(0));

    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(
        dir.path(),
        "moto-roles.yml",
        &accounts
            .iter()
            .map(|id| {
                format!("  - role_arn: arn:aws:iam::{id}:role/IamExporter\n    name: n{id}\n")
            })
            .fold("accounts:\n".to_string(), |a, b| a + &b),
    );
    let mut exp = Exporter::start_with(ExporterOpts {
        args: vec![
            format!("--config.file={}", cfg.display()),
            INTERVAL.to_string(),
            "--aws.max-attempts=1".to_string(),
        ],
        aws_endpoint: Some(ep.clone()),
        env: vec![
            ("AWS_ACCESS_KEY_ID".into(), key.0),
            ("AWS_SECRET_ACCESS_KEY".into(), key.1),
        ],
        ..Default::default()
    });
    exp.wait_listening(Duration::from_secs(30));
    let scrape = wait_scrape(
        &mut exp,
        "222/444 fresh, 333 failed with an error counted",
        |sc| {
            let ok = refresh_success(sc);
            ok.get("222222222222") == Some(&1.0)
                && ok.get("444444444444") == Some(&1.0)
                && ok.get("333333333333") == Some(&0.0)
                && aws_errors(sc, "333333333333").0 >= 1.0
        },
    );
    eprintln!(
        "moto: errors counted for the denied account: {:?}",
        aws_errors(&scrape, "333333333333").1
    );
    assert_eq!(
        metric_value(&scrape, "aws_iam_users", &[("account_id", "222222222222")]),
        Some(1.0)
    );
    assert_eq!(
        metric_value(&scrape, "aws_iam_users", &[("account_id", "444444444444")]),
        Some(3.0)
    );
    assert_eq!(
        metric_value(&scrape, "aws_iam_users", &[("account_id", "333333333333")]),
        None
    );
    for id in ["222222222222", "444444444444"] {
        assert_eq!(aws_errors(&scrape, id).0, 0.0, "{id}: {scrape}");
    }
}
