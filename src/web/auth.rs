//! `basic_auth_users`: HTTP basic auth checked against bcrypt hashes, with a bounded
//! cache of successful verifications and a dummy hash for unknown users.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hyper::header::HeaderValue;

use super::config::{Ctx, WebConfigError};

/// How many successful `(user, password, hash)` verifications are remembered.
const AUTH_CACHE_CAPACITY: usize = 100;
/// bcrypt only looks at the first 72 bytes; like Go's x/crypto/bcrypt, longer
/// passwords are refused rather than silently truncated.
const BCRYPT_MAX_PASSWORD_LEN: usize = 72;

pub(super) struct BasicAuth {
    /// user -> bcrypt hash. Never printed.
    pub(super) users: BTreeMap<String, String>,
    /// Verified against for unknown users so response time does not reveal whether a
    /// user exists. Same cost as the most expensive configured hash.
    dummy_hash: String,
    /// Random per-process HMAC key for cache keys, so the cache holds no password
    /// equivalents that could be brute-forced faster than bcrypt.
    cache_key: aws_lc_rs::hmac::Key,
    cache: Mutex<HashSet<[u8; 32]>>,
    /// bcrypt verifications performed (cache misses), for tests and diagnostics.
    verifications: AtomicU64,
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
            cache: Mutex::new(HashSet::new()),
            verifications: AtomicU64::new(0),
        })
    }

    pub(super) fn check(&self, authorization: Option<&HeaderValue>) -> bool {
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
        let cache_key = self.cache_key_for(&user, &password, hash);
        if stored.is_some() && self.lock_cache().contains(&cache_key) {
            return true;
        }
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let ok = bcrypt::verify(&password, hash).unwrap_or(false);
        if ok && stored.is_some() {
            let mut cache = self.lock_cache();
            if cache.len() >= AUTH_CACHE_CAPACITY {
                // HMAC outputs are uniformly random, so dropping the first entries in
                // iteration order is random eviction.
                let evict: Vec<[u8; 32]> = cache
                    .iter()
                    .take((AUTH_CACHE_CAPACITY / 10).max(1))
                    .copied()
                    .collect();
                for k in &evict {
                    cache.remove(k);
                }
            }
            cache.insert(cache_key);
            return true;
        }
        false
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        // A panic while holding the lock cannot leave the set inconsistent.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cache_key_for(&self, user: &[u8], password: &[u8], hash: &str) -> [u8; 32] {
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

    #[test]
    fn basic_auth_accepts_the_right_password() {
        let cfg = auth_config();
        assert!(cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD))));
    }

    #[test]
    fn basic_auth_rejects_a_wrong_password() {
        let cfg = auth_config();
        assert!(!cfg.check_basic_auth(Some(&basic(TEST_USER, "wrong"))));
        assert!(!cfg.check_basic_auth(Some(&basic(TEST_USER, ""))));
    }

    #[test]
    fn basic_auth_rejects_an_unknown_user_after_a_dummy_bcrypt_verification() {
        let cfg = auth_config();
        assert!(!cfg.check_basic_auth(Some(&basic("mallory", TEST_PASSWORD))));
        // The dummy hash was verified so timing matches a known user with a wrong password.
        assert_eq!(cfg.auth.verifications.load(Ordering::Relaxed), 1);
        let dummy_cost = cfg
            .auth
            .dummy_hash
            .parse::<bcrypt::HashParts>()
            .unwrap()
            .get_cost();
        let real_cost = test_hash().parse::<bcrypt::HashParts>().unwrap().get_cost();
        assert_eq!(dummy_cost, real_cost);
    }

    #[test]
    fn basic_auth_rejects_a_missing_or_malformed_header() {
        let cfg = auth_config();
        assert!(!cfg.check_basic_auth(None));
        assert!(!cfg.check_basic_auth(Some(&HeaderValue::from_static("Basic !!!not-base64"))));
        assert!(!cfg.check_basic_auth(Some(&HeaderValue::from_static("Basic"))));
        // base64("alice") has no colon separating user and password.
        assert!(!cfg.check_basic_auth(Some(&HeaderValue::from_static("Basic YWxpY2U="))));
        assert_eq!(cfg.auth.verifications.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn basic_auth_rejects_a_non_basic_scheme() {
        let cfg = auth_config();
        let bearer = basic(TEST_USER, TEST_PASSWORD)
            .to_str()
            .unwrap()
            .replacen("Basic", "Bearer", 1);
        assert!(!cfg.check_basic_auth(Some(&HeaderValue::from_str(&bearer).unwrap())));
    }

    #[test]
    fn basic_auth_scheme_is_case_insensitive() {
        let cfg = auth_config();
        let lower = basic(TEST_USER, TEST_PASSWORD)
            .to_str()
            .unwrap()
            .replacen("Basic", "bAsIc", 1);
        assert!(cfg.check_basic_auth(Some(&HeaderValue::from_str(&lower).unwrap())));
    }

    #[test]
    fn basic_auth_refuses_passwords_longer_than_bcrypt_can_check() {
        let cfg = auth_config();
        let long = format!("{TEST_PASSWORD}{}", "x".repeat(80));
        assert!(!cfg.check_basic_auth(Some(&basic(TEST_USER, &long))));
    }

    #[test]
    fn no_users_means_every_request_is_allowed() {
        let cfg = load_ok("basic_auth_users: {}\n");
        assert!(!cfg.requires_auth());
        assert!(cfg.check_basic_auth(None));
    }

    #[test]
    fn a_successful_verification_is_cached_and_skips_bcrypt_next_time() {
        let cfg = auth_config();
        let good = basic(TEST_USER, TEST_PASSWORD);
        assert!(cfg.check_basic_auth(Some(&good)));
        assert_eq!(cfg.auth.verifications.load(Ordering::Relaxed), 1);
        assert!(cfg.check_basic_auth(Some(&good)));
        assert!(cfg.check_basic_auth(Some(&good)));
        assert_eq!(
            cfg.auth.verifications.load(Ordering::Relaxed),
            1,
            "cache hit path"
        );
        assert_eq!(cfg.auth.lock_cache().len(), 1);
    }

    #[test]
    fn failed_verifications_are_not_cached() {
        let cfg = auth_config();
        let bad = basic(TEST_USER, "nope");
        assert!(!cfg.check_basic_auth(Some(&bad)));
        assert!(!cfg.check_basic_auth(Some(&bad)));
        assert_eq!(cfg.auth.verifications.load(Ordering::Relaxed), 2);
        assert!(cfg.auth.lock_cache().is_empty());
    }

    #[test]
    fn the_auth_cache_stays_bounded() {
        let cfg = auth_config();
        {
            let mut cache = cfg.auth.lock_cache();
            for i in 0..AUTH_CACHE_CAPACITY as u64 {
                let mut k = [0u8; 32];
                k[..8].copy_from_slice(&i.to_be_bytes());
                cache.insert(k);
            }
        }
        assert!(cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD))));
        let len = cfg.auth.lock_cache().len();
        assert!(len <= AUTH_CACHE_CAPACITY, "{len}");
        // The fresh entry survived eviction: the next check is a cache hit.
        assert!(cfg.check_basic_auth(Some(&basic(TEST_USER, TEST_PASSWORD))));
        assert_eq!(cfg.auth.verifications.load(Ordering::Relaxed), 1);
    }
}
