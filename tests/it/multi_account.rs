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

use common::scenario::*;
use common::*;

mod discovery;
mod discovery_failures;
mod failing_role;
mod hub_labels;
mod organization_features;
mod rediscovery;
mod roles;
mod root_audit;
mod scale;
mod sharding;

const INTERVAL: &str = "--refresh.interval=2s";
/// Generous: debug builds, two cores shared with other cargo runs.
const WAIT: Duration = Duration::from_secs(60);

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

/// Every `account_id` label value anywhere in the scrape: the exporter-level
/// `root_credentials_management` control carries its account's only where that account is
/// watched, so every id here is a watched account's.
fn account_ids_anywhere(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter_map(parse_sample_line)
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

/// An IAM client acting in `account_id` (AssumeRole into it with the `testing` key).
async fn iam_in(endpoint: &str, account_id: &str) -> aws_sdk_iam::Client {
    let base = sdk_config(endpoint, testing_credentials()).await;
    let out = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account_id}:role/Setup"))
        .role_session_name("test-setup")
        .send()
        .await
        .unwrap_or_else(|e| panic!("AssumeRole into {account_id}: {e:?}"));
    aws_sdk_iam::Client::new(&sdk_config(endpoint, assumed_credentials(&out)).await)
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
    let org =
        aws_sdk_organizations::Client::new(&sdk_config(endpoint, testing_credentials()).await);
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
    aws_sdk_organizations::Client::new(&sdk_config(endpoint, testing_credentials()).await)
}

const MANAGEMENT: &str = "123456789012";

/// The `ten-accounts.yml` fixture and the ids of its ten roles.
fn ten_accounts() -> (PathBuf, Vec<String>) {
    let config = fixture("multi/ten-accounts.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    let ids: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- role_arn: arn:aws:iam::"))
        .map(|r| r[..12].to_string())
        .collect();
    assert_eq!(ids.len(), 10);
    (config, ids)
}

/// Account `id` of the scenario server with `users` users, each with a key used yesterday.
fn seed_scenario_account(s: &Scenario, id: &str, users: usize) -> AccountHandle {
    let a = s.account(id);
    a.seed_users(users, days_ago(30), days_ago(20));
    a
}
