//! When a member's root audit (sts:AssumeRoot) is due: once per root-audit interval after a
//! success, and after a failure at the next refresh, then 2, 4, 8, ... refresh intervals later,
//! never more than a root-audit interval apart.
//!
//! The scheduler ([`crate::schedule`]) runs a member's job at the refresh interval like every
//! account's; the job asks its [`Cadence`] first and does nothing until the audit is due. So
//! the root audit needs no schedule of its own: every AssumeRoot is a CloudTrail event, and a
//! member that refuses costs a few of them, not one per refresh. No state survives a restart:
//! the first refresh of every member audits at once, as every account refreshes at once.
//!
//! `now` is an argument ([`tokio::time::Instant`], which a paused test clock drives).

use std::time::Duration;

use tokio::time::Instant;

/// One member's audit cadence.
#[derive(Debug, Clone)]
pub struct Cadence {
    /// Between two successful audits (`--root-audit.interval`).
    interval: Duration,
    /// The first retry after a failure: the refresh interval.
    retry: Duration,
    /// When the next audit is due; `None`: now (never audited, as after a start).
    next: Option<Instant>,
    /// Failures since the last success.
    failures: u32,
}

impl Cadence {
    pub fn new(interval: Duration, retry: Duration) -> Cadence {
        Cadence {
            interval,
            retry: retry.min(interval),
            next: None,
            failures: 0,
        }
    }

    /// Whether an audit started at `now` is due.
    pub fn due(&self, now: Instant) -> bool {
        self.next.is_none_or(|next| now >= next)
    }

    /// Records the outcome of an audit that started at `started`.
    pub fn record(&mut self, started: Instant, ok: bool) {
        let wait = if ok {
            self.failures = 0;
            self.interval
        } else {
            let doublings = self.failures.min(16);
            self.failures = self.failures.saturating_add(1);
            self.retry.saturating_mul(1 << doublings).min(self.interval)
        };
        // NB: a little early, so that an audit due at a refresh that comes a hair before the
        // interval is over (slots are not exact) is not put off by a whole refresh interval.
        self.next = Some(started + wait.saturating_sub(self.retry / 4));
    }

    /// Failures since the last success (for the log).
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    /// Steps a paused clock through `span` by `step` (the refresh interval) and returns the
    /// minutes (since the start) at which the audit ran; `ok` says how each audit ends.
    async fn audits(span: Duration, step: Duration, mut ok: impl FnMut(u32) -> bool) -> Vec<u64> {
        let start = Instant::now();
        let mut c = Cadence::new(HOUR, step);
        let mut ran = Vec::new();
        while start.elapsed() <= span {
            let now = Instant::now();
            if c.due(now) {
                ran.push(start.elapsed().as_secs() / 60);
                c.record(now, ok(ran.len() as u32));
            }
            tokio::time::sleep(step).await;
        }
        ran
    }

    #[tokio::test(start_paused = true)]
    async fn a_successful_audit_runs_once_per_interval_however_often_the_job_refreshes() {
        let ran = audits(3 * HOUR, 5 * MINUTE, |_| true).await;
        assert_eq!(ran, [0, 60, 120, 180]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_audit_is_retried_sooner_with_backoff_up_to_the_interval() {
        // Fails until the 6th attempt: retried 5, 10, 20, 40 minutes later, then 1 hour.
        let ran = audits(4 * HOUR, 5 * MINUTE, |n| n >= 6).await;
        assert_eq!(ran, [0, 5, 15, 35, 75, 135, 195]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_after_failures_returns_to_the_interval() {
        let ran = audits(3 * HOUR + 10 * MINUTE, 5 * MINUTE, |n| n != 1).await;
        assert_eq!(ran, [0, 5, 65, 125, 185]);
    }

    #[test]
    fn a_new_cadence_is_due_at_once() {
        assert!(Cadence::new(HOUR, MINUTE).due(Instant::now()));
    }
}
