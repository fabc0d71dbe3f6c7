//! `basic_auth_users`: HTTP basic auth checked against bcrypt hashes.
//!
//! bcrypt is slow on purpose, so an unbounded number of checks is a CPU denial of service.
//! As exporter-toolkit does: one verification at a time, and the outcome of recent checks,
//! good or bad, is cached, so a flood of wrong passwords costs one core and a known-good
//! scraper is answered from the cache without waiting for the bcrypt lock.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hyper::header::HeaderValue;

use super::config::{Ctx, WebConfigError};

/// How many `(user, password, hash)` outcomes are remembered, per outcome. Successes and
/// failures are kept apart so a flood of wrong passwords cannot evict a good scraper.
const AUTH_CACHE_CAPACITY: usize = 100;
/// bcrypt only looks at the first 72 bytes; like Go's x/crypto/bcrypt, longer
/// passwords are refused rather than silently truncated.
const BCRYPT_MAX_PASSWORD_LEN: usize = 72;

/// A cache key: HMAC-SHA256 of user, password and hash under a per-process random key.
type CacheKey = [u8; 32];

pub(super) struct BasicAuth {
    /// user -> bcrypt hash. Never printed.
    pub(super) users: BTreeMap<String, String>,
    /// Verified against for unknown users so response time does not reveal whether a
    /// user exists. Same cost as the most expensive configured hash.
    dummy_hash: String,
    /// Random per-process HMAC key for cache keys, so the cache holds no password
    /// equivalents that could be brute-forced faster than bcrypt.
    cache_key: aws_lc_rs::hmac::Key,
    /// NB: std lock, held only to look up or insert a key; never across an `.await`.
    cache: Mutex<Outcomes>,
    /// One bcrypt verification at a time (exporter-toolkit's `bcryptMtx`). The owned guard
    /// moves into the blocking task, so a request dropped while bcrypt runs still holds the
    /// lock until bcrypt ends: the bound is on threads, not on requests. Never held by a
    /// cache hit.
    verify_lock: Arc<tokio::sync::Mutex<()>>,
    /// bcrypt work done, for tests and diagnostics.
    bcrypt: Arc<BcryptCounters>,
}

/// Recent outcomes, by [`CacheKey`].
#[derive(Default)]
struct Outcomes {
    verified: HashSet<CacheKey>,
    refused: HashSet<CacheKey>,
}

#[derive(Default)]
struct BcryptCounters {
    /// Verifications performed (cache misses).
    verifications: AtomicU64,
    /// Verifications running now, and the most ever seen at once.
    running: AtomicUsize,
    max_running: AtomicUsize,
}

impl BasicAuth {
    pub(super) fn new(
        ctx: &Ctx<'_>,
        users: BTreeMap<String, String>,
    ) -> Result<Self, WebConfigError> {
        let mut max_cost = 0;
        for (user, hash) in &users {
            let key = format!("basic_auth_users.{user}");
            // Never include the hash itself in the message.
            let parts: bcrypt::HashParts = hash
                .parse()
                .map_err(|e| ctx.invalid(&key, format!("not a valid bcrypt hash ({e})")))?;
            let cost = parts.get_cost();
            if !(4..=31).contains(&cost) {
                return Err(ctx.invalid(
                    &key,
                    format!("bcrypt cost {cost} is outside the valid range 4..=31"),
                ));
            }
            max_cost = max_cost.max(cost);
            if user.contains(':') {
                tracing::warn!(
                    path = %ctx.path.display(),
                    "{key}: user names containing ':' can never log in with basic auth"
                );
            }
        }
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let dummy_hash = if users.is_empty() {
            String::new()
        } else {
            let mut secret = [0u8; 32];
            aws_lc_rs::rand::SecureRandom::fill(&rng, &mut secret)
                .map_err(|_| ctx.invalid("basic_auth_users", "cannot get OS randomness"))?;
            bcrypt::hash(secret, max_cost).map_err(|e| {
                ctx.invalid("basic_auth_users", format!("cannot create dummy hash: {e}"))
            })?
        };
        let cache_key = aws_lc_rs::hmac::Key::generate(aws_lc_rs::hmac::HMAC_SHA256, &rng)
            .map_err(|_| ctx.invalid("basic_auth_users", "cannot get OS randomness"))?;
        Ok(BasicAuth {
            users,
            dummy_hash,
            cache_key,
            cache: Mutex::new(Outcomes::default()),
            verify_lock: Arc::new(tokio::sync::Mutex::new(())),
            bcrypt: Arc::new(BcryptCounters::default()),
        })
    }

    /// `true` if no users are configured or `authorization` holds valid credentials.
    /// A cached outcome answers at once; a miss waits its turn for the one bcrypt slot.
    pub(super) async fn check(&self, authorization: Option<&HeaderValue>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some((user, password)) = authorization.and_then(parse_basic_credentials) else {
            return false;
        };
        if password.len() > BCRYPT_MAX_PASSWORD_LEN {
            return false; // Go's bcrypt refuses these before hashing, for any user.
        }
        let stored = std::str::from_utf8(&user)
            .ok()
            .and_then(|u| self.users.get(u));
        let hash = stored.map_or(self.dummy_hash.as_str(), String::as_str);
        let key = self.cache_key_for(&user, &password, hash);
        if let Some(ok) = self.cached(&key) {
            return ok;
        }
        let guard = Arc::clone(&self.verify_lock).lock_owned().await;
        // The same credentials may have been verified while this request waited.
        if let Some(ok) = self.cached(&key) {
            return ok;
        }
        let counters = Arc::clone(&self.bcrypt);
        let hash = hash.to_owned();
        // The guard comes back with the result, so the outcome is cached before the next
        // waiter looks; if this request is dropped meanwhile, it is released when bcrypt ends.
        let verified = tokio::task::spawn_blocking(move || {
            counters.verifications.fetch_add(1, Ordering::Relaxed);
            let running = counters.running.fetch_add(1, Ordering::SeqCst) + 1;
            counters.max_running.fetch_max(running, Ordering::SeqCst);
            let ok = bcrypt::verify(&password, &hash).unwrap_or(false);
            counters.running.fetch_sub(1, Ordering::SeqCst);
            (ok, guard)
        })
        .await;
        let (verified, _guard) = match verified {
            Ok((ok, guard)) => (ok, Some(guard)),
            Err(_) => (false, None), // bcrypt panicked: refuse
        };
        let ok = verified && stored.is_some();
        let mut cache = self.lock_cache();
        let set = if ok {
            &mut cache.verified
        } else {
            &mut cache.refused
        };
        insert_bounded(set, key);
        ok
    }

    fn cached(&self, key: &CacheKey) -> Option<bool> {
        let cache = self.lock_cache();
        if cache.verified.contains(key) {
            Some(true)
        } else if cache.refused.contains(key) {
            Some(false)
        } else {
            None
        }
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, Outcomes> {
        // A panic while holding the lock cannot leave the sets inconsistent.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cache_key_for(&self, user: &[u8], password: &[u8], hash: &str) -> CacheKey {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.cache_key);
        for part in [user, password, hash.as_bytes()] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// Inserts `key`, first evicting a tenth of the set if it is full. HMAC outputs are
/// uniformly random, so dropping the first entries in iteration order is random eviction.
fn insert_bounded(set: &mut HashSet<CacheKey>, key: CacheKey) {
    if set.len() >= AUTH_CACHE_CAPACITY {
        let evict: Vec<CacheKey> = set
            .iter()
            .take((AUTH_CACHE_CAPACITY / 10).max(1))
            .copied()
            .collect();
        for k in &evict {
            set.remove(k);
        }
    }
    set.insert(key);
}

/// Parses `Basic base64(user:password)` like Go's `Request.BasicAuth`: scheme is
/// case-insensitive, standard padded base64, split at the first `:`.
fn parse_basic_credentials(value: &HeaderValue) -> Option<(Vec<u8>, Vec<u8>)> {
    use base64::Engine as _;
    const PREFIX: &[u8] = b"basic ";
    let bytes = value.as_bytes();
    if bytes.len() < PREFIX.len() || !bytes[..PREFIX.len()].eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(bytes[PREFIX.len()..].trim_ascii())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::WebConfig;
    use crate::web::test_support::*;

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
        // The dummy hash was verified so timing matches a known user with a wrong password.
        assert_eq!(cfg.auth.bcrypt.verifications.load(Ordering::Relaxed), 1);
        let dummy_cost = cfg
            .auth
            .dummy_hash
            .parse::<bcrypt::HashParts>()
            .unwrap()
            .get_cost();
        let real_cost = test_hash().parse::<bcrypt::HashParts>().unwrap().get_cost();
        assert_eq!(dummy_cost, real_cost);
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
        assert_eq!(cfg.auth.lock_cache().verified.len(), 1);
    }

    #[tokio::test]
    async fn a_failed_verification_is_cached_too() {
        let cfg = auth_config();
        let bad = basic(TEST_USER, "nope");
        assert!(!cfg.check_basic_auth(Some(&bad)).await);
        assert!(!cfg.check_basic_auth(Some(&bad)).await);
        assert_eq!(cfg.auth.bcrypt.verifications.load(Ordering::Relaxed), 1);
        assert!(cfg.auth.lock_cache().verified.is_empty());
        assert_eq!(cfg.auth.lock_cache().refused.len(), 1);
        // The right password is still checked: the key covers the password.
        assert!(
            cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD)))
                .await
        );
    }

    #[tokio::test]
    async fn the_auth_cache_stays_bounded() {
        let cfg = auth_config();
        {
            let mut cache = cfg.auth.lock_cache();
            for i in 0..AUTH_CACHE_CAPACITY as u64 {
                let mut k = [0u8; 32];
                k[..8].copy_from_slice(&i.to_be_bytes());
                cache.verified.insert(k);
                cache.refused.insert(k);
            }
        }
        assert!(
            cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD)))
                .await
        );
        let len = cfg.auth.lock_cache().verified.len();
        assert!(len <= AUTH_CACHE_CAPACITY, "{len}");
        // The fresh entry survived eviction: the next check is a cache hit.
        assert!(
            cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD)))
                .await
        );
        assert_eq!(cfg.auth.bcrypt.verifications.load(Ordering::Relaxed), 1);
    }

    /// Distinct wrong passwords, all at once, on a multi-threaded runtime.
    async fn flood(cfg: &Arc<WebConfig>, n: usize) {
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let cfg = Arc::clone(cfg);
                tokio::spawn(async move {
                    let bad = basic(TEST_USER, &format!("wrong-{i}"));
                    cfg.check_basic_auth(Some(&bad)).await
                })
            })
            .collect();
        for t in tasks {
            assert!(!t.await.unwrap());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_wrong_passwords_never_run_more_than_one_bcrypt_at_a_time() {
        let cfg = Arc::new(auth_config());
        flood(&cfg, 24).await;
        let counters = &cfg.auth.bcrypt;
        assert_eq!(counters.verifications.load(Ordering::Relaxed), 24);
        assert_eq!(counters.max_running.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_same_wrong_password_sent_at_once_costs_one_bcrypt() {
        let cfg = Arc::new(auth_config());
        let mut checks = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let cfg = Arc::clone(&cfg);
            checks.spawn(async move {
                let bad = basic(TEST_USER, "wrong");
                cfg.check_basic_auth(Some(&bad)).await
            });
        }
        for ok in checks.join_all().await {
            assert!(!ok);
        }
        assert_eq!(cfg.auth.bcrypt.verifications.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_known_good_credential_is_answered_without_waiting_for_bcrypt() {
        let cfg = Arc::new(auth_config());
        let good = basic(TEST_USER, TEST_PASSWORD);
        assert!(cfg.check_basic_auth(Some(&good)).await);
        // Hold the bcrypt slot, as a flood of wrong passwords would.
        let held = Arc::clone(&cfg.auth.verify_lock).lock_owned().await;
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            cfg.check_basic_auth(Some(&good)),
        )
        .await;
        assert_eq!(answer, Ok(true), "waited on the bcrypt lock");
        drop(held);
        // And while a real flood runs.
        let flooding = tokio::spawn({
            let cfg = Arc::clone(&cfg);
            async move { flood(&cfg, 32).await }
        });
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            cfg.check_basic_auth(Some(&good)),
        )
        .await;
        assert_eq!(answer, Ok(true));
        flooding.await.unwrap();
        assert_eq!(cfg.auth.bcrypt.verifications.load(Ordering::Relaxed), 33);
    }
}
