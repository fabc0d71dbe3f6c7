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
//! - An account with a fast check (the signals that page: root access keys, quarantined keys)
//!   runs it in a task of its own, on its own cadence (`--refresh.fast-interval`) and slot, under
//!   a semaphore of its own: it waits neither for the account's own full refresh (a credential
//!   report can take minutes to generate) nor for the full refreshes of every other account.

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
    /// The account's fast check ([`NoCheck`] where there is none).
    type Fast: Check;
    fn refresh(&mut self) -> impl Future<Output = ()> + Send;
    /// The account's fast check, when it has one (an AWS account, with fast checks on).
    fn fast_check(&self) -> Option<Self::Fast>;
}

/// An account's fast check: re-reads the signals that page and republishes the account only
/// when they changed.
pub trait Check: Send + 'static {
    fn check(&mut self) -> impl Future<Output = ()> + Send;
}

/// The fast check of an account that has none.
#[derive(Debug)]
pub enum NoCheck {}

impl Check for NoCheck {
    async fn check(&mut self) {
        match *self {}
    }
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
    /// The fast checks' interval (spread like the refreshes, at most `concurrency` at once
    /// under a semaphore of their own); `None`: no fast checks.
    pub fast_interval: Option<Duration>,
    /// The wait before asking the fleet again after a failed discovery, doubled after each
    /// failure up to the interval.
    pub retry: Duration,
}

/// The first wait before a failed discovery is retried (1 s, 2 s, 4 s, ... up to the interval).
pub const DISCOVERY_RETRY: Duration = Duration::from_secs(1);

/// A running account: its refresh task and, where it has one, its fast check's task, both
/// stopped by `cancel`.
struct Task<S> {
    spec: S,
    cancel: CancellationToken,
    handle: JoinHandle<()>,
    fast: Option<JoinHandle<()>>,
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
    // NB: a semaphore of their own: fast checks never queue behind full refreshes.
    let fast_limit = Arc::new(Semaphore::new(plan.concurrency.max(1)));
    // Account tasks that end without being cancelled (a panic) send their key here.
    let (died_tx, mut died_rx) = mpsc::unbounded_channel::<String>();
    let mut tasks: HashMap<String, Task<F::Spec>> = HashMap::new();
    // When to ask the fleet next (at once at start), and the wait after a failure.
    let mut next_discovery = start;
    let mut retry = plan.retry.min(plan.interval);
    // `first`: `None` waits for the account's next slot (a restart after a panic: never a
    // tight loop of panics).
    let spawn = |key: &str,
                 account: F::Account,
                 first: Option<Instant>,
                 token: CancellationToken|
     -> (JoinHandle<()>, Option<JoinHandle<()>>) {
        let slot = |interval: Duration| Slot {
            start,
            offset: if plan.spread {
                spread(key, interval)
            } else {
                Duration::ZERO
            },
            interval,
        };
        let guard = || DiedGuard {
            key: Some(key.to_owned()),
            tx: died_tx.clone(),
        };
        let fast = plan
            .fast_interval
            .zip(account.fast_check())
            .map(|(interval, check)| {
                tokio::spawn(slot_task(
                    check,
                    slot(interval),
                    None,
                    fast_limit.clone(),
                    token.clone(),
                    guard(),
                ))
            });
        let full = tokio::spawn(slot_task(
            Refreshing(account),
            slot(plan.interval),
            first,
            limit.clone(),
            token,
            guard(),
        ));
        (full, fast)
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
                    let (handle, fast) = spawn(&key, account, Some(first), token.clone());
                    tasks.insert(key, Task { spec, cancel: token, handle, fast });
                }
            }
            // An account task (refresh or fast check) died: stop the other, start both again at
            // their next slots.
            Some(key) = died_rx.recv() => {
                let Some(old) = tasks.remove(&key) else { continue };
                let spec = old.spec.clone();
                stop(old).await;
                tracing::error!(account = %key, "refresh task ended unexpectedly; restarting it at its next slot");
                let account = fleet.open(&key, &spec).await;
                let token = cancel.child_token();
                let (handle, fast) = spawn(&key, account, None, token.clone());
                tasks.insert(key, Task { spec, cancel: token, handle, fast });
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
    if let Some(fast) = task.fast {
        let _ = fast.await;
    }
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

/// An account's refresh, run on its slots like a fast check.
struct Refreshing<A>(A);

impl<A: Refresh> Check for Refreshing<A> {
    async fn check(&mut self) {
        self.0.refresh().await
    }
}

/// An account's refreshes, or its fast checks: the first run at `first` (or, without one, at
/// the next slot at least half an interval away), then one per slot, each under a permit of
/// `limit`. The refreshes' first run is at once after a start; the fast checks' is not (the
/// first refresh reads the same signals), and their `limit` is not the refreshes': a refresh in
/// progress, of this account or of any other, never delays a fast check.
async fn slot_task<C: Check>(
    mut job: C,
    slot: Slot,
    first: Option<Instant>,
    limit: Arc<Semaphore>,
    cancel: CancellationToken,
    mut guard: DiedGuard,
) {
    let mut next = first.unwrap_or_else(|| slot.next_after(Instant::now()));
    loop {
        tokio::select! {
            // Shutdown or removal between runs.
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(next) => {}
        }
        let started = Instant::now();
        let permit = tokio::select! {
            _ = cancel.cancelled() => break,
            p = limit.clone().acquire_owned() => p,
        };
        // NB: boxed, so that a refresh's state (the SDK calls' futures, tens of KiB) exists
        // only while it runs, not for the life of every account's task.
        let run = Box::pin(job.check());
        tokio::select! {
            // Shutdown abandons a run in flight: its result would never be served.
            _ = cancel.cancelled() => break,
            _ = run => {}
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
