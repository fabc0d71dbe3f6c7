//! `rate_limit`: a token bucket per client address, each as exporter-toolkit's one
//! `rate.NewLimiter(rate.Every(interval), burst)`.
//!
//! exporter-toolkit has one bucket for everyone, taken before authentication: any client
//! that can reach the port, with or without the password, can push Prometheus into 429s.
//! Here each client address ([`Client`]) has its own bucket, and with `basic_auth_users`
//! the server takes a token only once the credentials are valid (`routes`): requests that
//! fail authentication are bounded by the password-check queue instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::client::Client;
use super::config::{Ctx, RawDuration, RawRateLimit, WebConfigError};

/// Clients whose buckets are kept. A bucket that has refilled is the same as no bucket, so
/// those go first; beyond that, a tenth of the buckets is dropped (those clients start
/// again with a full bucket, which only a flood of distinct addresses can cause).
const MAX_CLIENTS: usize = 4096;

/// Token buckets equivalent to Go's `rate.NewLimiter(rate.Every(interval), burst)`, one
/// per client: each starts full, refills one token per `interval`, holds at most `burst`.
pub(super) struct RateLimiter {
    interval: Duration,
    burst: u64,
    /// client -> (tokens, when they were counted). NB: std lock, held for one map update.
    buckets: Mutex<HashMap<Client, (f64, Instant)>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("interval", &self.interval)
            .field("burst", &self.burst)
            .field("per", &"client address")
            .finish()
    }
}

impl RateLimiter {
    pub(super) fn new(ctx: &Ctx<'_>, raw: RawRateLimit) -> Result<Option<Self>, WebConfigError> {
        let interval = match raw.interval {
            None => return Ok(None),
            Some(RawDuration::Nanos(n)) if n >= 0 => Duration::from_nanos(n as u64),
            Some(RawDuration::Nanos(_)) => {
                return Err(ctx.invalid("rate_limit.interval", "must not be negative"));
            }
            Some(RawDuration::Text(s)) => parse_go_duration(&s).ok_or_else(|| {
                ctx.invalid(
                    "rate_limit.interval",
                    format!("invalid duration {s:?} (expected e.g. \"100ms\", \"1s\", \"1m30s\")"),
                )
            })?,
        };
        if interval.is_zero() {
            return Ok(None); // "set to 0 to disable rate limiter"
        }
        let burst = raw.burst.unwrap_or(0);
        if burst == 0 {
            return Err(ctx.invalid(
                "rate_limit.burst",
                "must be at least 1 when rate_limit.interval is set (0 would refuse every request)",
            ));
        }
        Ok(Some(RateLimiter {
            interval,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }))
    }

    /// Takes a token from `client`'s bucket if it has one.
    pub(super) fn allow(&self, client: Client) -> bool {
        self.allow_at(client, Instant::now())
    }

    fn allow_at(&self, client: Client, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            self.forget_some(&mut buckets, now);
        }
        let full = (self.burst as f64, now);
        let (tokens, last) = buckets.entry(client).or_insert(full);
        let refill =
            now.saturating_duration_since(*last).as_secs_f64() / self.interval.as_secs_f64();
        let available = (*tokens + refill).min(self.burst as f64);
        *last = now;
        if available >= 1.0 {
            *tokens = available - 1.0;
            true
        } else {
            *tokens = available;
            false
        }
    }

    /// Drops the buckets that have refilled; if none has, a tenth of them.
    fn forget_some(&self, buckets: &mut HashMap<Client, (f64, Instant)>, now: Instant) {
        let refill_all = self
            .interval
            .saturating_mul(self.burst.min(u32::MAX as u64) as u32);
        buckets.retain(|_, (_, last)| now.saturating_duration_since(*last) < refill_all);
        if buckets.len() >= MAX_CLIENTS {
            let drop: Vec<Client> = buckets.keys().take(MAX_CLIENTS / 10).copied().collect();
            for client in drop {
                buckets.remove(&client);
            }
        }
    }

    #[cfg(test)]
    fn clients(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.len())
    }
}

/// Go's `time.ParseDuration` for non-negative values: `300ms`, `1.5h`, `2h45m`, `0`.
fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        if num.is_empty() || num == "." {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos_per_unit = match unit {
            "ns" => 1e0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * nanos_per_unit;
        rest = after;
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return None;
    }
    Some(Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::test_support::*;

    // --- rate limit ----------------------------------------------------------------

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("10us"), Some(Duration::from_micros(10)));
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("-1s"), None);
        assert_eq!(parse_go_duration("1d"), None);
    }

    fn client(ip: &str) -> Client {
        Client::from_ip(ip.parse().unwrap())
    }

    fn limiter(interval: Duration, burst: u64) -> RateLimiter {
        RateLimiter {
            interval,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_refuses() {
        let cfg = load_ok("rate_limit:\n  interval: 1h\n  burst: 2\n");
        let c = client("192.0.2.1");
        assert!(cfg.check_rate_limit(c));
        assert!(cfg.check_rate_limit(c));
        assert!(!cfg.check_rate_limit(c));
    }

    #[test]
    fn each_client_address_has_its_own_bucket() {
        let cfg = load_ok("rate_limit:\n  interval: 1h\n  burst: 2\n");
        let (greedy, other) = (client("192.0.2.1"), client("192.0.2.2"));
        while cfg.check_rate_limit(greedy) {}
        assert!(cfg.check_rate_limit(other));
        assert!(cfg.check_rate_limit(other));
        assert!(!cfg.check_rate_limit(other));
        assert!(!cfg.check_rate_limit(greedy));
    }

    #[test]
    fn a_bucket_refills_one_token_per_interval_up_to_the_burst() {
        let limiter = limiter(Duration::from_secs(10), 2);
        let (c, t0) = (client("192.0.2.1"), Instant::now());
        assert!(limiter.allow_at(c, t0));
        assert!(limiter.allow_at(c, t0));
        assert!(!limiter.allow_at(c, t0));
        assert!(!limiter.allow_at(c, t0 + Duration::from_secs(9)));
        assert!(limiter.allow_at(c, t0 + Duration::from_secs(10)));
        assert!(!limiter.allow_at(c, t0 + Duration::from_secs(10)));
        // A long pause refills the burst, not more.
        let later = t0 + Duration::from_secs(3600);
        assert!(limiter.allow_at(c, later));
        assert!(limiter.allow_at(c, later));
        assert!(!limiter.allow_at(c, later));
    }

    fn nth_client(i: usize) -> Client {
        Client::from_ip(std::net::Ipv4Addr::from(0x0a00_0000 + i as u32).into())
    }

    #[test]
    fn the_buckets_kept_stay_bounded() {
        let limiter = limiter(Duration::from_secs(1), 1);
        let t0 = Instant::now();
        for i in 0..MAX_CLIENTS * 3 {
            limiter.allow_at(nth_client(i), t0);
            assert!(limiter.clients() <= MAX_CLIENTS, "{}", limiter.clients());
        }
    }

    #[test]
    fn refilled_buckets_are_forgotten_first_and_a_drained_one_is_kept() {
        let limiter = limiter(Duration::from_secs(1), 1);
        let t0 = Instant::now();
        for i in 0..MAX_CLIENTS - 1 {
            limiter.allow_at(nth_client(i), t0);
        }
        let drained = client("198.51.100.1");
        assert!(limiter.allow_at(drained, t0 + Duration::from_millis(900)));
        assert_eq!(limiter.clients(), MAX_CLIENTS);
        // At 1.5 s the buckets drained at 0 s have refilled: a new client makes room by
        // forgetting them, not the one drained at 0.9 s.
        let now = t0 + Duration::from_millis(1500);
        assert!(limiter.allow_at(client("203.0.113.1"), now));
        assert_eq!(limiter.clients(), 2);
        assert!(!limiter.allow_at(drained, now));
    }

    #[test]
    fn a_zero_rate_limit_interval_disables_it_and_bad_values_are_rejected() {
        let cfg = load_ok("rate_limit:\n  interval: 0s\n  burst: 0\n");
        assert!(cfg.check_rate_limit(Client::UNKNOWN));
        let err = load_err("rate_limit:\n  interval: 1s\n");
        assert_eq!(err.key(), Some("rate_limit.burst"), "{err}");
        let err = load_err("rate_limit:\n  interval: soon\n  burst: 1\n");
        assert_eq!(err.key(), Some("rate_limit.interval"), "{err}");
    }
}
