//! The signals that page, within a minute. An AWS account's fast check re-reads
//! GetAccountSummary (root access keys, root MFA) and the exposed-key quarantine on its own
//! cadence (`--refresh.fast-interval`, 1 minute by default); the credential report and
//! everything else stay on the full refresh (`--refresh.interval`). [`crate::schedule`] runs
//! it in a task of its own, so a long full refresh never delays it.
//!
//! A fast check re-derives the account's posture from its last full refresh's data with the
//! fresh facts, re-renders the account and writes its slot, only when a fact changed: an
//! unchanged check publishes nothing. A failed call changes nothing (the last good values stay
//! served) and is counted; the check's success is `aws_iam_exporter_fast_check_success`.
//!
//! [`Live`] is what an account's full refresh and its fast check share. The freshest value of
//! each live fact wins: a full refresh keeps a fast check's value fetched after its own began.
//! Every render takes a sequence number with its inputs, and a slot only ever shows a render
//! newer than the one it shows: a render that finishes late, with older inputs, is dropped.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::aws::AccountClient;
use crate::clock::now_secs;
use crate::exposition::{
    AccountLabels, AccountView, RefreshStats, RootUse, render_account, render_stats,
};
use crate::fetch::{ErrorLog, LiveFacts};
use crate::posture::quarantine::Quarantine;
use crate::posture::{AccountData, Summary, Thresholds, derive};
use crate::schedule::Check;
use crate::snapshot::State;

/// One account's state shared by its full refresh and its fast check.
#[derive(Debug, Default)]
pub struct Live {
    /// NB: std lock, held for a few field moves and comparisons; never across an `.await`,
    /// never while deriving or rendering.
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The account's self-metrics, written by both.
    stats: RefreshStats,
    /// Keep the data of the newest render for fast checks to re-derive from (AWS accounts with
    /// fast checks on); else nothing is kept once rendered.
    keep: bool,
    /// The inputs of the newest render taken: a full refresh's data with the freshest live
    /// facts; and its labels.
    data: Option<Arc<AccountData>>,
    labels: AccountLabels,
    /// When the summary and the quarantine in `data` were fetched.
    summary_at: Option<Instant>,
    quarantine_at: Option<Instant>,
    /// The newest good answers of fast checks, with when their fetch began.
    fast_summary: Option<(Instant, Summary)>,
    fast_quarantine: Option<(Instant, Quarantine)>,
    /// Renders taken so far, and the newest one the slot shows.
    taken: u64,
    shown: u64,
    /// The failed calls of the last fast check, (operation, code): logged loudly only anew.
    fast_failures: Vec<(&'static str, String)>,
}

/// A render to make: the account's data (shared, not copied) under its labels.
#[derive(Debug)]
pub struct Render {
    seq: u64,
    data: Arc<AccountData>,
    labels: AccountLabels,
}

/// A finished render: the account's series and when root was last used.
#[derive(Debug)]
pub struct Finished {
    seq: u64,
    series: crate::exposition::Rendered,
    root_use: Option<RootUse>,
}

impl Render {
    /// Derives the posture and renders the series (CPU work: call it on the blocking pool).
    pub fn run(self, thresholds: &Thresholds, per_user: bool, now: i64) -> Finished {
        let posture = derive(&self.data, thresholds, now);
        let root_use = posture.root.most_recent_use().map(|at| RootUse {
            labels: self.labels.clone(),
            at,
        });
        let view = Arc::new(AccountView {
            labels: self.labels,
            data: self.data,
            posture,
            per_user,
        });
        Finished {
            seq: self.seq,
            series: render_account(view),
            root_use,
        }
    }
}

/// `fresh` replaces the value fetched at `at` when it was fetched later.
fn newer<T: Clone>(fresh: &Option<(Instant, T)>, at: Option<Instant>) -> Option<(Instant, T)> {
    fresh
        .as_ref()
        .filter(|(f, _)| at.is_none_or(|at| *f > at))
        .cloned()
}

impl Live {
    /// Starts with the account's labels; `keep` when a fast check will re-derive from its data.
    pub fn new(stats: RefreshStats, keep: bool) -> Live {
        Live {
            inner: Mutex::new(Inner {
                stats,
                keep,
                ..Inner::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the account's self-metrics and returns what it returns.
    pub fn stats<R>(&self, f: impl FnOnce(&mut RefreshStats) -> R) -> R {
        f(&mut self.lock().stats)
    }

    /// A full refresh's data, fetched from `fetched` on: its live facts are replaced by a fast
    /// check's fetched later, and it becomes the data fast checks re-derive from.
    pub fn full(&self, mut data: AccountData, labels: AccountLabels, fetched: Instant) -> Render {
        let mut inner = self.lock();
        inner.summary_at = Some(fetched);
        inner.quarantine_at = Some(fetched);
        if let Some((at, s)) = newer(&inner.fast_summary, Some(fetched)) {
            data.facts.summary = Some(s);
            inner.summary_at = Some(at);
        }
        if let Some((at, q)) = newer(&inner.fast_quarantine, Some(fetched)) {
            data.facts.quarantine = Some(q);
            inner.quarantine_at = Some(at);
        }
        let data = Arc::new(data);
        inner.data = inner.keep.then(|| data.clone());
        inner.labels = labels.clone();
        inner.taken += 1;
        Render {
            seq: inner.taken,
            data,
            labels,
        }
    }

    /// A fast check's answers, fetched from `started` on: kept, and when they change a fact of
    /// the account's data, the render of the new data. `None`: nothing changed, or no full
    /// refresh has succeeded yet (the first one will take them).
    pub fn fast(&self, fresh: LiveFacts, started: Instant) -> Option<Render> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        if let Some(s) = fresh.summary {
            inner.fast_summary = Some((started, s));
        }
        if let Some(q) = fresh.quarantine {
            inner.fast_quarantine = Some((started, q));
        }
        let data = inner.data.as_ref()?;
        let mut facts = None;
        if let Some((at, s)) = newer(&inner.fast_summary, inner.summary_at) {
            inner.summary_at = Some(at);
            if data.facts.summary.as_ref() != Some(&s) {
                facts.get_or_insert_with(|| data.facts.clone()).summary = Some(s);
            }
        }
        if let Some((at, q)) = newer(&inner.fast_quarantine, inner.quarantine_at) {
            inner.quarantine_at = Some(at);
            if data.facts.quarantine.as_ref() != Some(&q) {
                facts.get_or_insert_with(|| data.facts.clone()).quarantine = Some(q);
            }
        }
        // NB: copies the parsed report (milliseconds at 50,000 users), only when a fact changed.
        let data = Arc::new(AccountData {
            facts: facts?,
            report: data.report.clone(),
            generated: data.generated,
        });
        inner.data = Some(data.clone());
        inner.taken += 1;
        Some(Render {
            seq: inner.taken,
            data,
            labels: inner.labels.clone(),
        })
    }

    /// Writes a finished render into the account's slot, unless a newer render is shown.
    pub fn show(&self, rendered: Finished, state: &State, key: &str) {
        let mut inner = self.lock();
        if rendered.seq <= inner.shown {
            return;
        }
        inner.shown = rendered.seq;
        let data = Arc::new(rendered.series);
        // NB: under this lock, so that renders reach the slot in the order they were taken.
        state.update(key, |slot| {
            slot.data = Some(data);
            slot.root_use = rendered.root_use;
        });
    }

    /// Records the failed calls of a fast check, as (operation, code); true when they differ
    /// from the last check's (a new failure, worth a warning).
    pub fn fast_failures(&self, failed: Vec<(&'static str, String)>) -> bool {
        let mut inner = self.lock();
        let new = !failed.is_empty() && inner.fast_failures != failed;
        inner.fast_failures = failed;
        new
    }

    /// Renders the self-metrics as they are now into the account's slot.
    pub fn show_stats(&self, state: &State, key: &str) {
        let stats = Arc::new(render_stats(self.lock().stats.clone()));
        state.update(key, |slot| slot.stats = Some(stats));
    }
}

/// Settings of fast checks.
#[derive(Debug, Clone)]
pub struct FastSettings {
    pub thresholds: Thresholds,
    pub per_user: bool,
    /// Hard bound on one check, beyond the per-call timeouts.
    pub deadline: Duration,
}

/// One account's fast check.
#[derive(Debug)]
pub struct FastCheck {
    pub key: String,
    pub client: AccountClient,
    pub live: Arc<Live>,
    pub state: Arc<State>,
    pub settings: Arc<FastSettings>,
}

impl Check for FastCheck {
    async fn check(&mut self) {
        let started = Instant::now();
        let mut errors = ErrorLog::new();
        let deadline = self.settings.deadline;
        let fresh = tokio::time::timeout(deadline, self.client.live_facts(&mut errors)).await;
        // NB: every minute in every account: a failure is logged at warn when it is new (another
        // operation or code than the last check's), at debug while it repeats.
        let failed: Vec<(&'static str, String)> = errors
            .iter()
            .map(|e| (e.operation.as_str(), e.code.label().into_owned()))
            .collect();
        let new_failure = self.live.fast_failures(failed);
        for e in &errors {
            if new_failure {
                tracing::warn!(account = %self.key, operation = %e.operation, code = %e.code.label(), message = %e.message, "fast check: AWS call failed; the last good values stay served (logged again when the failure changes)");
            } else {
                tracing::debug!(account = %self.key, operation = %e.operation, code = %e.code.label(), message = %e.message, "fast check: AWS call failed again");
            }
        }
        let ok = errors.is_empty() && fresh.is_ok();
        let fresh = fresh.unwrap_or_else(|_| {
            tracing::warn!(account = %self.key, deadline = %humantime::format_duration(deadline), "fast check abandoned at its deadline; the last good values stay served");
            LiveFacts::default()
        });
        let render = self.live.fast(fresh, started);
        let changed = render.is_some();
        if let Some(render) = render {
            let s = self.settings.clone();
            let now = now_secs() as i64;
            let run = move || render.run(&s.thresholds, s.per_user, now);
            match tokio::task::spawn_blocking(run).await {
                Ok(finished) => {
                    self.live.show(finished, &self.state, &self.key);
                    tracing::info!(account = %self.key, "fast check: a signal changed; the account is republished");
                }
                Err(e) => {
                    tracing::error!(account = %self.key, error = %e, "fast check: the render task failed");
                }
            }
        }
        // The self-metrics change only with the outcome: an unchanged, successful check
        // publishes nothing.
        let stats_changed = self.live.stats(|s| {
            let flipped = s.fast_success != Some(ok);
            s.fast_success = Some(ok);
            s.fast_updates += u64::from(changed);
            for e in &errors {
                s.aws_errors.count(e);
            }
            flipped || !errors.is_empty() || changed
        });
        if stats_changed {
            self.live.show_stats(&self.state, &self.key);
        }
    }
}
