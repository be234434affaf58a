//! Parsers and bounds of the command-line flags: every numeric flag has a limit, and a value
//! outside it is a one-line error (exit code 2), never an abort or a huge allocation.

use std::time::Duration;

/// Longest `--time`: a week.
pub const TIME_MAX: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most `--cases`.
pub const CASES_MAX: u64 = 1_000_000_000_000;
/// Most `--jobs`.
pub const JOBS_MAX: u64 = 1024;
/// Deepest PCT `--depth`.
pub const DEPTH_MAX: u64 = 64;
/// Longest `--shrink-time`, in seconds (a day).
pub const SHRINK_TIME_MAX: u64 = 24 * 3600;
/// Most seeds of `weft determinism --seeds`.
pub const SEEDS_MAX: u64 = 100_000_000;

/// Parses a duration: numbers with units `ms`, `s`, `m`, `h` or `d`, in a row (`90s`, `10m`,
/// `1h30m`); a bare number is seconds. It must be positive and at most [`TIME_MAX`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("{text:?} is not a duration (examples: 30s, 10m, 1h30m, 500ms; at most 7d)");
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return bounded(
            Duration::from_secs(seconds.min(TIME_MAX.as_secs() + 1)),
            text,
        );
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let unit_len = rest[digits..]
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .count();
        if digits == 0 || unit_len == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit_ms: u64 = match &rest[digits..digits + unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        total_ms = number
            .checked_mul(unit_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(bad)?;
        rest = &rest[digits + unit_len..];
    }
    bounded(Duration::from_millis(total_ms), text)
}

fn bounded(duration: Duration, text: &str) -> Result<Duration, String> {
    if duration.is_zero() {
        Err(format!("{text:?}: the duration must be positive"))
    } else if duration > TIME_MAX {
        Err(format!("{text:?} is longer than the limit of 7 days"))
    } else {
        Ok(duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("90", 90_000),
            ("90s", 90_000),
            ("10m", 600_000),
            ("1h30m", 5_400_000),
            ("500ms", 500),
            ("7d", 604_800_000),
        ];
        for (text, ms) in ok {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
        for bad in [
            "",
            "0",
            "0s",
            "8d",
            "10x",
            "m",
            "1.5h",
            "-3s",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }
}
