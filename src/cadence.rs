//! When a member's root audit (sts:AssumeRoot) is due: at once after a start, then once per
//! root-audit interval on a stable slot of the member's own, and after a failure at the next
//! refresh, then 2, 4, 8, ... refresh intervals later, never more than a root-audit interval
//! apart.
//!
//! The scheduler ([`crate::schedule`]) runs a member's job at the refresh interval like every
//! account's; the job asks its [`Cadence`] first and does nothing until the audit is due. So
//! the root audit needs no schedule of its own: every AssumeRoot is a CloudTrail event, and a
//! member that refuses costs a few of them, not one per refresh.
//!
//! Slots: audits fall on `epoch + phase + k * interval` (`phase` a stable fraction of the
//! interval per member, as refresh slots are), the first slot at least half an interval after
//! the last success. So a fleet's audits spread over the hour instead of repeating the start's
//! burst, and the gap between two audits stays between half an interval and one and a half (one
//! interval once on its slot). No state survives a restart: the first refresh of every member
//! audits at once, as every account refreshes at once.
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
    /// The slots: `epoch + phase + k * interval`.
    epoch: Instant,
    phase: Duration,
    /// When the next audit is due; `None`: now (never audited, as after a start).
    next: Option<Instant>,
    /// Failures since the last success.
    failures: u32,
}

impl Cadence {
    /// A cadence whose slots are `epoch + phase + k * interval` (`phase` below `interval`).
    pub fn new(interval: Duration, retry: Duration, epoch: Instant, phase: Duration) -> Cadence {
        Cadence {
            interval,
            retry: retry.min(interval),
            epoch,
            phase: phase.min(interval),
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
        self.next = Some(if ok {
            self.failures = 0;
            self.slot_from(started + self.interval / 2)
        } else {
            let doublings = self.failures.min(16);
            self.failures = self.failures.saturating_add(1);
            let wait = self.retry.saturating_mul(1 << doublings).min(self.interval);
            // NB: a little early: the retry runs at a refresh, and the refresh after `wait` may
            // come a hair before it (slots are not exact); without the margin it would be put
            // off by a whole refresh interval.
            started + wait.saturating_sub(self.retry / 4)
        });
    }

    /// The first slot at or after `earliest`.
    fn slot_from(&self, earliest: Instant) -> Instant {
        let first = self.epoch + self.phase;
        if earliest <= first {
            return first;
        }
        let period = self.interval.as_nanos().max(1);
        let k = (earliest - first).as_nanos().div_ceil(period);
        first
            + self
                .interval
                .saturating_mul(u32::try_from(k).unwrap_or(u32::MAX))
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

    /// Steps a paused clock through `span` by `step` (the refresh interval), for a member whose
    /// slot is `phase` into the hour, and returns the minutes (since the start) at which the
    /// audit ran; `ok` says how each audit ends.
    async fn audits(
        span: Duration,
        step: Duration,
        phase: Duration,
        mut ok: impl FnMut(u32) -> bool,
    ) -> Vec<u64> {
        let start = Instant::now();
        let mut c = Cadence::new(HOUR, step, start, phase);
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
    async fn a_successful_audit_runs_at_once_then_once_per_interval_on_its_slot() {
        // However often the job refreshes (every 5 minutes), once an hour.
        let ran = audits(4 * HOUR, 5 * MINUTE, 40 * MINUTE, |_| true).await;
        assert_eq!(ran, [0, 40, 100, 160, 220]);
        // A slot less than half an hour after the first audit is skipped once.
        let ran = audits(4 * HOUR, 5 * MINUTE, 20 * MINUTE, |_| true).await;
        assert_eq!(ran, [0, 80, 140, 200]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_audit_is_retried_sooner_with_backoff_up_to_the_interval() {
        // Fails until the 6th attempt: retried 5, 10, 20, 40 minutes later, then 1 hour; then
        // back on its slot (on the hour).
        let ran = audits(4 * HOUR, 5 * MINUTE, Duration::ZERO, |n| n >= 6).await;
        assert_eq!(ran, [0, 5, 15, 35, 75, 135, 180, 240]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_after_a_failure_returns_to_the_slot() {
        let ran = audits(3 * HOUR, 5 * MINUTE, 30 * MINUTE, |n| n != 1).await;
        assert_eq!(ran, [0, 5, 90, 150]);
    }

    #[test]
    fn a_new_cadence_is_due_at_once() {
        let now = Instant::now();
        assert!(Cadence::new(HOUR, MINUTE, now, Duration::ZERO).due(now));
    }
}
