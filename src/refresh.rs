//! The refresh loop: schedules each account's refresh, runs fetch -> parse -> derive -> render,
//! and publishes an immutable [`Published`] that scrapes copy from. Scrapes never wait on a
//! refresh and never reach AWS: they only clone an `Arc`.
//!
//! A failed refresh keeps the account's last good data (its self-metrics say it failed and how
//! old the last success is). One account's failure or slowness touches no other: each has its
//! own task, and at most `concurrency` refresh at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config, Mode};
use crate::exposition::{
    AccountLabels, AccountView, RefreshStats, Rendered, RootUse, render_account, render_stats,
};
use crate::posture::{AccountData, Thresholds, derive};
use crate::report::{ParseError, parse};
use crate::snapshot::{Discovery, State};
use crate::source::{ErrorLog, FetchError, FileSource, IamSource, organization_accounts};

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("{0}")]
    Fetch(#[from] FetchError),
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("the credential report is of account {report} but the role is in account {expected}")]
    AccountMismatch { report: String, expected: String },
    #[error("refresh took longer than {0:?} and was abandoned")]
    Timeout(Duration),
}

/// Where one account's data comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    Iam(IamSource),
    Files(FileSource),
}

/// One account to watch.
#[derive(Debug, Clone)]
pub struct Target {
    /// Stable key: `default`, the file path, or the account id.
    pub key: String,
    /// The account id when known before the first refresh (role ARN, Organizations).
    pub account_id: Option<String>,
    /// `account_name` label.
    pub name: Option<String>,
    pub origin: Origin,
}

/// Settings every refresh needs.
#[derive(Debug, Clone)]
pub struct RefreshSettings {
    pub thresholds: Thresholds,
    pub per_user: bool,
    pub max_report_bytes: usize,
    /// Hard bound on one whole refresh, beyond the per-call timeouts.
    pub deadline: Duration,
}

impl RefreshSettings {
    pub fn from_config(c: &Config) -> RefreshSettings {
        RefreshSettings {
            thresholds: c.thresholds,
            per_user: c.per_user,
            max_report_bytes: c.report_max_bytes,
            deadline: c.aws.report_timeout + c.aws.timeout * c.aws.max_attempts * 6,
        }
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// One account's refresh state across refreshes (its counters live here).
#[derive(Debug)]
pub struct Account {
    target: Target,
    stats: RefreshStats,
}

impl Account {
    pub fn new(target: Target) -> Account {
        let stats = RefreshStats {
            labels: labels(target.account_id.as_deref(), target.name.as_deref()),
            ..RefreshStats::default()
        };
        Account { target, stats }
    }

    /// Refreshes once and publishes the result into `state`'s slot. Returns the error, already
    /// logged, for `--once`.
    pub async fn refresh(
        &mut self,
        state: &State,
        settings: &RefreshSettings,
    ) -> Result<(), RefreshError> {
        let started = Instant::now();
        let mut errors = ErrorLog::new();
        let result = tokio::time::timeout(
            settings.deadline,
            fetch_and_render(&self.target, settings, &mut errors),
        )
        .await
        .unwrap_or(Err(RefreshError::Timeout(settings.deadline)));

        for e in &errors {
            tracing::warn!(account = %self.target.key, operation = e.operation, code = %e.code, message = %e.message, "AWS call failed; refresh continues");
            self.count(e);
        }
        let s = &mut self.stats;
        s.duration_seconds = started.elapsed().as_secs_f64();
        let outcome = match result {
            Ok((labels, rendered, root_use)) => {
                s.labels = labels;
                s.success = true;
                s.successes += 1;
                s.last_success = Some(now_secs());
                tracing::info!(account = %self.target.key, account_id = %label_value(&s.labels, "account_id"), duration_seconds = s.duration_seconds, "refresh succeeded");
                let stats = Arc::new(render_stats(s.clone()));
                state.update(&self.target.key, |slot| {
                    slot.data = Some(Arc::new(rendered));
                    slot.stats = Some(stats);
                    slot.root_use = root_use;
                });
                Ok(())
            }
            Err(e) => {
                s.success = false;
                s.failures += 1;
                tracing::error!(account = %self.target.key, error = %e, "refresh failed; the last good data, if any, stays served");
                if let RefreshError::Fetch(f) = &e {
                    self.count(f);
                }
                let stats = Arc::new(render_stats(self.stats.clone()));
                state.update(&self.target.key, |slot| slot.stats = Some(stats));
                Err(e)
            }
        };
        outcome
    }

    fn count(&mut self, e: &FetchError) {
        *self
            .stats
            .aws_errors
            .entry((e.operation, e.code.clone()))
            .or_default() += 1;
    }
}

fn label_value<'a>(labels: &'a AccountLabels, key: &str) -> &'a str {
    labels
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

fn labels(account_id: Option<&str>, name: Option<&str>) -> AccountLabels {
    let mut l = vec![("account_id", account_id.unwrap_or("unknown").to_owned())];
    if let Some(n) = name {
        l.push(("account_name", n.to_owned()));
    }
    l
}

async fn fetch_and_render(
    target: &Target,
    settings: &RefreshSettings,
    errors: &mut ErrorLog,
) -> Result<(AccountLabels, Rendered, Option<RootUse>), RefreshError> {
    let fetched = match &target.origin {
        Origin::Iam(source) => source.fetch(errors).await?,
        Origin::Files(files) => files.fetch()?,
    };
    if fetched.report.csv.len() > settings.max_report_bytes {
        return Err(ParseError::TooLarge {
            size: fetched.report.csv.len(),
            limit: settings.max_report_bytes,
        }
        .into());
    }
    // Parsing and rendering a large report is CPU work: keep it off the async workers.
    let settings_owned = settings.clone();
    let csv = fetched.report.csv;
    let report = tokio::task::spawn_blocking(move || parse(&csv))
        .await
        .map_err(|e| ParseError::NotCsv(format!("parser task failed: {e}")))??;

    let account_id = match (&report.account_id, &target.account_id) {
        (Some(r), Some(expected)) if r != expected => {
            return Err(RefreshError::AccountMismatch {
                report: r.clone(),
                expected: expected.clone(),
            });
        }
        (Some(r), _) => r.clone(),
        (None, Some(expected)) => expected.clone(),
        (None, None) => match &target.origin {
            Origin::Iam(source) => source.caller_account().await?,
            Origin::Files(_) => "unknown".to_owned(),
        },
    };
    let labels = labels(Some(&account_id), target.name.as_deref());
    let data = AccountData {
        report,
        generated: fetched.report.generated,
        summary: fetched.summary,
        password_policy: fetched.password_policy,
        root_virtual_mfa: fetched.root_virtual_mfa,
    };
    let now = now_secs() as i64;
    let rendered = tokio::task::spawn_blocking(move || {
        let posture = derive(&data, &settings_owned.thresholds, now);
        let root_use = posture.root.most_recent_use().map(|at| RootUse {
            labels: labels.clone(),
            at,
        });
        let view = Arc::new(AccountView {
            labels: labels.clone(),
            data,
            posture,
            per_user: settings_owned.per_user,
        });
        (labels, render_account(view), root_use)
    })
    .await
    .map_err(|e| ParseError::NotCsv(format!("render task failed: {e}")))?;
    Ok(rendered)
}

/// Builds the targets of a single-account configuration (default chain or files).
pub async fn single_target(config: &Config) -> Target {
    match &config.mode {
        Mode::Offline { report, summary } => Target {
            key: report.display().to_string(),
            account_id: None,
            name: None,
            origin: Origin::Files(FileSource {
                report: report.clone(),
                summary: summary.clone(),
                max_bytes: config.report_max_bytes,
            }),
        },
        _ => {
            let sdk = crate::source::base_config(&config.aws).await;
            Target {
                key: "default".into(),
                account_id: None,
                name: None,
                origin: Origin::Iam(IamSource::new(&sdk, config.aws.report_timeout)),
            }
        }
    }
}

/// Runs until `cancel`: refreshes every account on its schedule and publishes.
pub async fn run(config: Config, state: Arc<State>, cancel: CancellationToken) {
    let settings = Arc::new(RefreshSettings::from_config(&config));
    let publisher = tokio::spawn(publish_loop(state.clone(), cancel.clone()));
    match &config.mode {
        Mode::MultiAccount { .. } => {
            run_many(&config, state.clone(), settings, cancel.clone()).await;
        }
        _ => {
            let target = single_target(&config).await;
            state.register(&target.key);
            account_loop(
                Account::new(target),
                state.clone(),
                settings,
                config.refresh_interval,
                Duration::ZERO,
                None,
                cancel.clone(),
            )
            .await;
        }
    }
    let _ = publisher.await;
}

/// Publishes after refreshes. `Notify` coalesces: refreshes finishing while a body is being
/// assembled cause one more assembly, not one each.
async fn publish_loop(state: Arc<State>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            // Shutdown: nothing more to publish.
            _ = cancel.cancelled() => return,
            // A refresh finished or an account left.
            _ = state.changed() => {
                let s = state.clone();
                let _ = tokio::task::spawn_blocking(move || s.publish()).await;
            }
        }
    }
}

/// One account's schedule: first refresh after `offset`, then every `interval`.
async fn account_loop(
    mut account: Account,
    state: Arc<State>,
    settings: Arc<RefreshSettings>,
    interval: Duration,
    offset: Duration,
    limit: Option<Arc<Semaphore>>,
    cancel: CancellationToken,
) {
    tokio::select! {
        _ = cancel.cancelled() => return,
        _ = tokio::time::sleep(offset) => {}
    }
    let mut ticks = tokio::time::interval(interval);
    // A refresh longer than the interval delays the next one instead of bursting.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // Shutdown between refreshes.
            _ = cancel.cancelled() => return,
            // Time for the next refresh.
            _ = ticks.tick() => {}
        }
        let _permit = match &limit {
            Some(sem) => tokio::select! {
                _ = cancel.cancelled() => return,
                p = sem.clone().acquire_owned() => p.ok(),
            },
            None => None,
        };
        tokio::select! {
            // Shutdown abandons an in-flight refresh: its result would never be served.
            _ = cancel.cancelled() => return,
            _ = account.refresh(&state, &settings) => {}
        }
    }
}

/// The accounts of a multi-account configuration, after sharding.
async fn discover(
    config: &Config,
    base: &SdkConfig,
) -> Result<Vec<(String, Option<String>, String, Option<String>)>, FetchError> {
    let Mode::MultiAccount {
        accounts,
        organizations,
    } = &config.mode
    else {
        return Ok(Vec::new());
    };
    // (account id, name, role ARN, external id)
    let mut found: Vec<(String, Option<String>, String, Option<String>)> = accounts
        .iter()
        .filter_map(|a| {
            crate::report::account_of_arn(&a.role_arn).map(|id| {
                (
                    id.to_owned(),
                    a.name.clone(),
                    a.role_arn.clone(),
                    a.external_id.clone(),
                )
            })
        })
        .collect();
    if let Some(org) = organizations {
        let (members, management) = organization_accounts(base).await?;
        for m in members {
            let excluded = org.exclude_accounts.contains(&m.id)
                || (!org.include_management_account && management.as_deref() == Some(&m.id))
                || found.iter().any(|(id, ..)| *id == m.id);
            if !excluded {
                let arn = format!("arn:aws:iam::{}:role/{}", m.id, org.role_name);
                found.push((m.id, m.name, arn, org.external_id.clone()));
            }
        }
    }
    found.retain(|(id, ..)| config::shard_of(id, config.shard_count) == config.shard_index);
    Ok(found)
}

/// Multi-account: re-discovers the accounts every interval, starts a task per new account
/// (spread over the interval), stops the tasks of accounts that left and drops their series.
async fn run_many(
    config: &Config,
    state: Arc<State>,
    settings: Arc<RefreshSettings>,
    cancel: CancellationToken,
) {
    let base = crate::source::base_config(&config.aws).await;
    let limit = Arc::new(Semaphore::new(config.concurrency));
    let mut tasks: HashMap<String, (JoinHandle<()>, CancellationToken)> = HashMap::new();
    let mut ticks = tokio::time::interval(config.refresh_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let found = match discover(config, &base).await {
            Ok(found) => {
                state.set_discovery(Discovery::Succeeded);
                found
            }
            Err(e) => {
                tracing::error!(operation = e.operation, code = %e.code, message = %e.message, "account discovery failed; keeping the accounts already known");
                state.set_discovery(Discovery::Failed);
                continue;
            }
        };
        let mut departed = Vec::new();
        let keep: std::collections::HashSet<&str> =
            found.iter().map(|(id, ..)| id.as_str()).collect();
        tasks.retain(|key, (handle, token)| {
            let stays = keep.contains(key.as_str());
            if !stays {
                tracing::info!(account_id = %key, "account left; removing its series");
                token.cancel();
                departed.push((
                    key.clone(),
                    std::mem::replace(handle, tokio::spawn(async {})),
                ));
            }
            stays
        });
        // NB: remove the series only once the task has ended: a refresh still running on
        // another worker would otherwise write its slot back after the removal.
        for (key, handle) in departed.drain(..) {
            let _ = handle.await;
            state.remove(&key);
        }
        for (id, name, role_arn, external_id) in found {
            if tasks.contains_key(&id) {
                continue;
            }
            let sdk =
                crate::source::assumed_role_config(&base, &role_arn, external_id.as_deref()).await;
            let target = Target {
                key: id.clone(),
                account_id: Some(id.clone()),
                name,
                origin: Origin::Iam(IamSource::new(&sdk, config.aws.report_timeout)),
            };
            let offset = spread(&id, config.refresh_interval);
            state.register(&id);
            let token = cancel.child_token();
            let handle = tokio::spawn(account_loop(
                Account::new(target),
                state.clone(),
                settings.clone(),
                config.refresh_interval,
                offset,
                Some(limit.clone()),
                token.clone(),
            ));
            tasks.insert(id, (handle, token));
        }
    }
    for (_, (handle, token)) in tasks {
        token.cancel();
        let _ = handle.await;
    }
}

/// `--once`: refreshes every account once and returns the publication (the caller writes its
/// classic form: [`crate::exposition::Published::write_classic`]), or the errors.
pub async fn once(config: &Config) -> Result<Arc<crate::exposition::Published>, String> {
    let settings = Arc::new(RefreshSettings::from_config(config));
    let state = Arc::new(State::default());
    let targets = match &config.mode {
        Mode::MultiAccount { .. } => {
            let base = crate::source::base_config(&config.aws).await;
            let found = discover(config, &base)
                .await
                .map_err(|e| format!("account discovery: {e}"))?;
            let mut targets = Vec::new();
            for (id, name, role_arn, external_id) in found {
                let sdk =
                    crate::source::assumed_role_config(&base, &role_arn, external_id.as_deref())
                        .await;
                targets.push(Target {
                    key: id.clone(),
                    account_id: Some(id),
                    name,
                    origin: Origin::Iam(IamSource::new(&sdk, config.aws.report_timeout)),
                });
            }
            targets
        }
        _ => vec![single_target(config).await],
    };
    let limit = Arc::new(Semaphore::new(config.concurrency));
    let mut jobs = tokio::task::JoinSet::new();
    for target in targets {
        let (state, settings, limit) = (state.clone(), settings.clone(), limit.clone());
        jobs.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let key = target.key.clone();
            state.register(&key);
            Account::new(target)
                .refresh(&state, &settings)
                .await
                .map_err(|e| format!("{key}: {e}"))
        });
    }
    let mut errors = Vec::new();
    while let Some(joined) = jobs.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("refresh task failed: {e}")),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    state.publish();
    Ok(state.published())
}

/// Where in the interval an account's refreshes fall: a stable pseudo-random offset (FNV of
/// the id), so refreshes spread evenly and a restart keeps each account's slot.
fn spread(account_id: &str, interval: Duration) -> Duration {
    const BUCKETS: u32 = 1000;
    let bucket = config::shard_of(&format!("spread:{account_id}"), BUCKETS);
    interval.mul_f64(f64::from(bucket) / f64::from(BUCKETS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_target(dir: &std::path::Path, body: &str) -> Target {
        let path = dir.join("report.csv");
        std::fs::write(&path, body).unwrap();
        Target {
            key: "file".into(),
            account_id: None,
            name: Some("prod".into()),
            origin: Origin::Files(FileSource {
                report: path,
                summary: None,
                max_bytes: 1 << 20,
            }),
        }
    }

    fn settings() -> RefreshSettings {
        RefreshSettings {
            thresholds: Thresholds::default(),
            per_user: true,
            max_report_bytes: 1 << 20,
            deadline: Duration::from_secs(5),
        }
    }

    const GOOD: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::123456789012:root,2015-01-01T00:00:00+00:00,not_supported,2024-05-01T00:00:00+00:00,not_supported,not_supported,false,true,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";

    #[tokio::test]
    async fn a_failed_refresh_keeps_the_last_good_data_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let target = file_target(dir.path(), GOOD);
        let path = match &target.origin {
            Origin::Files(f) => f.report.clone(),
            Origin::Iam(_) => unreachable!("file target"),
        };
        let state = State::default();
        state.register(&target.key);
        let mut account = Account::new(target);
        account.refresh(&state, &settings()).await.unwrap();
        state.publish();
        assert!(state.is_ready());
        let good = state.published().classic_text(0.0);
        assert!(good.contains(
            "aws_iam_root_access_keys_present{account_id=\"123456789012\",account_name=\"prod\"} 1"
        ));

        std::fs::write(&path, "not,a,report\n").unwrap();
        let err = account.refresh(&state, &settings()).await.unwrap_err();
        assert!(
            err.to_string().contains("missing required column `user`"),
            "{err}"
        );
        state.publish();
        let after = state.published().classic_text(0.0);
        assert!(after.contains(
            "aws_iam_root_access_keys_present{account_id=\"123456789012\",account_name=\"prod\"} 1"
        ));
        assert!(after.contains(
            "aws_iam_exporter_refresh_success{account_id=\"123456789012\",account_name=\"prod\"} 0"
        ));
        assert!(after.contains("aws_iam_exporter_refreshes_total{account_id=\"123456789012\",account_name=\"prod\",result=\"failure\"} 1"));
        assert!(state.is_ready(), "readiness stays once data exists");
    }

    #[tokio::test]
    async fn a_report_over_the_limit_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::default();
        let mut s = settings();
        s.max_report_bytes = 100;
        let err = Account::new(file_target(dir.path(), GOOD))
            .refresh(&state, &s)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("over the limit"), "{err}");
        assert!(!state.is_ready());
    }

    #[tokio::test]
    async fn a_removed_account_loses_its_series() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::default();
        state.register("file");
        Account::new(file_target(dir.path(), GOOD))
            .refresh(&state, &settings())
            .await
            .unwrap();
        state.publish();
        assert!(state.published().classic_text(0.0).contains("123456789012"));
        state.remove("file");
        state.publish();
        let text = state.published().classic_text(0.0);
        assert!(!text.contains("123456789012"), "{text}");
        assert!(text.contains("aws_iam_exporter_accounts{} 0"));
    }

    #[test]
    fn refreshes_spread_over_the_interval_stably() {
        let i = Duration::from_secs(300);
        assert_eq!(spread("111111111111", i), spread("111111111111", i));
        assert!(spread("111111111111", i) < i);
        let distinct: std::collections::HashSet<_> =
            (0..50).map(|n| spread(&format!("{:012}", n), i)).collect();
        assert!(distinct.len() > 40);
    }
}
