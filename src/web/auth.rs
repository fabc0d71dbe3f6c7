//! `basic_auth_users`: HTTP basic auth checked against bcrypt hashes.
//!
//! This module owns the credentials: parsing the header, the configured users, and what a
//! check verifies. When and where checks run (outcome cache, fair bounded queue, threads)
//! is [`super::verify`]'s business.
//!
//! The work of a check does not depend on whether the user exists. Every check verifies
//! the password against one hash of each distinct configured cost, in ascending order: the
//! user's own hash at its cost and a dummy hash at every other cost; an unknown user gets
//! the dummy at every cost. With users at costs 5 and 10, every check costs one cost-5 and
//! one cost-10 verification (about 1.03 times the cost-10 one), whoever asks. The
//! alternatives were weighed: a dummy at the highest cost alone (as before) answers faster
//! for a real user with a cheaper hash; padding every check to the highest cost with
//! dummies of costs c..max-1 gives the same total but a different number of calls per
//! cost; a dummy cost picked per unknown name matches only in distribution. The price: a
//! check costs the sum over the distinct costs, at most twice the highest one, paid once
//! per credential thanks to the cache.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use hyper::header::HeaderValue;

use super::client::Client;
use super::config::{Ctx, WebConfigError};
use super::verify::{CacheKey, Checked, Limits, Verifier, Work};

/// bcrypt only looks at the first 72 bytes; like Go's x/crypto/bcrypt, longer
/// passwords are refused rather than silently truncated.
const BCRYPT_MAX_PASSWORD_LEN: usize = 72;
/// The cost dummy hashes are made at before their cost field is rewritten.
const DUMMY_SEED_COST: u32 = 4;

/// What a request's credentials come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No users are configured, or the credentials are valid.
    Allowed,
    /// Missing, malformed or wrong credentials: `401` with `WWW-Authenticate: Basic`.
    Refused,
    /// Too many password checks are waiting: answered `429` without checking.
    Busy,
}

impl From<bool> for Auth {
    fn from(ok: bool) -> Auth {
        if ok { Auth::Allowed } else { Auth::Refused }
    }
}

/// A configured user's bcrypt hash. Never printed.
pub(super) struct Stored {
    hash: Arc<str>,
    cost: u32,
}

pub(super) struct BasicAuth {
    /// user -> hash.
    pub(super) users: BTreeMap<String, Stored>,
    /// One never-matching hash per distinct configured cost, ascending: what a check
    /// verifies where the user has no hash of that cost (see the module doc).
    dummies: Vec<Stored>,
    /// Random per-process HMAC key for cache keys, so the cache holds no password
    /// equivalents that could be brute-forced faster than bcrypt.
    cache_key: aws_lc_rs::hmac::Key,
    verifier: Verifier,
    /// bcrypt work done, for tests and diagnostics.
    pub(super) bcrypt: Arc<BcryptCounters>,
}

#[derive(Default)]
pub(super) struct BcryptCounters {
    /// Checks run (cache misses).
    pub(super) verifications: AtomicU64,
    /// bcrypt work: the sum of 2^cost over every hash verified.
    pub(super) rounds: AtomicU64,
    /// Checks running now, and the most ever seen at once.
    pub(super) running: AtomicUsize,
    pub(super) max_running: AtomicUsize,
}

impl BasicAuth {
    pub(super) fn new(
        ctx: &Ctx<'_>,
        users: BTreeMap<String, String>,
    ) -> Result<Self, WebConfigError> {
        Self::with_limits(ctx, users, Limits::for_this_machine())
    }

    pub(super) fn with_limits(
        ctx: &Ctx<'_>,
        users: BTreeMap<String, String>,
        limits: Limits,
    ) -> Result<Self, WebConfigError> {
        let mut stored = BTreeMap::new();
        for (user, hash) in users {
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
            if user.contains(':') {
                tracing::warn!(
                    path = %ctx.path.display(),
                    "{key}: user names containing ':' can never log in with basic auth"
                );
            }
            let hash = Arc::from(hash);
            stored.insert(user, Stored { hash, cost });
        }
        let mut costs: Vec<u32> = stored.values().map(|s| s.cost).collect();
        costs.sort_unstable();
        costs.dedup();
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let dummies = costs
            .into_iter()
            .map(|cost| dummy_hash(ctx, &rng, cost))
            .collect::<Result<_, _>>()?;
        let cache_key = aws_lc_rs::hmac::Key::generate(aws_lc_rs::hmac::HMAC_SHA256, &rng)
            .map_err(|_| ctx.invalid("basic_auth_users", "cannot get OS randomness"))?;
        Ok(BasicAuth {
            users: stored,
            dummies,
            cache_key,
            verifier: Verifier::new(limits),
            bcrypt: Arc::new(BcryptCounters::default()),
        })
    }

    /// Checks `authorization` for a request from `client`. A cached outcome answers at
    /// once; a miss waits for its turn in the queue, or is [`Auth::Busy`] at once.
    pub(super) async fn check(&self, client: Client, authorization: Option<&HeaderValue>) -> Auth {
        if self.users.is_empty() {
            return Auth::Allowed;
        }
        let Some((user, password)) = authorization.and_then(parse_basic_credentials) else {
            return Auth::Refused;
        };
        if password.len() > BCRYPT_MAX_PASSWORD_LEN {
            return Auth::Refused; // Go's bcrypt refuses these before hashing, for any user.
        }
        let stored = std::str::from_utf8(&user)
            .ok()
            .and_then(|u| self.users.get(u));
        let key = self.cache_key_for(&user, &password);
        match self
            .verifier
            .check(client, key, || self.work(stored, password))
        {
            Checked::Known(ok) => ok.into(),
            Checked::Busy => Auth::Busy,
            // A closed channel: the check was dropped from a full queue.
            Checked::Pending(outcome) => outcome.await.map_or(Auth::Busy, Auth::from),
        }
    }

    /// The hashes a check verifies, with whether each is the user's own: one per distinct
    /// configured cost, ascending, the same list of costs for every user, known or not.
    pub(super) fn plan(&self, stored: Option<&Stored>) -> Vec<(Arc<str>, u32, bool)> {
        self.dummies
            .iter()
            .map(|dummy| match stored {
                Some(own) if own.cost == dummy.cost => (Arc::clone(&own.hash), own.cost, true),
                _ => (Arc::clone(&dummy.hash), dummy.cost, false),
            })
            .collect()
    }

    /// The check, to run on a verifier thread: every hash of the plan is verified, even
    /// after a match, so the work never depends on the outcome.
    fn work(&self, stored: Option<&Stored>, password: Vec<u8>) -> Work {
        let plan = self.plan(stored);
        let counters = Arc::clone(&self.bcrypt);
        Box::new(move || {
            counters.verifications.fetch_add(1, Ordering::Relaxed);
            let running = counters.running.fetch_add(1, Ordering::SeqCst) + 1;
            counters.max_running.fetch_max(running, Ordering::SeqCst);
            let mut ok = false;
            for (hash, cost, own) in &plan {
                let matched = bcrypt::verify(&password, hash).unwrap_or(false);
                counters.rounds.fetch_add(1u64 << cost, Ordering::Relaxed);
                ok |= *own && matched;
            }
            counters.running.fetch_sub(1, Ordering::SeqCst);
            ok
        })
    }

    fn cache_key_for(&self, user: &[u8], password: &[u8]) -> CacheKey {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.cache_key);
        for part in [user, password] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// A valid bcrypt hash of `cost` that no password matches: a hash of a random secret at
/// cost 4 with its cost field rewritten. Verifying against it runs the full cost (the cost
/// is read from the hash), and the digest, made at another cost, never matches. Making it
/// costs one cost-4 hash, whatever `cost` is.
fn dummy_hash(
    ctx: &Ctx<'_>,
    rng: &aws_lc_rs::rand::SystemRandom,
    cost: u32,
) -> Result<Stored, WebConfigError> {
    let mut secret = [0u8; 32];
    aws_lc_rs::rand::SecureRandom::fill(rng, &mut secret)
        .map_err(|_| ctx.invalid("basic_auth_users", "cannot get OS randomness"))?;
    let seed = bcrypt::hash(secret, DUMMY_SEED_COST).map_err(|e| {
        ctx.invalid(
            "basic_auth_users",
            format!("cannot create a dummy hash: {e}"),
        )
    })?;
    let prefix = format!("$2b${DUMMY_SEED_COST:02}$");
    let hash = match seed.strip_prefix(&prefix) {
        Some(rest) => format!("$2b${cost:02}${rest}"),
        None => {
            return Err(ctx.invalid(
                "basic_auth_users",
                "cannot create a dummy hash: unexpected bcrypt format",
            ));
        }
    };
    Ok(Stored {
        hash: Arc::from(hash),
        cost,
    })
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
mod tests;
