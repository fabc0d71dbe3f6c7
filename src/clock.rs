//! The wall clock, read only at the edges (a refresh, a scrape, `main`): the pure core takes
//! `now` as an argument. A leaf: it imports nothing.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now (0 for a clock set before 1970).
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
