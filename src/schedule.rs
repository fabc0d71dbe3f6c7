//! When each account refreshes. AWS-free: the scheduler sees accounts through [`Fleet`] (which
//! accounts exist now) and [`Refresh`] (refresh one of them), so tests drive it with fakes and
//! `tokio::time::pause()`.
//!
//! - Every account's first refresh starts at once, bounded by the concurrency limit: after a
//!   restart, an organization's series are back within seconds, not one interval later.
//! - Later refreshes fall on a stable slot of the interval (a hash of the account key), so
//!   refreshes spread evenly and a restart keeps each account's slot.
//! - The fleet is asked again every interval; an account that left is cancelled, its task
//!   awaited, and only then are its series removed. An account whose spec changed (a renamed
//!   account) is restarted the same way, its slot kept: no series left under the old name.
//! - A discovery that fails still starts what needs none (the configured accounts), removes
//!   nothing, and is retried soon: after [`Plan::retry`], doubling up to the interval.
//! - A refresh task that dies (a panic) is logged and restarted at its next slot, never left
//!   dead while `/healthz` says all is well.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::snapshot::{Discovery, State};

/// One account's refresh: fetch, derive, render and write its slot in the [`State`].
pub trait Refresh: Send + 'static {
    fn refresh(&mut self) -> impl Future<Output = ()> + Send;
}

/// What [`Fleet::discover`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<S> {
    /// The accounts to watch, each under a stable key.
    pub accounts: Vec<(String, S)>,
    /// False when discovery failed (already logged): `accounts` then holds only what needs no
    /// discovery (the configured accounts), and the accounts found before stay.
    pub complete: bool,
}

/// The set of accounts to watch, asked again every interval.
pub trait Fleet: Send + Sync + 'static {
    /// What [`Fleet::open`] needs to start watching an account (e.g. its role). A spec that
    /// changes (a renamed account) restarts the account.
    type Spec: Clone + PartialEq + Send + Sync + 'static;
    type Account: Refresh;

    /// The accounts to watch now.
    fn discover(&self) -> impl Future<Output = Found<Self::Spec>> + Send;

    /// Starts watching an account: registers its slot and builds its clients.
    fn open(&self, key: &str, spec: &Self::Spec) -> impl Future<Output = Self::Account> + Send;

    /// Whether discovery outcomes are reported (`aws_iam_exporter_account_discovery_success`):
    /// false where the fleet is fixed (one account, offline files).
    fn reports_discovery(&self) -> bool;
}

/// How refreshes are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub interval: Duration,
    /// At most this many refreshes at once.
    pub concurrency: usize,
    /// Spread later refreshes over the interval (many accounts); else every account's slot is
    /// the start of the interval.
    pub spread: bool,
    /// The wait before asking the fleet again after a failed discovery, doubled after each
    /// failure up to the interval.
    pub retry: Duration,
}

/// The first wait before a failed discovery is retried (1 s, 2 s, 4 s, ... up to the interval).
pub const DISCOVERY_RETRY: Duration = Duration::from_secs(1);

/// A running account task.
struct Task<S> {
    spec: S,
    cancel: CancellationToken,
    handle: JoinHandle<()>,
}

/// Runs until `cancel`: watches the fleet and refreshes each account on its schedule.
pub async fn run<F: Fleet>(
    fleet: Arc<F>,
    state: Arc<State>,
    plan: Plan,
    cancel: CancellationToken,
) {
    let start = Instant::now();
    let limit = Arc::new(Semaphore::new(plan.concurrency.max(1)));
    // Account tasks that end without being cancelled (a panic) send their key here.
    let (died_tx, mut died_rx) = mpsc::unbounded_channel::<String>();
    let mut tasks: HashMap<String, Task<F::Spec>> = HashMap::new();
    // When to ask the fleet next (at once at start), and the wait after a failure.
    let mut next_discovery = start;
    let mut retry = plan.retry.min(plan.interval);
    // `first`: `None` waits for the account's next slot (a restart after a panic: never a
    // tight loop of panics).
    let spawn =
        |key: &str, account: F::Account, first: Option<Instant>, token: CancellationToken| {
            let slot = Slot {
                start,
                offset: if plan.spread {
                    spread(key, plan.interval)
                } else {
                    Duration::ZERO
                },
                interval: plan.interval,
            };
            let guard = DiedGuard {
                key: Some(key.to_owned()),
                tx: died_tx.clone(),
            };
            tokio::spawn(account_task(
                account,
                slot,
                first,
                limit.clone(),
                token,
                guard,
            ))
        };
    loop {
        tokio::select! {
            // Shutdown.
            _ = cancel.cancelled() => break,
            // Time to ask the fleet again (at once at start).
            _ = tokio::time::sleep_until(next_discovery) => {
                let asked = Instant::now();
                let found = tokio::select! {
                    _ = cancel.cancelled() => break,
                    found = fleet.discover() => found,
                };
                if fleet.reports_discovery() {
                    state.set_discovery(if found.complete {
                        Discovery::Succeeded
                    } else {
                        Discovery::Failed
                    });
                }
                if found.complete {
                    next_discovery = asked + plan.interval;
                    retry = plan.retry.min(plan.interval);
                    let keep: std::collections::HashSet<&str> =
                        found.accounts.iter().map(|(k, _)| k.as_str()).collect();
                    let departed: Vec<String> =
                        tasks.keys().filter(|k| !keep.contains(k.as_str())).cloned().collect();
                    for key in departed {
                        if let Some(task) = tasks.remove(&key) {
                            tracing::info!(account = %key, "account left; removing its series");
                            stop(task).await;
                        }
                        state.remove(&key);
                    }
                } else {
                    // NB: a failure says nothing of the accounts found before: they stay.
                    tracing::info!(retry_in = %humantime::format_duration(retry), "account discovery will be retried");
                    next_discovery = Instant::now() + retry;
                    retry = (retry * 2).min(plan.interval);
                }
                for (key, spec) in found.accounts {
                    let first = match tasks.get(&key) {
                        Some(task) if task.spec == spec => continue,
                        // Changed (renamed): stopped, then started again at once under the
                        // same key, so its series are replaced, never doubled.
                        Some(_) => {
                            if let Some(task) = tasks.remove(&key) {
                                tracing::info!(account = %key, "account changed; restarting it");
                                stop(task).await;
                            }
                            Instant::now()
                        }
                        None => Instant::now(),
                    };
                    let account = fleet.open(&key, &spec).await;
                    let token = cancel.child_token();
                    let handle = spawn(&key, account, Some(first), token.clone());
                    tasks.insert(key, Task { spec, cancel: token, handle });
                }
            }
            // An account task died: start it again at its next slot.
            Some(key) = died_rx.recv() => {
                let Some(old) = tasks.remove(&key) else { continue };
                let _ = old.handle.await;
                tracing::error!(account = %key, "refresh task ended unexpectedly; restarting it at its next slot");
                let account = fleet.open(&key, &old.spec).await;
                let token = cancel.child_token();
                let handle = spawn(&key, account, None, token.clone());
                tasks.insert(key, Task { spec: old.spec, cancel: token, handle });
            }
        }
    }
    for (_, task) in tasks {
        stop(task).await;
    }
}

/// Cancels an account task and waits until it has ended, so that nothing it does can land
/// after the caller moves on (e.g. removes the account's series).
async fn stop<S>(task: Task<S>) {
    task.cancel.cancel();
    let _ = task.handle.await;
}

/// Where an account's refreshes fall: `start + offset + k * interval`.
#[derive(Debug, Clone, Copy)]
struct Slot {
    start: Instant,
    offset: Duration,
    interval: Duration,
}

impl Slot {
    /// The first slot at least half an interval after `last` (so that the first refresh at
    /// start-up is not followed by another one moments later).
    fn next_after(&self, last: Instant) -> Instant {
        self.next_from(last + self.interval / 2)
    }

    /// The first slot at or after `earliest`.
    fn next_from(&self, earliest: Instant) -> Instant {
        let first = self.start + self.offset;
        if earliest <= first {
            return first;
        }
        let since = (earliest - first).as_nanos();
        let period = self.interval.as_nanos().max(1);
        let k = since.div_ceil(period);
        let k = u32::try_from(k).unwrap_or(u32::MAX);
        first + self.interval.saturating_mul(k)
    }
}

/// Sends the account's key when its task ends without being disarmed (a panic unwinding it).
struct DiedGuard {
    key: Option<String>,
    tx: mpsc::UnboundedSender<String>,
}

impl Drop for DiedGuard {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let _ = self.tx.send(key);
        }
    }
}

/// One account: the first refresh at `first` (or, without one, at the next slot at least half
/// an interval away), then one per slot.
async fn account_task<A: Refresh>(
    mut account: A,
    slot: Slot,
    first: Option<Instant>,
    limit: Arc<Semaphore>,
    cancel: CancellationToken,
    mut guard: DiedGuard,
) {
    let mut next = first.unwrap_or_else(|| slot.next_after(Instant::now()));
    loop {
        tokio::select! {
            // Shutdown or removal between refreshes.
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(next) => {}
        }
        let started = Instant::now();
        let permit = tokio::select! {
            _ = cancel.cancelled() => break,
            p = limit.clone().acquire_owned() => p,
        };
        // NB: boxed, so that the refresh's state (the SDK calls' futures, tens of KiB) exists
        // only while it runs, not for the life of every account's task.
        let refresh = Box::pin(account.refresh());
        tokio::select! {
            // Shutdown abandons an in-flight refresh: its result would never be served.
            _ = cancel.cancelled() => break,
            _ = refresh => {}
        }
        drop(permit);
        next = slot.next_after(started);
    }
    guard.key = None;
}

/// A stable pseudo-random offset within the interval (FNV-1a of the key, like sharding), so
/// that refreshes spread evenly and a restart keeps each account's slot.
pub fn spread(key: &str, interval: Duration) -> Duration {
    const BUCKETS: u32 = 1000;
    let bucket = crate::shard::shard_of(&format!("spread:{key}"), BUCKETS);
    interval.mul_f64(f64::from(bucket) / f64::from(BUCKETS))
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
