//! The scheduler under a paused clock: every time below is virtual and exact.

use std::sync::Mutex;

use super::*;
use crate::exposition::Rendered;
use crate::schedule::{DISCOVERY_RETRY, Found};

const INTERVAL: Duration = Duration::from_secs(300);

/// Refreshes seen: (account key, seconds since the test started).
type Log = Arc<Mutex<Vec<(String, u64)>>>;

struct FakeFleet {
    /// The accounts discovery returns; `None` makes discovery fail.
    accounts: Mutex<Option<Vec<String>>>,
    /// Accounts found whatever discovery answers (a config file's).
    configured: Vec<String>,
    /// Each account's spec (its name, say), 0 unless set here: a change restarts it.
    specs: Mutex<std::collections::HashMap<String, u32>>,
    /// When discovery was asked (seconds since the start).
    discoveries: Mutex<Vec<u64>>,
    /// Accounts opened: (key, spec, seconds since the start).
    opened: Mutex<Vec<(String, u32, u64)>>,
    /// Account tasks alive (an account's state is dropped when its task ends).
    alive: Arc<std::sync::atomic::AtomicUsize>,
    /// Accounts whose first refresh panics (taken out once it did).
    panics: Mutex<Vec<String>>,
    /// How long each refresh takes.
    work: Duration,
    /// How long each refresh first blocks its worker thread (work that does not yield).
    block: Duration,
    log: Log,
    /// Fast checks seen (every account has one; the plan says whether they run).
    checks: Log,
    state: Arc<State>,
    t0: Instant,
}

struct FakeAccount {
    key: String,
    /// Counts the task alive until it drops its account.
    _alive: Alive,
    panic_first: bool,
    fleet_work: Duration,
    block: Duration,
    log: Log,
    fast: Option<FakeCheck>,
    state: Arc<State>,
    t0: Instant,
}

/// A fast check that records when it ran.
#[derive(Clone)]
struct FakeCheck {
    key: String,
    log: Log,
    t0: Instant,
}

impl Check for FakeCheck {
    async fn check(&mut self) {
        let at = (Instant::now() - self.t0).as_secs();
        self.log.lock().unwrap().push((self.key.clone(), at));
    }
}

/// One live account task in [`FakeFleet::alive`].
struct Alive(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Refresh for FakeAccount {
    type Fast = FakeCheck;

    fn fast_check(&self) -> Option<FakeCheck> {
        self.fast.clone()
    }

    async fn refresh(&mut self) {
        let at = (Instant::now() - self.t0).as_secs();
        self.log.lock().unwrap().push((self.key.clone(), at));
        if std::mem::take(&mut self.panic_first) {
            panic!("a refresh that panics");
        }
        std::thread::sleep(self.block);
        tokio::time::sleep(self.fleet_work).await;
        self.state.update(&self.key, |slot| {
            slot.data = Some(Arc::new(Rendered::default()));
        });
    }
}

impl FakeFleet {
    /// A fleet that discovers `accounts` (`None`: discovery fails), each refresh taking `work`;
    /// no configured accounts, panics or blocking.
    fn new(state: &Arc<State>, accounts: Option<&[&str]>, work: Duration) -> FakeFleet {
        FakeFleet {
            accounts: Mutex::new(accounts.map(|a| a.iter().map(|s| s.to_string()).collect())),
            configured: Vec::new(),
            specs: Mutex::default(),
            discoveries: Mutex::default(),
            opened: Mutex::default(),
            alive: Arc::default(),
            panics: Mutex::default(),
            work,
            block: Duration::ZERO,
            log: Log::default(),
            checks: Log::default(),
            state: state.clone(),
            t0: Instant::now(),
        }
    }
}

/// The plan of most tests: [`INTERVAL`], spread, fast checks every `fast` when given.
fn plan(concurrency: usize, fast: Option<Duration>) -> Plan {
    Plan {
        interval: INTERVAL,
        concurrency,
        spread: true,
        fast_interval: fast,
        retry: DISCOVERY_RETRY,
    }
}

impl Fleet for FakeFleet {
    type Spec = u32;
    type Account = FakeAccount;

    async fn discover(&self) -> Found<u32> {
        let at = (Instant::now() - self.t0).as_secs();
        self.discoveries.lock().unwrap().push(at);
        let found = self.accounts.lock().unwrap().clone();
        let complete = found.is_some();
        let specs = self.specs.lock().unwrap();
        let accounts = self
            .configured
            .iter()
            .cloned()
            .chain(found.unwrap_or_default())
            .map(|k| {
                let spec = specs.get(&k).copied().unwrap_or(0);
                (k, spec)
            })
            .collect();
        Found { accounts, complete }
    }

    async fn open(&self, key: &str, spec: &u32) -> FakeAccount {
        self.state.register(key);
        let at = (Instant::now() - self.t0).as_secs();
        self.opened
            .lock()
            .unwrap()
            .push((key.to_owned(), *spec, at));
        self.alive.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        FakeAccount {
            key: key.to_owned(),
            _alive: Alive(self.alive.clone()),
            panic_first: {
                let mut panics = self.panics.lock().unwrap();
                let before = panics.len();
                panics.retain(|p| p != key);
                panics.len() != before
            },
            fleet_work: self.work,
            block: self.block,
            log: self.log.clone(),
            fast: Some(FakeCheck {
                key: key.to_owned(),
                log: self.checks.clone(),
                t0: self.t0,
            }),
            state: self.state.clone(),
            t0: self.t0,
        }
    }

    fn reports_discovery(&self) -> bool {
        true
    }
}

struct Harness {
    fleet: Arc<FakeFleet>,
    state: Arc<State>,
    cancel: CancellationToken,
    handle: JoinHandle<()>,
}

fn start(accounts: &[&str], concurrency: usize, work: Duration, panics: &[&str]) -> Harness {
    start_with(accounts, concurrency, work, panics, None)
}

/// [`start`], with fast checks every `fast` when given.
fn start_with(
    accounts: &[&str],
    concurrency: usize,
    work: Duration,
    panics: &[&str],
    fast: Option<Duration>,
) -> Harness {
    let state = Arc::new(State::default());
    let fleet = Arc::new(FakeFleet {
        panics: Mutex::new(panics.iter().map(|s| s.to_string()).collect()),
        ..FakeFleet::new(&state, Some(accounts), work)
    });
    let cancel = CancellationToken::new();
    let plan = plan(concurrency, fast);
    let handle = tokio::spawn(run(fleet.clone(), state.clone(), plan, cancel.clone()));
    Harness {
        fleet,
        state,
        cancel,
        handle,
    }
}

impl Harness {
    fn refreshes_of(&self, key: &str) -> Vec<u64> {
        times_of(&self.fleet.log, key)
    }

    fn checks_of(&self, key: &str) -> Vec<u64> {
        times_of(&self.fleet.checks, key)
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.handle.await.unwrap();
    }
}

fn times_of(log: &Log, key: &str) -> Vec<u64> {
    let log = log.lock().unwrap();
    log.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, t)| *t)
        .collect()
}

#[test]
fn spread_offsets_are_pinned_so_that_accounts_keep_their_slot_across_releases() {
    // Real values, not the function compared with itself: a change of hash would move every
    // account's refresh slot (and, with the same hash, every account's shard).
    assert_eq!(
        spread("111111111111", INTERVAL),
        Duration::from_millis(266_400)
    );
    assert_eq!(
        spread("222222222222", INTERVAL),
        Duration::from_millis(27_600)
    );
    assert_eq!(spread("default", INTERVAL), Duration::from_millis(24_300));
    let distinct: std::collections::HashSet<_> = (0..50)
        .map(|n| spread(&format!("{n:012}"), INTERVAL))
        .collect();
    assert!(distinct.len() > 40);
    assert!(distinct.iter().all(|d| *d < INTERVAL));
}

#[tokio::test(start_paused = true)]
async fn every_first_refresh_starts_at_once_bounded_by_the_concurrency_limit() {
    let h = start(&["a", "b", "c", "d", "e"], 2, Duration::from_secs(10), &[]);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let mut firsts: Vec<u64> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|k| h.refreshes_of(k)[0])
        .collect();
    firsts.sort();
    // Two at a time, 10 s each: not one interval (300 s) for the last one.
    assert_eq!(firsts, [0, 0, 10, 10, 20]);
    assert_eq!(h.state.keys().len(), 5);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn later_refreshes_fall_on_each_accounts_stable_slot() {
    let h = start(
        &["111111111111", "222222222222"],
        8,
        Duration::from_secs(1),
        &[],
    );
    tokio::time::sleep(INTERVAL * 3 + Duration::from_secs(1)).await;
    // First at once; then at the slot at least half an interval later, then every interval.
    assert_eq!(h.refreshes_of("111111111111"), [0, 266, 566, 866]);
    assert_eq!(h.refreshes_of("222222222222"), [0, 327, 627]);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn without_spread_every_refresh_is_one_interval_after_the_last() {
    let state = Arc::new(State::default());
    let fleet = Arc::new(FakeFleet::new(
        &state,
        Some(&["default"]),
        Duration::from_secs(2),
    ));
    let cancel = CancellationToken::new();
    let plan = Plan {
        interval: Duration::from_secs(60),
        concurrency: 1,
        spread: false,
        fast_interval: None,
        retry: DISCOVERY_RETRY,
    };
    let handle = tokio::spawn(run(fleet.clone(), state, plan, cancel.clone()));
    tokio::time::sleep(Duration::from_secs(181)).await;
    let log: Vec<u64> = fleet.log.lock().unwrap().iter().map(|(_, t)| *t).collect();
    assert_eq!(log, [0, 60, 120, 180]);
    cancel.cancel();
    handle.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_departed_account_is_stopped_then_removed_and_never_comes_back() {
    // Refreshes take 200 s, so the removal at the next discovery (300 s) lands while
    // 111111111111 is in the middle of a refresh (its slot is at 266.4 s).
    let h = start(&["a", "111111111111"], 8, Duration::from_secs(200), &[]);
    tokio::time::sleep(Duration::from_secs(299)).await;
    assert_eq!(h.state.keys(), ["111111111111", "a"]);
    *h.fleet.accounts.lock().unwrap() = Some(vec!["a".into()]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.state.keys(), ["a"]);
    // The abandoned refresh would have finished at 466 s; nothing re-creates the account.
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(h.state.keys(), ["a"]);
    assert_eq!(h.refreshes_of("111111111111"), [0, 266]);
    let after_removal: Vec<u64> = h
        .refreshes_of("111111111111")
        .into_iter()
        .filter(|t| *t > 300)
        .collect();
    assert!(after_removal.is_empty(), "{after_removal:?}");
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_discovery_keeps_the_accounts_already_known() {
    let h = start(&["a", "b"], 8, Duration::from_secs(1), &[]);
    tokio::time::sleep(Duration::from_secs(10)).await;
    *h.fleet.accounts.lock().unwrap() = None;
    tokio::time::sleep(INTERVAL * 2).await;
    assert_eq!(h.state.keys(), ["a", "b"]);
    h.state.publish();
    assert!(h.refreshes_of("a").len() >= 3, "{:?}", h.refreshes_of("a"));
    assert!(
        h.state
            .published()
            .classic_text(0.0)
            .contains("aws_iam_exporter_account_discovery_success{} 0"),
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_new_account_refreshes_at_once_when_discovered() {
    let h = start(&["a"], 8, Duration::from_secs(1), &[]);
    tokio::time::sleep(Duration::from_secs(10)).await;
    *h.fleet.accounts.lock().unwrap() = Some(vec!["a".into(), "b".into()]);
    tokio::time::sleep(INTERVAL).await;
    assert_eq!(h.refreshes_of("b")[0], 300);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_refresh_task_that_panics_is_restarted_at_its_next_slot() {
    let h = start(
        &["111111111111"],
        8,
        Duration::from_secs(1),
        &["111111111111"],
    );
    tokio::time::sleep(INTERVAL * 2).await;
    // The first refresh (0 s) panicked; the task came back at its slot (266.4 s), not in a
    // tight loop.
    assert_eq!(h.refreshes_of("111111111111"), [0, 266, 566]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn shutdown_waits_for_every_account_task() {
    // Real time and real workers: each refresh blocks its worker for a while, as a refresh
    // that does not yield does, and is running on another worker when shutdown comes.
    let state = Arc::new(State::default());
    let fleet = Arc::new(FakeFleet {
        block: Duration::from_millis(500),
        ..FakeFleet::new(&state, Some(&["a", "b"]), Duration::from_secs(1_000))
    });
    let cancel = CancellationToken::new();
    let plan = plan(8, None);
    let alive = fleet.alive.clone();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stopper.cancel();
    });
    run(fleet, state.clone(), plan, cancel).await;
    // Both refreshes were abandoned, and their tasks ended before `run` returned: nothing
    // of theirs can write a slot afterwards.
    assert_eq!(alive.load(std::sync::atomic::Ordering::SeqCst), 0);
    state.publish();
    let text = state.published().classic_text(0.0);
    assert!(text.contains("aws_iam_exporter_accounts{} 2"), "{text}");
    assert!(!text.contains("aws_iam_users"), "{text}");
}

/// A fleet whose discovery fails, with `configured` accounts that need none.
fn start_failing(configured: &[&str]) -> Harness {
    let state = Arc::new(State::default());
    let fleet = Arc::new(FakeFleet {
        configured: configured.iter().map(|s| s.to_string()).collect(),
        ..FakeFleet::new(&state, None, Duration::from_secs(1))
    });
    let cancel = CancellationToken::new();
    let plan = plan(8, None);
    let handle = tokio::spawn(run(fleet.clone(), state.clone(), plan, cancel.clone()));
    Harness {
        fleet,
        state,
        cancel,
        handle,
    }
}

#[tokio::test(start_paused = true)]
async fn configured_accounts_are_watched_from_the_start_while_discovery_fails() {
    let h = start_failing(&["configured"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.refreshes_of("configured"), [0]);
    assert_eq!(h.state.keys(), ["configured"]);
    h.state.publish();
    let text = h.state.published().classic_text(0.0);
    assert!(
        text.contains("aws_iam_exporter_account_discovery_success{} 0"),
        "{text}"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_discovery_is_retried_after_seconds_doubling_up_to_the_interval() {
    let h = start_failing(&["configured"]);
    tokio::time::sleep(Duration::from_secs(700)).await;
    // 1, 2, 4, ... 256 s, then the interval (300 s), never less.
    assert_eq!(
        *h.fleet.discoveries.lock().unwrap(),
        [0, 1, 3, 7, 15, 31, 63, 127, 255, 511]
    );
    // Found at last: the member is watched at once, and discovery is back on the interval.
    *h.fleet.accounts.lock().unwrap() = Some(vec!["member".into()]);
    tokio::time::sleep(Duration::from_secs(800)).await;
    assert_eq!(h.fleet.discoveries.lock().unwrap()[10..], [811, 1111, 1411]);
    assert_eq!(h.refreshes_of("member")[0], 811);
    assert_eq!(h.state.keys(), ["configured", "member"]);
    // A failure again starts the retries over, from 1 s, and removes nothing.
    *h.fleet.accounts.lock().unwrap() = None;
    tokio::time::sleep(Duration::from_secs(215)).await;
    assert_eq!(
        h.fleet.discoveries.lock().unwrap()[13..],
        [1711, 1712, 1714]
    );
    assert_eq!(h.state.keys(), ["configured", "member"]);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_account_whose_spec_changes_is_restarted_at_once_under_the_same_key() {
    let h = start(
        &["111111111111", "222222222222"],
        8,
        Duration::from_secs(1),
        &[],
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    h.fleet
        .specs
        .lock()
        .unwrap()
        .insert("111111111111".into(), 7);
    tokio::time::sleep(INTERVAL).await;
    let mut opened = h.fleet.opened.lock().unwrap().clone();
    opened.sort();
    assert_eq!(
        opened,
        [
            ("111111111111".to_owned(), 0, 0),
            ("111111111111".to_owned(), 7, 300),
            ("222222222222".to_owned(), 0, 0),
        ]
    );
    // Refreshed at once under its new spec, the old task stopped: one slot, one task each.
    assert!(h.refreshes_of("111111111111").contains(&300));
    assert_eq!(h.fleet.alive.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(h.state.keys(), ["111111111111", "222222222222"]);
    h.stop().await;
}

const FAST: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn fast_checks_run_every_fast_interval_on_a_stable_slot_between_the_refreshes() {
    let h = start_with(
        &["111111111111"],
        8,
        Duration::from_secs(1),
        &[],
        Some(FAST),
    );
    tokio::time::sleep(INTERVAL + Duration::from_secs(1)).await;
    // The refreshes keep their cadence (300 s)...
    assert_eq!(h.refreshes_of("111111111111"), [0, 266]);
    // ... and the fast checks have theirs: the same fraction of their interval (0.888), the
    // first at least half an interval after the start (the first refresh read the same facts).
    assert_eq!(h.checks_of("111111111111"), [53, 113, 173, 233, 293]);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_long_refresh_delays_neither_its_accounts_fast_check_nor_other_accounts() {
    // Each refresh takes 10 minutes (a credential report being generated), one at a time: the
    // first refreshes alone take 30 minutes, and b and c wait for theirs all that time.
    let accounts = ["a", "b", "c"];
    let h = start_with(&accounts, 1, Duration::from_secs(600), &[], Some(FAST));
    tokio::time::sleep(Duration::from_secs(1200)).await;
    for key in accounts {
        let checks = h.checks_of(key);
        assert!(checks.len() >= 19, "{key}: {checks:?}");
        assert!(
            checks.windows(2).all(|w| w[1] - w[0] == 60),
            "{key}: a check every minute, never late: {checks:?}"
        );
    }
    assert_eq!(h.refreshes_of("a"), [0]);
    assert_eq!(h.refreshes_of("b"), [600]);
    assert!(
        h.refreshes_of("c").is_empty(),
        "c still waits for its first refresh"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn without_a_fast_interval_there_is_no_fast_check() {
    let h = start(&["a"], 8, Duration::from_secs(1), &[]);
    tokio::time::sleep(INTERVAL).await;
    assert!(h.checks_of("a").is_empty());
    assert_eq!(h.refreshes_of("a"), [0, 186]);
    h.stop().await;
}
