//! The report's times: RFC 3339, read fast in AWS's own form.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses an RFC 3339 time (`Z` or `+00:00`) into seconds since the epoch.
///
/// Every date of a report has AWS's one form, `2014-04-21T08:42:00+00:00`: that form is read
/// by [`parse_utc_seconds`] (the general parser took a large share of a report's parsing time:
/// docs/performance.md, "Numbers behind the code"); anything else (other offsets, fractions, leap seconds, and every invalid value)
/// goes to `time`'s RFC 3339 parser, which has the last word.
pub fn parse_time(s: &str) -> Option<i64> {
    parse_utc_seconds(s.as_bytes()).or_else(|| {
        OffsetDateTime::parse(s, &Rfc3339)
            .ok()
            .map(|t| t.unix_timestamp())
    })
}

/// `YYYY-MM-DDTHH:MM:SS` followed by `Z` or `+00:00`, a real calendar date and a time before
/// 24:00:00; `None` for anything else, including what RFC 3339 allows beyond that.
fn parse_utc_seconds(s: &[u8]) -> Option<i64> {
    let (time, zone) = s.split_at_checked(19)?;
    if !matches!(zone, b"Z" | b"+00:00") {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| {
        time[range].iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| time[i] != c) {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
    Some(days * 86_400 + i64::from(hour * 3_600 + minute * 60 + second))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
