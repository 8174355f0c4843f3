//! The `anthropic-ratelimit-unified-*` response headers the CLI parses to
//! decide whether a subscriber hit a usage limit.

use chrono::Utc;

/// A usage-limit window of a claude.ai subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// The five-hour session window (`five_hour`); resets in 2 h.
    Session,
    /// The weekly window (`seven_day`); resets in 2 days.
    Weekly,
    /// The weekly Opus window (`seven_day_opus`); resets in 3 days.
    Opus,
}

impl std::str::FromStr for Window {
    type Err = String;

    /// `session`, `weekly` or `opus`.
    fn from_str(s: &str) -> Result<Window, String> {
        match s {
            "session" => Ok(Window::Session),
            "weekly" => Ok(Window::Weekly),
            "opus" => Ok(Window::Opus),
            other => Err(format!("unknown window {other:?} (session, weekly or opus)")),
        }
    }
}

impl Window {
    /// The value of `anthropic-ratelimit-unified-representative-claim`.
    pub fn claim(self) -> &'static str {
        match self {
            Window::Session => "five_hour",
            Window::Weekly => "seven_day",
            Window::Opus => "seven_day_opus",
        }
    }

    /// The per-window header infix (`5h`, `7d`, `7d_opus`).
    fn infix(self) -> &'static str {
        match self {
            Window::Session => "5h",
            Window::Weekly => "7d",
            Window::Opus => "7d_opus",
        }
    }

    /// Seconds from now until the window resets.
    pub fn reset_in_secs(self) -> i64 {
        match self {
            Window::Session => 2 * 3600,
            Window::Weekly => 2 * 86400,
            Window::Opus => 3 * 86400,
        }
    }

    /// The reset time as epoch seconds, counted from now.
    pub fn reset_epoch(self) -> i64 {
        Utc::now().timestamp() + self.reset_in_secs()
    }
}

/// A list of response headers (name, value).
pub type Headers = Vec<(String, String)>;

const P: &str = "anthropic-ratelimit-unified-";

fn h(name: &str, value: impl ToString) -> (String, String) {
    (format!("{P}{name}"), value.to_string())
}

/// Headers of a 429 answer: the limit of `window` is exhausted and extra
/// usage (overage) is disabled for the organisation.
pub fn rejected(window: Window) -> Headers {
    let reset = window.reset_epoch();
    let ix = window.infix();
    vec![
        h("status", "rejected"),
        h("reset", reset),
        h("representative-claim", window.claim()),
        h("fallback", "unavailable"),
        h("overage-status", "rejected"),
        h("overage-disabled-reason", "org_level_disabled"),
        h(&format!("{ix}-utilization"), "1.0"),
        h(&format!("{ix}-reset"), reset),
        h(&format!("{ix}-status"), "rejected"),
        ("retry-after".to_string(), window.reset_in_secs().to_string()),
    ]
}

/// Headers of a 200 answer that warns: 93 % of the five-hour window used.
pub fn warning_93() -> Headers {
    let reset = Window::Session.reset_epoch();
    vec![
        h("status", "allowed_warning"),
        h("reset", reset),
        h("representative-claim", "five_hour"),
        h("5h-status", "allowed_warning"),
        h("5h-utilization", "0.93"),
        h("5h-reset", reset),
        h("5h-surpassed-threshold", "0.9"),
        h("overage-status", "rejected"),
        h("overage-disabled-reason", "org_level_disabled"),
    ]
}

/// Headers of an ordinary 200 answer: well inside every limit.
pub fn allowed() -> Headers {
    let reset = Window::Session.reset_epoch();
    vec![
        h("status", "allowed"),
        h("reset", reset),
        h("representative-claim", "five_hour"),
        h("5h-status", "allowed"),
        h("5h-utilization", "0.12"),
        h("5h-reset", reset),
        h("7d-status", "allowed"),
        h("7d-utilization", "0.05"),
        h("7d-reset", Window::Weekly.reset_epoch()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(hs: &'a Headers, name: &str) -> Option<&'a str> {
        hs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn rejected_headers_name_the_window() {
        let now = Utc::now().timestamp();
        for (w, claim, secs) in [
            (Window::Session, "five_hour", 7200),
            (Window::Weekly, "seven_day", 172_800),
            (Window::Opus, "seven_day_opus", 259_200),
        ] {
            let hs = rejected(w);
            assert_eq!(get(&hs, "anthropic-ratelimit-unified-status"), Some("rejected"));
            assert_eq!(get(&hs, "anthropic-ratelimit-unified-representative-claim"), Some(claim));
            assert_eq!(get(&hs, "anthropic-ratelimit-unified-overage-status"), Some("rejected"));
            let reset: i64 =
                get(&hs, "anthropic-ratelimit-unified-reset").and_then(|v| v.parse().ok()).unwrap_or_default();
            assert!((reset - now - secs).abs() <= 2, "{w:?}: {reset}");
        }
    }

    #[test]
    fn warning_is_93_percent_of_session() {
        let hs = warning_93();
        assert_eq!(get(&hs, "anthropic-ratelimit-unified-status"), Some("allowed_warning"));
        assert_eq!(get(&hs, "anthropic-ratelimit-unified-5h-utilization"), Some("0.93"));
    }
}
