use super::*;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use crate::web::WebConfig;
use crate::web::test_support::*;
use crate::web::verify::Limits;

#[test]
fn a_malformed_bcrypt_hash_is_rejected_without_echoing_it() {
    let err = load_err("basic_auth_users:\n  bob: $2y$10$tooshort-secret-ish\n");
    let msg = err.to_string();
    assert_eq!(err.key(), Some("basic_auth_users.bob"), "{msg}");
    assert!(msg.contains("not a valid bcrypt hash"), "{msg}");
    assert!(!msg.contains("tooshort"), "{msg}");
}

#[test]
fn a_plaintext_password_instead_of_a_hash_is_rejected() {
    let err = load_err("basic_auth_users:\n  bob: hunter2\n");
    assert_eq!(err.key(), Some("basic_auth_users.bob"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

// --- basic auth ----------------------------------------------------------------

#[tokio::test]
async fn basic_auth_accepts_the_right_password() {
    let cfg = auth_config();
    assert!(
        cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD)))
            .await
    );
}

#[tokio::test]
async fn basic_auth_rejects_a_wrong_password() {
    let cfg = auth_config();
    assert!(!cfg.check_basic_auth(Some(&basic(TEST_USER, "wrong"))).await);
    assert!(!cfg.check_basic_auth(Some(&basic(TEST_USER, ""))).await);
}

#[tokio::test]
async fn basic_auth_rejects_an_unknown_user_after_a_dummy_bcrypt_verification() {
    let cfg = auth_config();
    assert!(
        !cfg.check_basic_auth(Some(&basic("mallory", TEST_PASSWORD)))
            .await
    );
    // The dummy hash was verified, at the configured user's cost.
    assert_eq!(cfg.auth.bcrypt.verifications.load(Ordering::Relaxed), 1);
    let real_cost = test_hash().parse::<bcrypt::HashParts>().unwrap().get_cost();
    let plan = cfg.auth.plan(None);
    assert_eq!(plan.len(), 1);
    assert_eq!(plan[0].1, real_cost);
    assert!(!plan[0].2, "a dummy, not alice's hash");
    assert_eq!(
        plan[0].0.parse::<bcrypt::HashParts>().unwrap().get_cost(),
        real_cost
    );
}

#[tokio::test]
async fn basic_auth_rejects_a_missing_or_malformed_header() {
    let cfg = auth_config();
    assert!(!cfg.check_basic_auth(None).await);
    assert!(
        !cfg.check_basic_auth(Some(&HeaderValue::from_static("Basic !!!not-base64")))
            .await
    );
    assert!(
        !cfg.check_basic_auth(Some(&HeaderValue::from_static("Basic")))
            .await
    );
    // base64("alice") has no colon separating user and password.
    assert!(
        !cfg.check_basic_auth(Some(&HeaderValue::from_static("Basic YWxpY2U=")))
            .await
    );
    assert_eq!(cfg.auth.bcrypt.verifications.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn basic_auth_rejects_a_non_basic_scheme() {
    let cfg = auth_config();
    let bearer = basic(TEST_USER, TEST_PASSWORD)
        .to_str()
        .unwrap()
        .replacen("Basic", "Bearer", 1);
    assert!(
        !cfg.check_basic_auth(Some(&HeaderValue::from_str(&bearer).unwrap()))
            .await
    );
}

#[tokio::test]
async fn basic_auth_scheme_is_case_insensitive() {
    let cfg = auth_config();
    let lower = basic(TEST_USER, TEST_PASSWORD)
        .to_str()
        .unwrap()
        .replacen("Basic", "bAsIc", 1);
    assert!(
        cfg.check_basic_auth(Some(&HeaderValue::from_str(&lower).unwrap()))
            .await
    );
}

#[tokio::test]
async fn basic_auth_refuses_passwords_longer_than_bcrypt_can_check() {
    let cfg = auth_config();
    let long = format!("{TEST_PASSWORD}{}", "x".repeat(80));
    assert!(!cfg.check_basic_auth(Some(&basic(TEST_USER, &long))).await);
}

#[tokio::test]
async fn no_users_means_every_request_is_allowed() {
    let cfg = load_ok("basic_auth_users: {}\n");
    assert!(!cfg.requires_auth());
    assert!(cfg.check_basic_auth(None).await);
}

#[tokio::test]
async fn a_successful_verification_is_cached_and_skips_bcrypt_next_time() {
    let cfg = auth_config();
    let good = basic(TEST_USER, TEST_PASSWORD);
    assert!(cfg.check_basic_auth(Some(&good)).await);
    assert_eq!(cfg.auth.bcrypt.verifications.load(Ordering::Relaxed), 1);
    assert!(cfg.check_basic_auth(Some(&good)).await);
    assert!(cfg.check_basic_auth(Some(&good)).await);
    assert_eq!(
        cfg.auth.bcrypt.verifications.load(Ordering::Relaxed),
        1,
        "cache hit path"
    );
    assert_eq!(cfg.auth.verifier.cached_counts(), (1, 0));
}

#[tokio::test]
async fn a_failed_verification_is_cached_too() {
    let cfg = auth_config();
    let bad = basic(TEST_USER, "nope");
    assert!(!cfg.check_basic_auth(Some(&bad)).await);
    assert!(!cfg.check_basic_auth(Some(&bad)).await);
    assert_eq!(cfg.auth.bcrypt.verifications.load(Ordering::Relaxed), 1);
    assert_eq!(cfg.auth.verifier.cached_counts(), (0, 1));
    // The right password is still checked: the key covers the password.
    assert!(
        cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD)))
            .await
    );
}

#[tokio::test]
async fn the_auth_cache_stays_bounded() {
    let cfg = auth_config();
    cfg.auth
        .verifier
        .fill_cache_for_test(crate::web::verify::CACHE_CAPACITY);
    assert!(
        cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD)))
            .await
    );
    let (verified, _) = cfg.auth.verifier.cached_counts();
    assert!(verified <= crate::web::verify::CACHE_CAPACITY, "{verified}");
    // The fresh entry survived eviction: the next check is a cache hit.
    assert!(
        cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD)))
            .await
    );
    assert_eq!(cfg.auth.bcrypt.verifications.load(Ordering::Relaxed), 1);
}

fn client(i: usize) -> Client {
    Client::from_ip(std::net::Ipv4Addr::from(0xc000_0200 + i as u32).into())
}

/// Distinct wrong passwords, all at once, from `clients` client addresses in turn, on a
/// multi-threaded runtime: how many were refused after a check, and how many unchecked.
async fn flood(cfg: &Arc<WebConfig>, n: usize, clients: usize) -> (usize, usize) {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let cfg = Arc::clone(cfg);
            tokio::spawn(async move {
                let bad = basic(TEST_USER, &format!("wrong-{i}"));
                cfg.authenticate(client(i % clients), Some(&bad)).await
            })
        })
        .collect();
    let (mut refused, mut busy) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Auth::Allowed => panic!("a wrong password was allowed"),
            Auth::Refused => refused += 1,
            Auth::Busy => busy += 1,
        }
    }
    (refused, busy)
}

/// Basic auth for alice (the fixture's hash) checked by `workers` threads.
fn auth_config_with_workers(workers: usize) -> WebConfig {
    let mut cfg = auth_config();
    let users = BTreeMap::from([(TEST_USER.to_string(), test_hash())]);
    let ctx = Ctx {
        path: std::path::Path::new("web.yml"),
        dir: std::path::Path::new("."),
    };
    cfg.auth = BasicAuth::with_limits(&ctx, users, Limits::for_workers(workers)).unwrap();
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_passwords_run_on_no_more_threads_than_the_limit() {
    let cfg = Arc::new(auth_config_with_workers(2));
    let limits = cfg.auth.verifier.limits();
    assert_eq!(limits.workers, 2);
    // As many clients as the queue holds, one check each: all are queued and checked.
    let (refused, busy) = flood(&cfg, limits.capacity, limits.capacity).await;
    assert_eq!((refused, busy), (limits.capacity, 0));
    let counters = &cfg.auth.bcrypt;
    assert_eq!(
        counters.verifications.load(Ordering::Relaxed),
        limits.capacity as u64
    );
    let max = counters.max_running.load(Ordering::SeqCst);
    assert!((1..=2).contains(&max), "{max} checks ran at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_client_cannot_queue_more_than_its_share_and_the_rest_is_answered_unchecked() {
    let cfg = Arc::new(auth_config_with_workers(1));
    let limits = cfg.auth.verifier.limits();
    let (refused, busy) = flood(&cfg, 200, 1).await;
    assert_eq!(refused + busy, 200);
    // At most its share waits, plus the one running, while the others arrive: most are
    // answered at once without a check (the verify tests check the share exactly).
    assert!(limits.per_client < 10);
    assert!(busy >= 100, "{refused} checked, {busy} not");
    assert_eq!(
        cfg.auth.bcrypt.verifications.load(Ordering::Relaxed),
        refused as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_wrong_password_sent_at_once_costs_one_bcrypt() {
    let cfg = Arc::new(auth_config());
    let mut checks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let cfg = Arc::clone(&cfg);
        checks.spawn(async move {
            let bad = basic(TEST_USER, "wrong");
            cfg.authenticate(client(i % 2), Some(&bad)).await
        });
    }
    for outcome in checks.join_all().await {
        assert_eq!(outcome, Auth::Refused);
    }
    assert_eq!(cfg.auth.bcrypt.verifications.load(Ordering::Relaxed), 1);
}

/// A flood that goes on until stopped: `connections` tasks, each sending one distinct wrong
/// password after the other, from `clients` client addresses in turn.
struct Flood {
    stop: Arc<std::sync::atomic::AtomicBool>,
    refused: Arc<AtomicU64>,
    busy: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Flood {
    fn start(cfg: &Arc<WebConfig>, connections: usize, clients: usize) -> Flood {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (refused, busy) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let tasks = (0..connections)
            .map(|i| {
                let (cfg, stop) = (Arc::clone(cfg), Arc::clone(&stop));
                let (refused, busy) = (Arc::clone(&refused), Arc::clone(&busy));
                tokio::spawn(async move {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let bad = basic(TEST_USER, &format!("wrong-{i}-{n}"));
                        let counter = match cfg.authenticate(client(i % clients), Some(&bad)).await
                        {
                            Auth::Allowed => panic!("a wrong password was allowed"),
                            Auth::Refused => &refused,
                            Auth::Busy => &busy,
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        Flood {
            stop,
            refused,
            busy,
            tasks,
        }
    }

    /// Waits until the queue has overflowed (a request was answered unchecked).
    async fn until_saturated(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.busy.load(Ordering::Relaxed) == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the queue never filled"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    fn answered(&self) -> u64 {
        self.refused.load(Ordering::Relaxed) + self.busy.load(Ordering::Relaxed)
    }

    /// Asserts the flood is still being answered, then stops it.
    async fn assert_going_on_then_stop(self) {
        let before = self.answered();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.answered() == before {
            assert!(
                std::time::Instant::now() < deadline,
                "the flood had stopped"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_known_good_credential_is_answered_without_waiting_for_bcrypt() {
    let cfg = Arc::new(auth_config_with_workers(1));
    let good = basic(TEST_USER, TEST_PASSWORD);
    assert!(cfg.check_basic_auth(Some(&good)).await);
    // While a flood from several clients keeps the queue full, from one of the flood's
    // clients even: the outcome is cached.
    let flood = Flood::start(&cfg, 200, 8);
    flood.until_saturated().await;
    let checks = cfg.auth.bcrypt.verifications.load(Ordering::Relaxed);
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        cfg.authenticate(client(0), Some(&good)),
    )
    .await;
    assert_eq!(answer, Ok(Auth::Allowed));
    flood.assert_going_on_then_stop().await;
    assert!(cfg.auth.bcrypt.verifications.load(Ordering::Relaxed) > checks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_right_password_seen_for_the_first_time_wins_over_a_flood_from_other_clients() {
    let cfg = Arc::new(auth_config_with_workers(1));
    let flood = Flood::start(&cfg, 200, 4);
    flood.until_saturated().await;
    let scraper = Client::from_ip("198.51.100.9".parse().unwrap());
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        cfg.authenticate(scraper, Some(&basic(TEST_USER, TEST_PASSWORD))),
    )
    .await;
    assert_eq!(answer, Ok(Auth::Allowed));
    flood.assert_going_on_then_stop().await;
}

// --- the same work for every user (item: login timing) ---------------------------------

/// alice with the fixture's hash (cost 5), bob with a cost-4 hash of his own.
const BOB_PASSWORD: &str = "bob-test-password";

fn two_cost_config() -> WebConfig {
    let bob = bcrypt::hash(BOB_PASSWORD, 4).unwrap();
    load_ok(&format!(
        "basic_auth_users:\n  {TEST_USER}: {}\n  bob: {bob}\n",
        test_hash()
    ))
}

#[test]
fn every_check_verifies_one_hash_per_configured_cost_whoever_asks() {
    let cfg = two_cost_config();
    let costs_and_own = |user: Option<&str>| -> Vec<(u32, bool)> {
        let stored = user.map(|u| &cfg.auth.users[u]);
        cfg.auth
            .plan(stored)
            .iter()
            .map(|(_, c, own)| (*c, *own))
            .collect()
    };
    assert_eq!(costs_and_own(Some(TEST_USER)), [(4, false), (5, true)]);
    assert_eq!(costs_and_own(Some("bob")), [(4, true), (5, false)]);
    assert_eq!(costs_and_own(None), [(4, false), (5, false)]);
    // Each hash is verified at the cost the plan says.
    for (hash, cost, _) in cfg.auth.plan(None) {
        assert_eq!(hash.parse::<bcrypt::HashParts>().unwrap().get_cost(), cost);
    }
}

#[tokio::test]
async fn a_check_does_the_same_bcrypt_work_for_known_and_unknown_users_of_any_cost() {
    let cfg = two_cost_config();
    let rounds = || cfg.auth.bcrypt.rounds.load(Ordering::Relaxed);
    let mut work = Vec::new();
    for (user, password, allowed) in [
        (TEST_USER, "wrong", false),
        ("bob", "wrong", false),
        ("mallory", "wrong", false),
        ("", "wrong", false),
        (TEST_USER, TEST_PASSWORD, true),
        ("bob", BOB_PASSWORD, true),
        ("mallory", BOB_PASSWORD, false),
    ] {
        let before = rounds();
        let ok = cfg.check_basic_auth(Some(&basic(user, password))).await;
        assert_eq!(ok, allowed, "{user}:{password}");
        work.push((user, rounds() - before));
    }
    // One cost-4 and one cost-5 verification, whoever asked.
    let expected = (1 << 4) + (1 << 5);
    for (user, rounds) in work {
        assert_eq!(rounds, expected, "{user}");
    }
}

#[test]
fn a_dummy_hash_has_the_cost_asked_for_never_matches_and_costs_nothing_to_make() {
    let ctx = Ctx {
        path: std::path::Path::new("web.yml"),
        dir: std::path::Path::new("."),
    };
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let started = std::time::Instant::now();
    // Making a cost-31 hash would take days: the dummy is a cost-4 hash, relabelled.
    let expensive = dummy_hash(&ctx, &rng, 31).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(expensive.cost, 31);
    let parts: bcrypt::HashParts = expensive.hash.parse().unwrap();
    assert_eq!(parts.get_cost(), 31);
    let cheap = dummy_hash(&ctx, &rng, 5).unwrap();
    for password in ["", "x", TEST_PASSWORD] {
        assert!(!bcrypt::verify(password, &cheap.hash).unwrap());
    }
    assert_ne!(cheap.hash, dummy_hash(&ctx, &rng, 5).unwrap().hash);
}
