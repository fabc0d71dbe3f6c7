//! The queue's fairness and bounds, with cheap checks whose timing the tests control.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use super::*;

fn client(i: u8) -> Client {
    Client::from_ip(std::net::Ipv4Addr::new(192, 0, 2, i).into())
}

fn key(i: u32) -> CacheKey {
    let mut k = [0u8; 32];
    k[..4].copy_from_slice(&i.to_be_bytes());
    k
}

const LIMITS: Limits = Limits {
    workers: 1,
    capacity: 6,
    per_client: 4,
};

// --- the fair queue (pure) -------------------------------------------------------------

#[test]
fn a_client_with_one_check_goes_first_then_the_others_take_turns_in_arrival_order() {
    let mut q = FairQueue::default();
    for (c, k) in [(1, 10), (1, 11), (1, 12), (2, 20), (3, 30), (2, 21)] {
        assert_eq!(q.admit(&LIMITS, client(c), key(k)), Admission::Queued);
    }
    let order: Vec<CacheKey> = std::iter::from_fn(|| q.pop()).collect();
    assert_eq!(order, [30, 10, 20, 11, 21, 12].map(key));
    assert_eq!(q.len, 0);
    assert!(q.waiting.is_empty() && q.new_turns.is_empty() && q.old_turns.is_empty());
}

#[test]
fn a_client_with_no_check_waiting_goes_before_the_backlogged_ones() {
    let limits = Limits {
        workers: 1,
        capacity: 32,
        per_client: 8,
    };
    let mut q = FairQueue::default();
    for k in 0..6 {
        q.admit(&limits, client(1), key(10 + k));
        q.admit(&limits, client(2), key(20 + k));
    }
    assert_eq!(
        [q.pop(), q.pop(), q.pop()],
        [10, 20, 11].map(|k| Some(key(k)))
    );
    // Both flooding clients have a backlog now; a scraper's one check is next.
    q.admit(&limits, client(3), key(30));
    assert_eq!(q.pop(), Some(key(30)));
    // Then the backlogged clients take turns again, where they were.
    let order: Vec<CacheKey> = std::iter::from_fn(|| q.pop()).collect();
    assert_eq!(order, [21, 12, 22, 13, 23, 14, 24, 15, 25].map(key));
}

#[test]
fn a_flooding_client_that_refills_at_once_stays_backlogged() {
    let mut q = FairQueue::default();
    q.admit(&LIMITS, client(1), key(10));
    for k in 20..23 {
        q.admit(&LIMITS, client(2), key(k));
    }
    assert_eq!([q.pop(), q.pop()], [Some(key(10)), Some(key(20))]);
    // Client 1 has none waiting and sends another at once: it is not new, it keeps its
    // turn among the backlogged; client 3, idle for a round, is new and goes first.
    q.admit(&LIMITS, client(1), key(11));
    q.admit(&LIMITS, client(3), key(30));
    let order: Vec<CacheKey> = std::iter::from_fn(|| q.pop()).collect();
    assert_eq!(order, [30, 11, 21, 22].map(key));
    assert!(q.waiting.is_empty() && q.new_turns.is_empty() && q.old_turns.is_empty());
}

#[test]
fn clients_that_start_with_a_backlog_go_after_a_later_client_with_one_check() {
    let mut q = FairQueue::default();
    // A flood starting from three addresses: none of them served yet.
    for c in 1..=3 {
        for k in 0..3 {
            q.admit(&LIMITS, client(c), key(u32::from(c) * 10 + k));
        }
    }
    q.admit(&LIMITS, client(9), key(90));
    assert_eq!(q.pop(), Some(key(90)));
    assert_eq!(q.pop(), Some(key(10)));
}

#[test]
fn a_client_queues_at_most_its_share() {
    let mut q = FairQueue::default();
    for k in 0..4 {
        assert_eq!(q.admit(&LIMITS, client(1), key(k)), Admission::Queued);
    }
    assert_eq!(q.admit(&LIMITS, client(1), key(4)), Admission::Refused);
    // Another client still has room, and a served check frees a place in the share.
    assert_eq!(q.admit(&LIMITS, client(2), key(20)), Admission::Queued);
    assert_eq!([q.pop(), q.pop()], [Some(key(20)), Some(key(0))]);
    assert_eq!(q.admit(&LIMITS, client(1), key(4)), Admission::Queued);
}

#[test]
fn a_full_queue_drops_the_newest_check_of_the_client_with_the_most_for_a_newcomer() {
    let mut q = FairQueue::default();
    for k in 0..4 {
        q.admit(&LIMITS, client(1), key(k));
    }
    q.admit(&LIMITS, client(2), key(20));
    q.admit(&LIMITS, client(2), key(21));
    assert_eq!(q.len, LIMITS.capacity);
    assert_eq!(
        q.admit(&LIMITS, client(3), key(30)),
        Admission::QueuedDropping(key(3))
    );
    assert_eq!(
        q.admit(&LIMITS, client(4), key(40)),
        Admission::QueuedDropping(key(2))
    );
    // Now 2, 2, 1, 1: dropping one of two for a client with one would change nothing.
    assert_eq!(q.admit(&LIMITS, client(3), key(31)), Admission::Refused);
    // A client with none still gets a place: from the longest served last, client 2.
    assert_eq!(
        q.admit(&LIMITS, client(5), key(50)),
        Admission::QueuedDropping(key(21))
    );
    assert_eq!(q.len, LIMITS.capacity);
    let order: Vec<CacheKey> = std::iter::from_fn(|| q.pop()).collect();
    assert_eq!(order, [30, 40, 50, 0, 20, 1].map(key));
}

#[test]
fn a_queue_full_of_clients_with_one_check_each_refuses_a_newcomer() {
    let mut q = FairQueue::default();
    for c in 0..6 {
        assert_eq!(
            q.admit(&LIMITS, client(c), key(c.into())),
            Admission::Queued
        );
    }
    assert_eq!(q.admit(&LIMITS, client(9), key(9)), Admission::Refused);
}

#[test]
fn the_limits_follow_the_threads() {
    assert_eq!(
        Limits::for_workers(1),
        Limits {
            workers: 1,
            capacity: 32,
            per_client: 4
        }
    );
    assert_eq!(Limits::for_workers(4).capacity, 128);
    assert_eq!(Limits::for_workers(4).per_client, 16);
    let here = Limits::for_this_machine();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    assert!(here.workers >= 1 && here.workers <= MAX_WORKERS, "{here:?}");
    assert!(
        cpus == 1 || here.workers <= cpus / 2,
        "{here:?} on {cpus} CPUs"
    );
}

// --- the verifier (threads) ------------------------------------------------------------

/// Checks that record the order they ran in; the first one waits until released.
struct Harness {
    verifier: Verifier,
    ran: Arc<Mutex<Vec<u32>>>,
    release: Mutex<Option<mpsc::Sender<()>>>,
    gate: Mutex<Option<mpsc::Receiver<()>>>,
    started: Arc<(Mutex<bool>, Condvar)>,
}

impl Harness {
    fn new(limits: Limits) -> Harness {
        let (release, gate) = mpsc::channel();
        Harness {
            verifier: Verifier::new(limits),
            ran: Arc::default(),
            release: Mutex::new(Some(release)),
            gate: Mutex::new(Some(gate)),
            started: Arc::default(),
        }
    }

    /// Queues check `k` for client `c`; it succeeds when `k` is even.
    fn check(&self, c: u8, k: u32) -> Checked {
        let ran = Arc::clone(&self.ran);
        let gate = self.gate.lock().unwrap().take();
        let started = Arc::clone(&self.started);
        self.verifier.check(client(c), key(k), move || {
            Box::new(move || {
                if let Some(gate) = gate {
                    let (flag, cv) = &*started;
                    *flag.lock().unwrap() = true;
                    cv.notify_all();
                    let _ = gate.recv();
                }
                ran.lock().unwrap().push(k);
                k.is_multiple_of(2)
            })
        })
    }

    /// Waits until the first check is running (and holding the only thread).
    fn wait_first_running(&self) {
        let (flag, cv) = &*self.started;
        let guard = flag.lock().unwrap();
        let (_guard, timeout) = cv
            .wait_timeout_while(guard, Duration::from_secs(10), |s| !*s)
            .unwrap();
        assert!(!timeout.timed_out(), "the first check never started");
    }

    fn release(&self) {
        self.release.lock().unwrap().take();
    }
}

fn outcome(checked: Checked) -> Option<bool> {
    match checked {
        Checked::Known(ok) => Some(ok),
        Checked::Pending(rx) => rx.blocking_recv().ok(),
        Checked::Busy => None,
    }
}

fn pending(checked: Checked) -> oneshot::Receiver<bool> {
    match checked {
        Checked::Pending(rx) => rx,
        Checked::Known(_) => panic!("known, not queued"),
        Checked::Busy => panic!("busy, not queued"),
    }
}

#[test]
fn a_newcomer_is_checked_next_before_the_backlog_of_a_flooding_client() {
    let h = Harness::new(Limits::for_workers(1));
    let share = h.verifier.limits().per_client as u32;
    let first = pending(h.check(1, 100));
    h.wait_first_running();
    let flood: Vec<_> = (101..=100 + share)
        .map(|k| pending(h.check(1, k)))
        .collect();
    // Beyond its share, the flooding client is answered at once, unchecked.
    assert!(matches!(h.check(1, 999), Checked::Busy));
    let scraper = pending(h.check(2, 200));
    h.release();
    assert_eq!(scraper.blocking_recv(), Ok(true));
    assert_eq!(first.blocking_recv(), Ok(true));
    for rx in flood {
        assert!(rx.blocking_recv().is_ok());
    }
    let ran = h.ran.lock().unwrap().clone();
    assert_eq!(ran[..3], [100, 200, 101], "{ran:?}");
    assert_eq!(ran.len() as u32, 2 + share, "{ran:?}");
}

#[test]
fn a_check_dropped_from_a_full_queue_answers_its_requester_at_once() {
    let limits = Limits {
        workers: 1,
        capacity: 3,
        per_client: 3,
    };
    let h = Harness::new(limits);
    let _running = pending(h.check(1, 100));
    h.wait_first_running();
    let kept = [pending(h.check(1, 101)), pending(h.check(1, 103))];
    let mut dropped = pending(h.check(1, 105));
    let scraper = pending(h.check(2, 200));
    // The flooding client's newest check made room: its requester hears at once.
    assert!(matches!(
        dropped.try_recv(),
        Err(oneshot::error::TryRecvError::Closed)
    ));
    h.release();
    assert_eq!(scraper.blocking_recv(), Ok(true));
    for rx in kept {
        assert_eq!(rx.blocking_recv(), Ok(false));
    }
    assert!(!h.ran.lock().unwrap().contains(&105));
}

#[test]
fn the_same_credentials_share_one_check_and_then_hit_the_cache() {
    let h = Harness::new(LIMITS);
    let _running = pending(h.check(1, 100));
    h.wait_first_running();
    let waiting: Vec<_> = (0..10).map(|i| pending(h.check(i % 3 + 2, 42))).collect();
    h.release();
    for rx in waiting {
        assert_eq!(rx.blocking_recv(), Ok(true));
    }
    assert!(matches!(h.check(7, 42), Checked::Known(true)));
    let ran = h.ran.lock().unwrap().clone();
    assert_eq!(ran, [100, 42]);
}

#[test]
fn a_check_nobody_waits_for_any_more_is_skipped() {
    let h = Harness::new(LIMITS);
    let _running = pending(h.check(1, 100));
    h.wait_first_running();
    drop(pending(h.check(2, 200))); // the connection closed
    let last = pending(h.check(3, 300));
    h.release();
    assert_eq!(last.blocking_recv(), Ok(true));
    assert_eq!(*h.ran.lock().unwrap(), [100, 300]);
    // Not cached either: asked again, it is checked.
    assert_eq!(outcome(h.check(2, 200)), Some(true));
}

#[test]
fn checks_run_on_at_most_the_configured_threads() {
    let verifier = Verifier::new(Limits::for_workers(2));
    let (running, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let receivers: Vec<_> = (0..8u8)
        .map(|i| {
            let (running, max) = (Arc::clone(&running), Arc::clone(&max));
            pending(verifier.check(client(i), key(i.into()), move || {
                Box::new(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    false
                })
            }))
        })
        .collect();
    for rx in receivers {
        assert_eq!(rx.blocking_recv(), Ok(false));
    }
    let max = max.load(Ordering::SeqCst);
    assert!((1..=2).contains(&max), "{max} at once");
}

#[test]
fn a_check_that_panics_refuses_and_the_thread_goes_on() {
    let verifier = Verifier::new(Limits::for_workers(1));
    let panicking = verifier.check(client(1), key(1), || Box::new(|| panic!("bcrypt broke")));
    assert_eq!(outcome(panicking), Some(false));
    assert_eq!(
        outcome(verifier.check(client(1), key(2), || Box::new(|| true))),
        Some(true)
    );
}

#[test]
fn dropping_the_verifier_stops_its_threads() {
    let verifier = Verifier::new(Limits::for_workers(2));
    assert_eq!(
        outcome(verifier.check(client(1), key(1), || Box::new(|| true))),
        Some(true)
    );
    let shared = Arc::downgrade(&verifier.shared);
    drop(verifier);
    let deadline = Instant::now() + Duration::from_secs(10);
    while shared.strong_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        shared.strong_count(),
        0,
        "a verifier thread is still running"
    );
}
