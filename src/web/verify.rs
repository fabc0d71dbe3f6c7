//! Password checks under load: the outcome cache, a bounded queue that is fair between
//! clients, and a few threads that run the checks.
//!
//! bcrypt is slow on purpose (about 60 ms at cost 10), so whoever can send requests can ask
//! for more checks than any CPU can run. exporter-toolkit runs them one at a time behind one
//! mutex: a flood of distinct wrong passwords then queues every check, and a right password
//! seen for the first time (every password, after a restart) waits behind all of them.
//! Here instead:
//!
//! * a check whose outcome is cached (by a keyed hash of the credentials; successes and
//!   failures apart, so failures cannot evict a good scraper) is answered at once;
//! * the same credentials asked for while their check waits or runs share that check;
//! * waiting checks are queued per [`Client`]; a client that sends one check after a round
//!   idle goes before the clients with a backlog, which take turns (fq_codel's sparse and
//!   bulk flows). A scraper sends one check at a time: its check waits for the one running
//!   and those of other such clients, however many checks a flood queued;
//! * the queue is bounded, in total and per client; beyond the bound a request is answered
//!   at once, unchecked ([`Checked::Busy`]). A full queue makes room for a client with fewer
//!   waiting checks by dropping the newest check of the client with the most;
//! * the checks run on [`Limits::workers`] threads, at most half the CPUs, so the refresh
//!   and the scrapes go on. Not at a lowered priority: measured under a flood
//!   (scripts/bench-auth-flood.sh, 2 CPUs), nice 10 slowed each check about fivefold while
//!   the flood's requests kept the other threads busy (a right password behind one
//!   flooding address: 2.0 s instead of 0.4 s), and `/healthz` stayed at a few
//!   milliseconds either way;
//! * a check whose every requester has gone (closed connection) is skipped.
//!
//! Nothing here knows bcrypt: a check is a closure, so the tests drive the scheduling with
//! cheap ones. NB: one std mutex guards all the state; it is held for a few map operations
//! and scans of at most the queue's length, never while a check runs, never across an
//! `.await`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::client::Client;

/// A cache key: a keyed hash (HMAC-SHA256 under a per-process key) of the credentials.
pub(super) type CacheKey = [u8; 32];

/// A password check: `true` if the credentials are valid. Runs on a verifier thread.
pub(super) type Work = Box<dyn FnOnce() -> bool + Send>;

/// How many outcomes are remembered, per outcome.
pub(super) const CACHE_CAPACITY: usize = 100;
/// Waiting checks per verifier thread.
const QUEUE_PER_WORKER: usize = 32;
/// At most this many verifier threads, whatever the CPU count.
const MAX_WORKERS: usize = 4;
/// How often a full queue is logged, at most.
const BUSY_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The bounds of the queue and the thread count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Limits {
    /// Threads running checks.
    pub(super) workers: usize,
    /// Checks waiting, in all.
    pub(super) capacity: usize,
    /// Checks waiting, per client.
    pub(super) per_client: usize,
}

impl Limits {
    /// Half the CPUs this process may use (at least 1, at most [`MAX_WORKERS`]), 32 waiting
    /// checks per thread, an eighth of them (at least 2) per client.
    pub(super) fn for_this_machine() -> Limits {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Limits::for_workers((cpus / 2).clamp(1, MAX_WORKERS))
    }

    pub(super) fn for_workers(workers: usize) -> Limits {
        let capacity = workers * QUEUE_PER_WORKER;
        Limits {
            workers,
            capacity,
            per_client: (capacity / 8).max(2),
        }
    }
}

/// What [`Verifier::check`] answers.
pub(super) enum Checked {
    /// The cached outcome.
    Known(bool),
    /// Queued (or sharing a queued or running check): the outcome comes here. A closed
    /// channel means the check was dropped from a full queue: treat it as [`Checked::Busy`].
    Pending(oneshot::Receiver<bool>),
    /// The queue is full for this client: answered without checking.
    Busy,
}

/// The password-check service: see the module doc. Dropping it stops its threads once the
/// checks they are running end.
pub(super) struct Verifier {
    shared: Arc<Shared>,
}

struct Shared {
    limits: Limits,
    /// NB: std lock, held for a few map operations and scans of at most the queue's
    /// length; never while a check runs.
    state: Mutex<State>,
    /// Signalled when a check is queued or the verifier closes.
    work: Condvar,
}

#[derive(Default)]
struct State {
    outcomes: Outcomes,
    queue: FairQueue,
    /// The checks in `queue`, by key.
    queued: HashMap<CacheKey, Job>,
    /// Requesters of the checks running now, by key.
    running: HashMap<CacheKey, Vec<oneshot::Sender<bool>>>,
    /// Threads started (once, on the first check queued).
    workers: usize,
    closed: bool,
    /// Requests answered [`Checked::Busy`] since the last log line, and when that was.
    busy: u64,
    busy_logged: Option<Instant>,
}

struct Job {
    work: Work,
    /// Every request waiting for this check's outcome.
    waiters: Vec<oneshot::Sender<bool>>,
}

impl Verifier {
    pub(super) fn new(limits: Limits) -> Verifier {
        let limits = Limits {
            workers: limits.workers.max(1),
            capacity: limits.capacity.max(1),
            per_client: limits.per_client.max(1),
        };
        Verifier {
            shared: Arc::new(Shared {
                limits,
                state: Mutex::new(State::default()),
                work: Condvar::new(),
            }),
        }
    }

    /// The cached outcome for `key`, or a place in the queue for the check `work()` builds
    /// (called only when a new check is queued), or [`Checked::Busy`].
    pub(super) fn check(
        &self,
        client: Client,
        key: CacheKey,
        work: impl FnOnce() -> Work,
    ) -> Checked {
        let mut state = self.shared.lock();
        if let Some(ok) = state.outcomes.get(&key) {
            return Checked::Known(ok);
        }
        let (tx, rx) = oneshot::channel();
        // The same credentials are being checked already: wait for that outcome.
        if let Some(job) = state.queued.get_mut(&key) {
            job.waiters.push(tx);
            return Checked::Pending(rx);
        }
        if let Some(waiters) = state.running.get_mut(&key) {
            waiters.push(tx);
            return Checked::Pending(rx);
        }
        if state.workers == 0 {
            state.workers = self.shared.start_workers();
            if state.workers == 0 {
                return Checked::Busy;
            }
        }
        match state.queue.admit(&self.shared.limits, client, key) {
            Admission::Refused => {
                state.note_busy();
                return Checked::Busy;
            }
            // Its requesters see a closed channel: answered Busy at once.
            Admission::QueuedDropping(dropped) => {
                state.queued.remove(&dropped);
                state.note_busy();
            }
            Admission::Queued => {}
        }
        state.queued.insert(
            key,
            Job {
                work: work(),
                waiters: vec![tx],
            },
        );
        drop(state);
        self.shared.work.notify_one();
        Checked::Pending(rx)
    }

    #[cfg(test)]
    pub(super) fn limits(&self) -> Limits {
        self.shared.limits
    }

    #[cfg(test)]
    pub(super) fn cached_counts(&self) -> (usize, usize) {
        let state = self.shared.lock();
        (state.outcomes.verified.len(), state.outcomes.refused.len())
    }

    #[cfg(test)]
    pub(super) fn fill_cache_for_test(&self, n: usize) {
        let mut state = self.shared.lock();
        for i in 0..n as u64 {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&i.to_be_bytes());
            state.outcomes.verified.insert(k);
            state.outcomes.refused.insert(k);
        }
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        // Their requesters see closed channels.
        state.queued.clear();
        state.queue = FairQueue::default();
        drop(state);
        self.shared.work.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that
        // matters: at worst a check is forgotten and its requesters see a closed channel.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the verifier threads; returns how many started.
    fn start_workers(self: &Arc<Self>) -> usize {
        let mut started = 0;
        for i in 0..self.limits.workers {
            let shared = Arc::clone(self);
            match std::thread::Builder::new()
                .name(format!("password-check-{i}"))
                .spawn(move || shared.run_worker())
            {
                Ok(_) => started += 1,
                Err(e) => tracing::warn!(error = %e, "cannot start a password-check thread"),
            }
        }
        started
    }

    fn run_worker(&self) {
        while let Some((key, work)) = self.next_job() {
            // A panic in a check refuses its requesters and keeps the thread.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let waiters = {
                let mut state = self.lock();
                if let Ok(ok) = outcome {
                    state.outcomes.insert(key, ok);
                }
                state.running.remove(&key).unwrap_or_default()
            };
            let ok = outcome.unwrap_or(false);
            for waiter in waiters {
                let _ = waiter.send(ok); // the requester may have gone
            }
        }
    }

    /// The next check to run, skipping those nobody waits for any more; `None` once closed.
    fn next_job(&self) -> Option<(CacheKey, Work)> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            while let Some(key) = state.queue.pop() {
                let Some(job) = state.queued.remove(&key) else {
                    continue;
                };
                if job.waiters.iter().all(oneshot::Sender::is_closed) {
                    continue;
                }
                state.running.insert(key, job.waiters);
                return Some((key, job.work));
            }
            state = self.work.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl State {
    fn note_busy(&mut self) {
        self.busy += 1;
        let now = Instant::now();
        if self
            .busy_logged
            .is_none_or(|at| now.duration_since(at) >= BUSY_LOG_INTERVAL)
        {
            tracing::warn!(
                unchecked = self.busy,
                "too many password checks waiting: requests answered 429 without checking (logged at most once a minute)"
            );
            self.busy = 0;
            self.busy_logged = Some(now);
        }
    }
}

// ---------------------------------------------------------------------------
// The outcome cache
// ---------------------------------------------------------------------------

/// Recent outcomes, by [`CacheKey`]: successes and failures in separate bounded sets, so a
/// flood of wrong passwords cannot evict a good scraper.
#[derive(Default)]
struct Outcomes {
    verified: HashSet<CacheKey>,
    refused: HashSet<CacheKey>,
}

impl Outcomes {
    fn get(&self, key: &CacheKey) -> Option<bool> {
        if self.verified.contains(key) {
            Some(true)
        } else if self.refused.contains(key) {
            Some(false)
        } else {
            None
        }
    }

    fn insert(&mut self, key: CacheKey, ok: bool) {
        let set = if ok {
            &mut self.verified
        } else {
            &mut self.refused
        };
        insert_bounded(set, key);
    }
}

/// Inserts `key`, first evicting a tenth of the set if it is full. HMAC outputs are
/// uniformly random, so dropping the first entries in iteration order is random eviction.
fn insert_bounded(set: &mut HashSet<CacheKey>, key: CacheKey) {
    if set.len() >= CACHE_CAPACITY {
        let evict: Vec<CacheKey> = set
            .iter()
            .take((CACHE_CAPACITY / 10).max(1))
            .copied()
            .collect();
        for k in &evict {
            set.remove(k);
        }
    }
    set.insert(key);
}

// ---------------------------------------------------------------------------
// The fair queue
// ---------------------------------------------------------------------------

/// How [`FairQueue::admit`] took a check.
#[derive(Debug, PartialEq, Eq)]
enum Admission {
    Queued,
    /// Queued, and this check of another client was dropped to make room.
    QueuedDropping(CacheKey),
    /// Not queued: the client has its share, or the queue is full of clients with as few.
    Refused,
}

/// Waiting checks, per client, in arrival order within one. Between clients, as fq_codel
/// (RFC 8290) serves flows, sparse ones first: a client that sends one check after a round
/// idle is new and goes before the backlogged clients, which take turns. A scraper sends one
/// check at a time, so its check is next; a flooding client has a backlog. Pure: no clock,
/// no threads.
#[derive(Default)]
struct FairQueue {
    /// New clients, in arrival order: one check waiting, none served for a round.
    new_turns: VecDeque<Client>,
    /// The other clients in either list, in the order they take turns (possibly with none
    /// waiting: a served client stays a round).
    old_turns: VecDeque<Client>,
    /// Every client in either list: its waiting checks.
    waiting: HashMap<Client, VecDeque<CacheKey>>,
    len: usize,
}

impl FairQueue {
    /// Queues `key` for `client` unless the client has `per_client` waiting. When the
    /// queue holds `capacity`, the newest check of the client with the most waiting is
    /// dropped if that client has at least two more than this one; else this one is refused.
    fn admit(&mut self, limits: &Limits, client: Client, key: CacheKey) -> Admission {
        let own = self.waiting.get(&client).map_or(0, VecDeque::len);
        if own >= limits.per_client {
            return Admission::Refused;
        }
        let mut admission = Admission::Queued;
        if self.len >= limits.capacity {
            // Among equals, the one served last.
            let longest = self
                .new_turns
                .iter()
                .chain(&self.old_turns)
                .filter_map(|c| Some((*c, self.waiting.get(c)?.len())))
                .max_by_key(|(_, n)| *n);
            match longest {
                Some((victim, n)) if n > own + 1 => {
                    let dropped = self.remove_newest(victim);
                    admission = Admission::QueuedDropping(dropped);
                }
                _ => return Admission::Refused,
            }
        }
        match self.waiting.get_mut(&client) {
            None => {
                self.waiting.insert(client, VecDeque::from([key]));
                self.new_turns.push_back(client);
            }
            Some(keys) => {
                keys.push_back(key);
                // A second check while new: not sparse, it takes turns with the backlogged.
                if keys.len() == 2 && self.new_turns.contains(&client) {
                    self.new_turns.retain(|c| *c != client);
                    self.old_turns.push_back(client);
                }
            }
        }
        self.len += 1;
        admission
    }

    /// The next check: the oldest of the first new client, else of the backlogged client
    /// whose turn it is. A served client joins the backlogged ones, even when it has no
    /// more waiting (RFC 8290 §4.2): it counts as new again only once idle for a whole
    /// round, so a flood that refills the moment a check is served stays backlogged.
    fn pop(&mut self) -> Option<CacheKey> {
        loop {
            let client = self
                .new_turns
                .pop_front()
                .or_else(|| self.old_turns.pop_front())?;
            let Some(keys) = self.waiting.get_mut(&client) else {
                continue;
            };
            match keys.pop_front() {
                Some(key) => {
                    self.old_turns.push_back(client);
                    self.len -= 1;
                    return Some(key);
                }
                // Idle for a whole round: forgotten, new when it next sends a check.
                None => {
                    self.waiting.remove(&client);
                }
            }
        }
    }

    /// Drops `client`'s newest waiting check. NB: only called for a client with at least
    /// two waiting, so the `expect` holds and the client keeps its place.
    fn remove_newest(&mut self, client: Client) -> CacheKey {
        let key = self
            .waiting
            .get_mut(&client)
            .and_then(VecDeque::pop_back)
            .expect("the victim has waiting checks");
        self.len -= 1;
        key
    }
}

#[cfg(test)]
mod tests;
