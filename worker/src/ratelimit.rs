//! Recognises Claude Code's usage-limit messages (every wording since 1.0.x, see
//! `shared/claude-cli.md` §5) and turns them into a [`RateLimit`] with an absolute reset time.
//! Pure functions: the current time is a parameter.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use cockpit_api::{RateLimit, RateLimitWindow};
use regex::Regex;

/// Line starts that announce a usage limit that was hit (not a warning, not a switch to
/// overage). Current (2.1.x) wordings first, then 2.0.x and 1.0.8x.
const LIMIT_PREFIXES: &[&str] = &[
    "You've hit your",
    "You've reached your",
    "You're out of usage credits",
    "You're out of extra usage",
    "Your org is out of usage",
    "Your seat type doesn't include usage",
    "Your seat type doesn't include extra usage",
    "This service is disabled for your org",
    "Your usage allocation has been disabled",
    "Your group's usage limit is set to $0",
    "Fable 5 requires usage credits",
    "Spending cap reached",
    "Limit reached",
    "Session limit reached",
    "Session limit resets",
    "Weekly limit reached",
    "Weekly limit resets",
    "Opus weekly limit reached",
    "Opus limit resets",
    "Usage limit reached",
    "5-hour limit reached",
    "5-hour limit resets",
    "Claude usage limit reached",
    "Claude AI usage limit reached",
];

/// Phrases that make a matching line something else: a switch to overage or another model,
/// a warning, or a retry in progress.
const NOT_A_LIMIT: &[&str] = &["now using", "Retrying in", "will retry", "% of your"];

static LEGACY_EPOCH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Claude AI usage limit reached[^|]*\|(\d{10,13})").expect("static regex"));

static RESET_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\breset(?:s)?(?: at)?\s+(?:(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\s+(?P<day>\d{1,2})(?:,\s*(?P<year>\d{4}))?(?:,\s*|\s+(?:at\s+)?)?)?(?:(?P<hour>\d{1,2})(?::(?P<min>\d{2}))?\s*(?P<ampm>[ap])\.?m\.?)?\s*(?:\((?P<tz>[^)]+)\))?",
    )
    .expect("static regex")
});

/// Removes the TUI's gutter glyphs (`⎿`, `●`, `✻`, box borders) and surrounding blanks.
pub fn strip_gutter(line: &str) -> &str {
    line.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '⎿' | '●' | '│' | '✻' | '⏺' | '>' | '❯'))
        .trim_end()
}

/// If `line` (one rendered line, or a hook's `last_assistant_message`) announces a usage limit
/// that was hit, the limit with its window and reset time resolved against `now`.
pub fn parse_limit_message(line: &str, now: DateTime<Utc>) -> Option<RateLimit> {
    let text = strip_gutter(line);
    if !LIMIT_PREFIXES.iter().any(|prefix| text.starts_with(prefix)) {
        return None;
    }
    if NOT_A_LIMIT.iter().any(|phrase| text.contains(phrase)) {
        return None;
    }
    if let Some(caps) = LEGACY_EPOCH.captures(text) {
        let resets_at = caps[1].parse::<i64>().ok().and_then(epoch_to_utc);
        return Some(RateLimit { window: RateLimitWindow::Session, resets_at, message: text.to_owned() });
    }
    Some(RateLimit { window: window_of(text), resets_at: parse_reset_time(text, now), message: text.to_owned() })
}

/// True when `text` is an API error the CLI retries or a limit that is not the account's own
/// usage limit (API-key 429, "not your usage limit", 529 overloaded, retry progress).
pub fn is_transient_error(text: &str) -> bool {
    let text = strip_gutter(text);
    text.contains("Request rejected (429)")
        || text.contains("not your usage limit")
        || text.contains("529")
        || text.contains("Overloaded")
        || text.contains("overloaded_error")
        || text.starts_with("API Error: Rate limit reached")
        || text.contains("Retrying in")
}

/// Which window a limit message names.
fn window_of(text: &str) -> RateLimitWindow {
    let lower = text.to_lowercase();
    if lower.contains("opus") {
        RateLimitWindow::Opus
    } else if lower.contains("sonnet") {
        RateLimitWindow::Sonnet
    } else if lower.contains("weekly") {
        RateLimitWindow::Weekly
    } else if lower.contains("session limit") || lower.contains("5-hour") || lower.starts_with("claude usage limit") {
        RateLimitWindow::Session
    } else {
        RateLimitWindow::Other
    }
}

fn epoch_to_utc(epoch: i64) -> Option<DateTime<Utc>> {
    // 13 digits are milliseconds.
    let secs = if epoch > 100_000_000_000 { epoch / 1000 } else { epoch };
    Utc.timestamp_opt(secs, 0).single()
}

/// Parses `resets 11:29pm (UTC)`, `resets Nov 27, 11:29pm (UTC)`, `resets Oct 24`,
/// `reset at 1 PM (Asia/Dubai)` into an absolute time: the first such moment after `now`
/// (a time alone is today or tomorrow; a date without a year is this year or the next).
pub fn parse_reset_time(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let caps = RESET_TIME.captures(text)?;
    let has_date = caps.name("mon").is_some();
    let has_time = caps.name("hour").is_some();
    if !has_date && !has_time {
        return None;
    }
    let tz: chrono_tz::Tz = match caps.name("tz") {
        Some(name) => name.as_str().trim().parse().ok()?,
        None => chrono_tz::UTC,
    };
    let time = if has_time {
        let mut hour: u32 = caps["hour"].parse().ok()?;
        let minute: u32 = caps.name("min").map_or(Ok(0), |m| m.as_str().parse()).ok()?;
        if !(1..=12).contains(&hour) || minute > 59 {
            return None;
        }
        let pm = caps.name("ampm").is_some_and(|m| m.as_str().eq_ignore_ascii_case("p"));
        hour %= 12;
        if pm {
            hour += 12;
        }
        NaiveTime::from_hms_opt(hour, minute, 0)?
    } else {
        NaiveTime::MIN
    };
    let local_now = now.with_timezone(&tz);
    let resolve = |date: NaiveDate| -> Option<DateTime<Utc>> {
        match tz.from_local_datetime(&date.and_time(time)) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(earliest, _) => Some(earliest.with_timezone(&Utc)),
            LocalResult::None => None,
        }
    };
    if has_date {
        let month = month_number(&caps["mon"])?;
        let day: u32 = caps["day"].parse().ok()?;
        if let Some(year) = caps.name("year") {
            return resolve(NaiveDate::from_ymd_opt(year.as_str().parse().ok()?, month, day)?);
        }
        let this_year = NaiveDate::from_ymd_opt(local_now.year(), month, day).and_then(resolve);
        return match this_year {
            // A reset shown as a date is never more than a day in the past.
            Some(t) if t + chrono::Duration::days(1) >= now => Some(t),
            _ => NaiveDate::from_ymd_opt(local_now.year() + 1, month, day).and_then(resolve),
        };
    }
    let today = resolve(local_now.date_naive());
    match today {
        Some(t) if t > now => Some(t),
        _ => resolve(local_now.date_naive().succ_opt()?),
    }
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let lower = name.to_ascii_lowercase();
    MONTHS.iter().position(|m| lower.starts_with(m)).map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 20, 36, 0).single().expect("valid")
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Option<DateTime<Utc>> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single()
    }

    fn limit(line: &str) -> RateLimit {
        parse_limit_message(line, now()).unwrap_or_else(|| panic!("not recognised: {line}"))
    }

    #[test]
    fn current_wordings_give_window_and_absolute_reset() {
        let l = limit("You've hit your session limit · resets 11:29pm (UTC)");
        assert_eq!((l.window, l.resets_at), (RateLimitWindow::Session, at(2026, 11, 25, 23, 29)));
        // Claude Code 2.1.332's wording.
        let l = limit("You've hit your 5-hour limit · resets 11:29pm (UTC)");
        assert_eq!((l.window, l.resets_at), (RateLimitWindow::Session, at(2026, 11, 25, 23, 29)));
        let l = limit("  ⎿  You've hit your weekly limit · resets Nov 27, 11:36pm (UTC)");
        assert_eq!((l.window, l.resets_at), (RateLimitWindow::Weekly, at(2026, 11, 27, 23, 36)));
        assert_eq!(l.message, "You've hit your weekly limit · resets Nov 27, 11:36pm (UTC)");
        let l = limit("You've hit your Opus limit · resets 3pm (UTC)");
        assert_eq!(
            (l.window, l.resets_at),
            (RateLimitWindow::Opus, at(2026, 11, 26, 15, 0)),
            "3pm already passed today"
        );
        assert_eq!(limit("You've hit your Sonnet limit · resets 9pm (UTC)").window, RateLimitWindow::Sonnet);
        assert_eq!(
            limit("You've hit your usage limit · contact your admin to increase it").window,
            RateLimitWindow::Other
        );
        let l = limit("You've hit your limit · resets 12:50am (America/Los_Angeles)");
        assert_eq!((l.window, l.resets_at), (RateLimitWindow::Other, at(2026, 11, 26, 8, 50)));
        assert_eq!(limit("You're out of usage credits · resets 11pm (UTC)").resets_at, at(2026, 11, 25, 23, 0));
        assert!(parse_limit_message("Your org is out of usage · add funds to continue", now()).is_some());
        assert!(parse_limit_message("This service is disabled for your org", now()).is_some());
    }

    #[test]
    fn older_wordings_are_recognised() {
        let l = limit("Session limit reached ∙ resets 8pm");
        assert_eq!((l.window, l.resets_at), (RateLimitWindow::Session, at(2026, 11, 26, 20, 0)));
        let l = limit("Opus weekly limit reached ∙ resets Oct 31, 9am");
        assert_eq!(
            (l.window, l.resets_at),
            (RateLimitWindow::Opus, at(2027, 10, 31, 9, 0)),
            "Oct 31 is past: next year"
        );
        assert_eq!(limit("Weekly limit reached ∙ resets Nov 27, 11:29pm (UTC)").window, RateLimitWindow::Weekly);
        assert_eq!(limit("Opus weekly limit reached ∙ resets Dec 24").resets_at, at(2026, 12, 24, 0, 0));
        assert_eq!(limit("5-hour limit reached ∙ resets 5am").window, RateLimitWindow::Session);
        assert_eq!(
            limit("5-hour limit reached · resets 2am (America/Toronto) · /upgrade to Max 20x or turn on /extra-usage")
                .resets_at,
            at(2026, 11, 26, 7, 0)
        );
        assert_eq!(
            limit("Weekly limit resets Nov 27, 9am ∙ contact an admin to keep working").window,
            RateLimitWindow::Weekly
        );
        let l = limit("Claude usage limit reached. Your limit will reset at 1 PM (Asia/Dubai).");
        assert_eq!((l.window, l.resets_at), (RateLimitWindow::Session, at(2026, 11, 26, 9, 0)));
        let l = limit("Claude usage limit reached. Your limit will reset at 9am (America/Chicago).");
        assert_eq!(l.resets_at, at(2026, 11, 26, 15, 0));
    }

    #[test]
    fn legacy_epoch_format_uses_the_epoch() {
        let l = limit("Claude AI usage limit reached|1748268000");
        assert_eq!(l.resets_at, Utc.timestamp_opt(1_748_268_000, 0).single());
        let l = limit("Claude AI usage limit reached and won't reset|1766502000");
        assert_eq!(l.resets_at, Utc.timestamp_opt(1_766_502_000, 0).single());
    }

    #[test]
    fn transient_errors_warnings_and_overage_switches_are_not_limits() {
        for line in [
            "API Error: Request rejected (429) · This request would exceed your account's rate limit. Please try again later.",
            "API Error: Server is temporarily limiting requests (not your usage limit) · slow down",
            "API Error: Rate limit reached",
            "API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment.",
            "✻ 529 Overloaded · Retrying in 3s · attempt 3/3",
            "You've used 93% of your session limit · resets 11:34pm (UTC)",
            "You're close to your usage limit",
            "You're now using usage credits · Your session limit resets 11pm (UTC)",
            "5-hour limit reached, now using extra usage",
            "Weekly limit reached, now using extra usage",
            "Claude Opus limit reached, now using Sonnet 4",
            "Approaching usage limit · resets at 2am",
            "Now using extra usage",
            "? for shortcuts · ← for agents      You've used 93% of your session limit · resets 11:36pm (UTC)",
        ] {
            assert_eq!(parse_limit_message(line, now()), None, "{line}");
        }
        assert!(is_transient_error("API Error: Request rejected (429) · x"));
        assert!(is_transient_error("API Error: Server is temporarily limiting requests (not your usage limit) · x"));
        assert!(is_transient_error("✻ 529 Overloaded · Retrying in 3s · attempt 3/3"));
        assert!(!is_transient_error("You've hit your session limit · resets 11:29pm (UTC)"));
    }

    #[test]
    fn unknown_zones_and_bad_times_give_no_reset_but_keep_the_limit() {
        let l = limit("You've hit your session limit · resets 11:29pm (Mars/Olympus)");
        assert_eq!(l.resets_at, None);
        assert_eq!(l.window, RateLimitWindow::Session);
        assert_eq!(limit("You've hit your session limit · resets 13:99pm (UTC)").resets_at, None);
        assert_eq!(parse_reset_time("nothing to see", now()), None);
    }
}
