//! Durations as init.toml and the command line write them: `500ms`, `10s`,
//! `5m`, `1h`, or `0` for "no limit", and the arithmetic every deadline and
//! back-off goes through. Bounded and overflow-free (docs/security.md): a
//! value over a year is surely a mistake, and refusing it keeps every
//! deadline computed from one far from the ends of the clock; the sums and
//! products below still never overflow, whatever they are given.

use std::time::{Duration, Instant};

use super::BadValue;

/// The longest duration accepted: 365 days.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A time limit; `None` means no limit (written `0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(pub Option<Duration>);

impl Limit {
    pub fn parse(text: &str) -> Result<Limit, BadValue> {
        parse_duration(text).map(Limit)
    }
}

/// Parses `500ms`, `10s`, `5m`, `1h` or `0`. `0` means "no limit" and is
/// returned as `None`; anything over [`MAX_DURATION`] is an error.
pub fn parse_duration(text: &str) -> Result<Option<Duration>, BadValue> {
    let text = text.trim();
    if text == "0" {
        return Ok(None);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let bad = || BadValue::Duration(text.into());
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60 * 1000,
        "h" => 60 * 60 * 1000,
        _ => return Err(bad()),
    };
    if digits.is_empty() {
        return Err(bad());
    }
    // Only digits are left, so a failed parse is a number too big for u64:
    // over the limit, like a product that overflows.
    let max_ms = MAX_DURATION.as_secs() * 1000;
    let ms = digits.parse::<u64>().ok().and_then(|n| n.checked_mul(unit_ms)).filter(|&ms| ms <= max_ms);
    let Some(ms) = ms else {
        return Err(BadValue::OverLimit(text.into()));
    };
    Ok((ms != 0).then(|| Duration::from_millis(ms)))
}

/// `now + d`, or `None` when the clock cannot hold that instant: a deadline
/// past the end of time never comes.
pub fn deadline(now: Instant, d: Duration) -> Option<Instant> {
    now.checked_add(d)
}

/// `now + d` for a timer that needs an instant. Past the clock's end it is
/// a year ahead, or else now; the monotonic clock counts from boot, so
/// neither fallback is reached by any duration the parser accepts.
pub fn later(now: Instant, d: Duration) -> Instant {
    deadline(now, d).or_else(|| deadline(now, MAX_DURATION)).unwrap_or(now)
}

/// A back-off doubled, never past `max`.
pub fn doubled(d: Duration, max: Duration) -> Duration {
    d.saturating_mul(2).min(max)
}

/// Whole milliseconds for a log field, saturating rather than truncating.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_is_accepted_up_to_the_limit_and_refused_past_it() {
        let year = MAX_DURATION;
        for (text, want) in [
            ("8760h", year),
            ("525600m", year),
            ("31536000s", year),
            ("31536000000ms", year),
            ("1ms", Duration::from_millis(1)),
            ("007s", Duration::from_secs(7)),
            (" 2m ", Duration::from_secs(120)),
        ] {
            assert_eq!(parse_duration(text), Ok(Some(want)), "{text}");
        }
        for text in [
            "8761h",
            "525601m",
            "31536001s",
            "31536000001ms",
            "99999999999999h",
            "18446744073709551615s",
            "18446744073709551615ms",
            "18446744073709551616s",
            "5124095576031h", // times 3,600,000 ms wraps u64 round to 34 minutes
            "99999999999999999999999999999999h",
        ] {
            let err = parse_duration(text).expect_err(text);
            assert_eq!(err, BadValue::OverLimit(text.trim().into()), "{text}");
            assert_eq!(err.to_string(), format!("duration {:?} is over the limit of 8760h (365 days)", text));
        }
    }

    #[test]
    fn zero_in_any_unit_means_no_limit_and_malformed_text_is_invalid() {
        for text in ["0", "0ms", "0s", "0m", "0h", "000h"] {
            assert_eq!(parse_duration(text), Ok(None), "{text}");
        }
        for text in ["", "ms", "10", "1d", "-1s", "+1s", "1.5s", "10 s", "1s1", "\u{661}s"] {
            let err = parse_duration(text).expect_err(text);
            assert_eq!(err, BadValue::Duration(text.trim().into()), "{text}");
            assert!(err.to_string().starts_with("invalid duration"), "{text}: {err}");
        }
    }

    #[test]
    fn deadlines_and_back_offs_never_overflow() {
        let now = Instant::now();
        let year = MAX_DURATION;
        assert_eq!(deadline(now, year), Some(now + year));
        assert_eq!(deadline(now, Duration::MAX), None, "past the clock's end: no deadline");
        assert_eq!(later(now, Duration::from_secs(5)), now + Duration::from_secs(5));
        assert_eq!(later(now, Duration::MAX), now + year);
        let max = Duration::from_secs(30);
        for (d, want) in [
            (Duration::from_millis(100), Duration::from_millis(200)),
            (Duration::from_secs(20), max),
            (Duration::MAX, max),
            (Duration::ZERO, Duration::ZERO),
        ] {
            assert_eq!(doubled(d, max), want, "{d:?}");
        }
        assert_eq!(doubled(Duration::MAX, Duration::MAX), Duration::MAX);
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::MAX), u64::MAX);
    }
}
