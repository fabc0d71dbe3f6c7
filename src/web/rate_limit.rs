//! `rate_limit`: a token bucket over all requests, as exporter-toolkit's
//! `rate.NewLimiter(rate.Every(interval), burst)`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::{Ctx, RawDuration, RawRateLimit, WebConfigError};

/// Token bucket equivalent to Go's `rate.NewLimiter(rate.Every(interval), burst)`:
/// starts full, refills one token per `interval`, holds at most `burst`.
#[derive(Debug)]
pub(super) struct RateLimiter {
    interval: Duration,
    burst: u64,
    state: Mutex<(f64, Instant)>,
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
            state: Mutex::new((burst as f64, Instant::now())),
        }))
    }

    pub(super) fn allow(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, last) = *state;
        let refill = now.duration_since(last).as_secs_f64() / self.interval.as_secs_f64();
        let tokens = (tokens + refill).min(self.burst as f64);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            true
        } else {
            *state = (tokens, now);
            false
        }
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

    #[test]
    fn the_rate_limit_allows_a_burst_then_refuses() {
        let cfg = load_ok("rate_limit:\n  interval: 1h\n  burst: 2\n");
        assert!(cfg.check_rate_limit());
        assert!(cfg.check_rate_limit());
        assert!(!cfg.check_rate_limit());
    }

    #[test]
    fn a_zero_rate_limit_interval_disables_it_and_bad_values_are_rejected() {
        let cfg = load_ok("rate_limit:\n  interval: 0s\n  burst: 0\n");
        assert!(cfg.check_rate_limit());
        let err = load_err("rate_limit:\n  interval: 1s\n");
        assert_eq!(err.key(), Some("rate_limit.burst"), "{err}");
        let err = load_err("rate_limit:\n  interval: soon\n  burst: 1\n");
        assert_eq!(err.key(), Some("rate_limit.interval"), "{err}");
    }
}
