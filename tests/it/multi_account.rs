//! Multi-account mode (issue 6): accounts by assumed role, AWS Organizations discovery,
//! per-account failure isolation, sharding, re-discovery, and a scale run.
//!
//! moto tests use the SDK against moto to seed each account (credentials from AssumeRole into
//! that account); scenario-server tests use `Scenario::account(id)`. Every exporter runs with
//! `--refresh.interval 2s` (1s for scale): the first refresh of an account comes after a
//! stable offset within the interval, so every wait below allows several intervals.
//!
//! Scale: `scale_accounts_all_refresh` runs 20 accounts by default; with
//! `AWS_IAM_EXPORTER_SCALE=1` it runs 200 (see scripts/scale-test.sh) and prints a table.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_iam::config::Credentials;

use common::scenario::*;
use common::*;

const INTERVAL: &str = "--refresh.interval=2s";
/// Generous: debug builds, two cores shared with other cargo runs.
const WAIT: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/multi").join(name)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

// ---------------------------------------------------------------------------
// Scrape helpers
// ---------------------------------------------------------------------------

/// account_id -> value of `aws_iam_exporter_refresh_success`.
fn refresh_success(scrape: &str) -> BTreeMap<String, f64> {
    metric_samples(scrape, "aws_iam_exporter_refresh_success")
        .into_iter()
        .filter_map(|s| s.labels.get("account_id").cloned().map(|id| (id, s.value)))
        .collect()
}

/// Every `account_id` label value anywhere in the scrape, but for the exporter-level
/// `root_credentials_management` control, which carries the exporter's own account (the
/// scenario server's default account), watched or not.
fn account_ids_anywhere(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter_map(parse_sample_line)
        .filter(|s| {
            s.labels.get("control").map(String::as_str) != Some("root_credentials_management")
        })
        .filter_map(|s| s.labels.get("account_id").cloned())
        .collect()
}

/// The exporter's aws_iam_exporter_accounts gauge.
fn accounts_gauge(scrape: &str) -> Option<f64> {
    metric_value(scrape, "aws_iam_exporter_accounts", &[])
}

/// Sum of aws_iam_exporter_aws_errors_total for one account, and the (operation, code) pairs.
fn aws_errors(scrape: &str, account_id: &str) -> (f64, BTreeSet<(String, String)>) {
    let samples: Vec<Sample> = aws_errors_beyond_moto_gaps(scrape)
        .into_iter()
        .filter(|s| s.labels.get("account_id").map(String::as_str) == Some(account_id))
        .collect();
    let sum = samples.iter().map(|s| s.value).sum();
    let kinds = samples
        .iter()
        .map(|s| {
            (
                s.labels.get("operation").cloned().unwrap_or_default(),
                s.labels.get("code").cloned().unwrap_or_default(),
            )
        })
        .collect();
    (sum, kinds)
}

/// Scrapes until `pred(scrape)` holds; returns that scrape. Panics with the last scrape and
/// the exporter's log on timeout.
fn wait_scrape(exporter: &mut Exporter, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    let mut last = String::new();
    loop {
        exporter.assert_running(what);
        let r = exporter.request("/metrics", &[]);
        if r.status == 200 {
            last = r.text();
            if pred(&last) {
                return last;
            }
        }
        if Instant::now() >= deadline {
            let interesting: Vec<&str> = last
                .lines()
                .filter(|l| l.starts_with("aws_iam_exporter_") || l.starts_with("aws_iam_users"))
                .collect();
            panic!(
                "timeout ({WAIT:?}) waiting for {what}; last scrape (exporter_* and users lines):\n{}\n--- stderr ---\n{}",
                interesting.join("\n"),
                exporter.stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until every account in `ids` has refresh_success 1.
fn wait_all_fresh(exporter: &mut Exporter, ids: &[&str]) -> String {
    wait_scrape(exporter, &format!("refresh_success 1 for {ids:?}"), |s| {
        let ok = refresh_success(s);
        ids.iter().all(|id| ok.get(*id) == Some(&1.0))
    })
}

fn start_exporter(endpoint: &str, config: &Path, extra: &[&str]) -> Exporter {
    let mut args = vec![
        format!("--config.file={}", config.display()),
        INTERVAL.to_string(),
        "--aws.max-attempts=1".to_string(),
        "--aws.timeout=10s".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut exp = Exporter::start_with(ExporterOpts {
        args,
        aws_endpoint: Some(endpoint.to_string()),
        ..Default::default()
    });
    exp.wait_listening(Duration::from_secs(30));
    exp
}

// ---------------------------------------------------------------------------
// moto seeding through the SDK
// ---------------------------------------------------------------------------

async fn sdk(endpoint: &str, creds: Credentials) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .load()
        .await
}

fn testing_creds() -> Credentials {
    Credentials::new("testing", "testing", None, None, "tests")
}

/// An IAM client acting in `account_id` (AssumeRole into it with the `testing` key).
async fn iam_in(endpoint: &str, account_id: &str) -> aws_sdk_iam::Client {
    let base = sdk(endpoint, testing_creds()).await;
    let out = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account_id}:role/Setup"))
        .role_session_name("test-setup")
        .send()
        .await
        .unwrap_or_else(|e| panic!("AssumeRole into {account_id}: {e:?}"));
    let c = out.credentials().expect("credentials");
    let creds = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "assumed",
    );
    aws_sdk_iam::Client::new(&sdk(endpoint, creds).await)
}

/// Creates `users` in the account of `iam`; every user gets one access key.
async fn create_users(iam: &aws_sdk_iam::Client, users: &[String]) {
    for u in users {
        iam.create_user()
            .user_name(u)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateUser {u}: {e:?}"));
        iam.create_access_key()
            .user_name(u)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateAccessKey {u}: {e:?}"));
    }
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

/// An organization (management account 123456789012, the `testing` key's account) with one
/// created account per name; returns (name, id) in order.
async fn create_org(endpoint: &str, names: &[&str]) -> Vec<(String, String)> {
    let org = aws_sdk_organizations::Client::new(&sdk(endpoint, testing_creds()).await);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("CreateOrganization");
    let mut out = Vec::new();
    for n in names {
        let st = org
            .create_account()
            .email(format!("{n}@example.com"))
            .account_name(*n)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateAccount {n}: {e:?}"));
        let id = st
            .create_account_status()
            .and_then(|s| s.account_id())
            .expect("account id")
            .to_string();
        out.push((n.to_string(), id));
    }
    out
}

async fn org_client(endpoint: &str) -> aws_sdk_organizations::Client {
    aws_sdk_organizations::Client::new(&sdk(endpoint, testing_creds()).await)
}

const MANAGEMENT: &str = "123456789012";

// ---------------------------------------------------------------------------
// Accounts by role (moto)
// ---------------------------------------------------------------------------

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

    let mut exp = start_exporter(&ep, &fixture("roles.yml"), &[]);
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

// ---------------------------------------------------------------------------
// Organizations discovery (moto)
// ---------------------------------------------------------------------------

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

    // With the management account.
    let with_mgmt = write_file(
        dir.path(),
        "org.yml",
        &format!(
            "organizations:\n  role_name: OrganizationAccountAccessRole\n  \
             include_management_account: true\n  exclude_accounts: [\"{b}\"]\n"
        ),
    );
    // Without it.
    let without_mgmt = write_file(
        dir.path(),
        "org-no-mgmt.yml",
        &format!(
            "organizations:\n  role_name: OrganizationAccountAccessRole\n  \
             include_management_account: false\n  exclude_accounts: [\"{b}\"]\n"
        ),
    );
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

// ---------------------------------------------------------------------------
// A role that cannot be assumed (scenario server)
// ---------------------------------------------------------------------------

fn seed_scenario_account(s: &Scenario, id: &str, users: usize) -> AccountHandle {
    let a = s.account(id);
    a.set_report(
        ReportBuilder::new(id)
            .root(RootRow::default())
            .users((0..users).map(|i| {
                UserRow::new(&format!("u{i}"))
                    .created(days_ago(30))
                    .key1(days_ago(20), Some(days_ago(1)))
            }))
            .csv(),
    );
    a.set_summary("Users", users as i64);
    a
}

#[test]
fn a_role_that_cannot_be_assumed_fails_alone() {
    let s = Scenario::start();
    seed_scenario_account(&s, "111111111111", 1);
    seed_scenario_account(&s, "222222222222", 2);
    let denied = seed_scenario_account(&s, "333333333333", 3);
    denied.deny_assume_role("arn:aws:iam::333333333333:role/IamExporter");

    let mut exp = start_exporter(&s.endpoint(), &fixture("three-roles-one-denied.yml"), &[]);
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
    let mut exp = start_exporter(&s.endpoint(), &fixture("roles.yml"), &[]);
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
        let iam = aws_sdk_iam::Client::new(&sdk(&ep, testing_creds()).await);
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

/// The `ten-accounts.yml` fixture and the ids of its ten roles.
fn ten_accounts() -> (PathBuf, Vec<String>) {
    let config = fixture("ten-accounts.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    let ids: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- role_arn: arn:aws:iam::"))
        .map(|r| r[..12].to_string())
        .collect();
    assert_eq!(ids.len(), 10);
    (config, ids)
}

// ---------------------------------------------------------------------------
// Centralized root access: one call per interval, not per account
// ---------------------------------------------------------------------------

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
    assert_eq!(control.len(), 1, "{control:?}");
    assert_eq!(control[0].labels["account_id"], DEFAULT_ACCOUNT);
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

// ---------------------------------------------------------------------------
// Sharding (scenario server)
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Re-discovery: accounts that leave the organization lose their series (moto)
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Scale (scenario server)
// ---------------------------------------------------------------------------

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|r| r.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// CPU seconds a process has used (utime + stime of /proc/PID/stat, in USER_HZ ticks, which
/// Linux fixes at 100 for userspace).
fn proc_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

struct ScaleResult {
    concurrency: usize,
    all_fresh: Duration,
    /// CPU seconds of the exporter until every account had data: start-up and one refresh of
    /// every account.
    cpu_first_round: f64,
    /// With `AWS_IAM_EXPORTER_SCALE_STEADY_SECS`: CPU seconds over that window after the first
    /// round, scaled to one refresh interval.
    cpu_per_interval: Option<f64>,
    hwm_kib: u64,
    rss_kib: u64,
    scrape_bytes: usize,
    scrape_gzip_bytes: usize,
    scrape_lines: usize,
    scrape_ms_median: f64,
    scrape_ms_max: f64,
}

fn scale_run(
    accounts: usize,
    users: usize,
    latency: Duration,
    interval: &str,
    concurrency: usize,
) -> ScaleResult {
    let s = Scenario::start();
    let ids: Vec<String> = (0..accounts)
        .map(|i| format!("{:012}", 500_000_000_000u64 + i as u64 * 7_919))
        .collect();
    let mut yaml = String::from("accounts:\n");
    for (i, id) in ids.iter().enumerate() {
        let a = seed_scenario_account(&s, id, users);
        if !latency.is_zero() {
            // Every IAM call of the account answers after `latency` (AWS is not instant).
            for action in [
                "GetAccountSummary",
                "GenerateCredentialReport",
                "GetCredentialReport",
                "GetAccountPasswordPolicy",
                "ListVirtualMFADevices",
                "ListServiceSpecificCredentials",
            ] {
                a.push_faults(action, Fault::hang(latency), 100);
            }
        }
        yaml.push_str(&format!(
            "  - role_arn: arn:aws:iam::{id}:role/IamExporter\n    name: scale-{i}\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_file(dir.path(), "scale.yml", &yaml);

    let bin = std::env::var_os("AWS_IAM_EXPORTER_SCALE_BIN").map(PathBuf::from);
    let started = Instant::now();
    let mut exp = Exporter::start_with(ExporterOpts {
        bin,
        args: vec![
            format!("--config.file={}", cfg.display()),
            format!("--refresh.interval={interval}"),
            format!("--refresh.concurrency={concurrency}"),
            "--aws.max-attempts=1".into(),
            "--log.level=warn".into(),
        ],
        aws_endpoint: Some(s.endpoint()),
        ..Default::default()
    });
    exp.wait_listening(Duration::from_secs(30));
    let limit = Duration::from_secs(60 + accounts as u64);
    let deadline = started + limit;
    let (all_fresh, cpu_first_round) = loop {
        exp.assert_running("all accounts fresh");
        if let Ok(r) = http_request(
            "GET",
            &format!("{}/metrics", exp.base_url()),
            &[],
            None,
            Duration::from_secs(30),
        ) && r.status == 200
        {
            let ok = refresh_success(&r.text());
            if ids.iter().all(|id| ok.get(id) == Some(&1.0)) {
                break (
                    started.elapsed(),
                    proc_cpu_seconds(exp.pid()).unwrap_or(0.0),
                );
            }
        }
        assert!(
            Instant::now() < deadline,
            "not all {accounts} accounts refreshed within {limit:?}\n{}",
            exp.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    // Optionally, the steady state: CPU over a window once later refreshes come at their slots
    // spread over the interval (the first of them half an interval after the first round),
    // with one scrape every 15 s as Prometheus would, scaled to one interval.
    let window = Duration::from_secs(env_usize("AWS_IAM_EXPORTER_SCALE_STEADY_SECS", 0) as u64);
    let cpu_per_interval = (!window.is_zero()).then(|| {
        let interval = humantime::parse_duration(interval).expect("a duration");
        let scrape_until = |until: Instant| {
            while Instant::now() < until {
                assert_eq!(exp.request("/metrics", &[]).status, 200);
                std::thread::sleep(
                    until
                        .saturating_duration_since(Instant::now())
                        .min(Duration::from_secs(15)),
                );
            }
        };
        scrape_until(Instant::now() + interval / 2);
        let start = proc_cpu_seconds(exp.pid()).unwrap_or(0.0);
        scrape_until(Instant::now() + window);
        let used = proc_cpu_seconds(exp.pid()).unwrap_or(0.0) - start;
        used * interval.as_secs_f64() / window.as_secs_f64()
    });

    // Scrapes while the accounts keep refreshing (every 1s).
    let mut times = Vec::new();
    let mut body = String::new();
    for _ in 0..10 {
        let t = Instant::now();
        let r = exp.request("/metrics", &[]);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(r.status, 200);
        body = r.text();
        std::thread::sleep(Duration::from_millis(200));
    }
    let gz = exp.request("/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    times.sort_by(f64::total_cmp);
    let ok = refresh_success(&body);
    assert_eq!(ok.len(), accounts, "every account has its series");
    assert_eq!(accounts_gauge(&body), Some(accounts as f64));
    for id in &ids {
        assert_eq!(
            metric_value(&body, "aws_iam_users", &[("account_id", id)]),
            Some(users as f64),
            "{id}"
        );
    }
    let pid = exp.pid();
    ScaleResult {
        concurrency,
        all_fresh,
        cpu_first_round,
        cpu_per_interval,
        hwm_kib: proc_status_kib(pid, "VmHWM").unwrap_or(0),
        rss_kib: proc_status_kib(pid, "VmRSS").unwrap_or(0),
        scrape_bytes: body.len(),
        scrape_gzip_bytes: gz.body.len(),
        scrape_lines: body.lines().filter(|l| !l.starts_with('#')).count(),
        scrape_ms_median: times[times.len() / 2],
        scrape_ms_max: times[times.len() - 1],
    }
}

#[test]
fn scale_accounts_all_refresh() {
    let full = matches!(
        std::env::var("AWS_IAM_EXPORTER_SCALE").as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    );
    let accounts = env_usize(
        "AWS_IAM_EXPORTER_SCALE_ACCOUNTS",
        if full { 200 } else { 20 },
    );
    let users = env_usize("AWS_IAM_EXPORTER_SCALE_USERS", 20);
    let latency = Duration::from_millis(env_usize("AWS_IAM_EXPORTER_SCALE_LATENCY_MS", 50) as u64);
    // 1s: every account is due at once, so the time to all-fresh measures throughput (not the
    // spreading of first refreshes over the interval) and the exporter refreshes non-stop.
    let interval =
        std::env::var("AWS_IAM_EXPORTER_SCALE_INTERVAL").unwrap_or_else(|_| "1s".to_string());
    let mut results = Vec::new();
    for concurrency in [8, 16] {
        results.push(scale_run(accounts, users, latency, &interval, concurrency));
    }
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let bin = std::env::var("AWS_IAM_EXPORTER_SCALE_BIN")
        .unwrap_or_else(|_| exporter_bin().display().to_string());
    println!();
    println!(
        "scale: {accounts} accounts x {users} users (per-user series on), {} ms per IAM call, \
         --refresh.interval {interval}, scenario server in the test process ({build} test build), exporter {bin}",
        latency.as_millis()
    );
    println!(
        "| concurrency | all accounts refresh_success=1 | CPU until then (start + one refresh each) | CPU per interval, steady | peak RSS (VmHWM) | RSS after | scrape size | gzip | samples | scrape time median / max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        println!(
            "| {} | {:.1} s | {:.2} s | {} | {:.1} MiB | {:.1} MiB | {:.0} KiB | {:.0} KiB | {} | {:.1} / {:.1} ms |",
            r.concurrency,
            r.all_fresh.as_secs_f64(),
            r.cpu_first_round,
            r.cpu_per_interval
                .map_or_else(|| "-".to_owned(), |c| format!("{c:.2} s")),
            r.hwm_kib as f64 / 1024.0,
            r.rss_kib as f64 / 1024.0,
            r.scrape_bytes as f64 / 1024.0,
            r.scrape_gzip_bytes as f64 / 1024.0,
            r.scrape_lines,
            r.scrape_ms_median,
            r.scrape_ms_max,
        );
    }
}
