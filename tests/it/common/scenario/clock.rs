//! Times as the credential report and the XML answers write them, relative to now.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now (UTC), truncated to whole seconds (as in credential reports).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

/// `n` days before now.
pub fn days_ago(n: i64) -> OffsetDateTime {
    now() - time::Duration::days(n)
}

/// `n` seconds before now.
pub fn secs_ago(n: i64) -> OffsetDateTime {
    now() - time::Duration::seconds(n)
}

/// `2014-09-01T22:28:48+00:00` (the credential report's usual form).
pub fn fmt_report_time(t: OffsetDateTime) -> String {
    fmt_utc(t, "+00:00")
}

/// `2014-09-01T22:28:48Z` (the XML timestamps' form; also seen in reports).
pub fn fmt_iso_z(t: OffsetDateTime) -> String {
    fmt_utc(t, "Z")
}

/// `t` in UTC to the second, then `zone` as written.
fn fmt_utc(t: OffsetDateTime, zone: &str) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Unix seconds of a time.
pub fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// Parses an RFC 3339 time (test convenience).
pub fn parse_time(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("bad time {s}: {e}"))
}
