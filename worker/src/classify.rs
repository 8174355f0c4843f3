//! The screen classifier: what the rendered Claude Code TUI shows right now. A pure function of
//! the screen's text lines (and the time, to resolve reset times).

use chrono::{DateTime, Utc};
use cockpit_api::{Activity, RateLimit};

use crate::ratelimit::{parse_limit_message, strip_gutter};

/// What the screen shows.
#[derive(Clone, Debug, PartialEq)]
pub enum ScreenClass {
    /// Nothing recognisable yet (start-up, or not Claude Code at all).
    Unknown,
    /// Claude is working: the `esc to interrupt` footer or a spinner row.
    Working,
    /// The prompt box waits for input.
    Idle,
    /// A permission dialog is open.
    NeedsApproval {
        /// The tool the dialog asks about, when the screen names it.
        tool: String,
        /// The dialog's question (`Do you want to proceed?`, …).
        question: String,
    },
    /// The latest message is a usage-limit message, or the `/rate-limit-options` dialog is open.
    RateLimited {
        /// The limit, when a limit line is on screen.
        limit: Option<RateLimit>,
        /// True while the `/rate-limit-options` dialog is open (it takes the next keystrokes).
        dialog_open: bool,
    },
    /// A login screen or a refused credential.
    NeedsLogin,
}

impl ScreenClass {
    /// The activity this screen implies, if it implies one.
    pub fn activity(&self) -> Option<Activity> {
        match self {
            ScreenClass::Unknown => None,
            ScreenClass::Working => Some(Activity::Working),
            ScreenClass::Idle => Some(Activity::Idle),
            ScreenClass::NeedsApproval { .. } => Some(Activity::NeedsApproval),
            ScreenClass::RateLimited { .. } => Some(Activity::RateLimited),
            ScreenClass::NeedsLogin => Some(Activity::NeedsLogin),
        }
    }
}

const LOGIN_MARKERS: &[&str] = &[
    "Select login method",
    "Paste code here if prompted",
    "Not logged in · Run /login",
    "Not logged in · Please run /login",
    "Invalid API key · ",
    "OAuth token has expired",
    "OAuth token revoked",
];

const APPROVAL_QUESTIONS: &[&str] = &["Do you want to proceed?", "Do you want to ", "Would you like to proceed?"];

/// Classifies the visible screen (one string per row, top to bottom).
pub fn classify(lines: &[String], now: DateTime<Utc>) -> ScreenClass {
    let joined = lines.join("\n");

    if joined.contains("What do you want to do?") && joined.contains("Stop and wait for limit to reset") {
        return ScreenClass::RateLimited { limit: last_limit(lines, now), dialog_open: true };
    }
    if let Some(class) = approval_dialog(lines) {
        return class;
    }
    if LOGIN_MARKERS.iter().any(|m| joined.contains(m)) {
        return ScreenClass::NeedsLogin;
    }
    let working = joined.contains("esc to interrupt") || joined.contains("Esc to interrupt");
    if !working && let Some(limit) = last_message_limit(lines, now) {
        return ScreenClass::RateLimited { limit: Some(limit), dialog_open: false };
    }
    if working {
        return ScreenClass::Working;
    }
    if prompt_box_row(lines).is_some() || joined.contains("? for shortcuts") {
        return ScreenClass::Idle;
    }
    ScreenClass::Unknown
}

/// A permission dialog: a question line, a numbered `Yes` option and the `Esc to cancel` hint.
fn approval_dialog(lines: &[String]) -> Option<ScreenClass> {
    let question_row = lines.iter().rposition(|l| {
        let t = strip_gutter(l);
        APPROVAL_QUESTIONS.iter().any(|q| t.starts_with(q)) && t.ends_with('?')
    })?;
    let below = &lines[question_row..];
    let has_yes = below.iter().any(|l| strip_gutter(l).starts_with("1. Yes"));
    let has_cancel = below.iter().any(|l| l.contains("Esc to cancel") || l.contains("esc to cancel"));
    if !has_yes || !has_cancel {
        return None;
    }
    let question = strip_gutter(&lines[question_row]).to_owned();
    Some(ScreenClass::NeedsApproval { tool: dialog_tool(&lines[..question_row]), question })
}

/// The dialog's title names the kind of tool call: `Bash command`, `Create file`, `Edit file`…
fn dialog_tool(above: &[String]) -> String {
    for line in above.iter().rev().take(20) {
        let t = strip_gutter(line).trim_matches(|c: char| c == '│' || c == '╭' || c == '╰' || c.is_whitespace());
        let tool = match t {
            s if s.starts_with("Bash command") => "Bash",
            s if s.starts_with("Create file") => "Write",
            s if s.starts_with("Edit file") => "Edit",
            s if s.starts_with("Fetch") => "WebFetch",
            s if s.starts_with("Tool use") => "Tool",
            _ => continue,
        };
        return tool.to_owned();
    }
    "unknown".to_owned()
}

/// The row of the input prompt (`❯` or `>` at the start of a row inside the prompt box).
fn prompt_box_row(lines: &[String]) -> Option<usize> {
    lines.iter().rposition(|l| {
        let t = l.trim_start_matches(|c: char| c == '│' || c.is_whitespace());
        (t.starts_with('❯') || t.starts_with("> ")) && !t.contains(". ")
    })
}

/// The last usage-limit line anywhere on screen.
fn last_limit(lines: &[String], now: DateTime<Utc>) -> Option<RateLimit> {
    lines.iter().rev().find_map(|l| parse_limit_message(l, now))
}

/// The usage limit, when it is the latest message: the last non-blank line above the prompt
/// box (or the screen's end) that is not a hint or a border.
fn last_message_limit(lines: &[String], now: DateTime<Utc>) -> Option<RateLimit> {
    let end = prompt_box_row(lines).map(|row| box_top(lines, row)).unwrap_or(lines.len());
    let mut seen = 0;
    for line in lines[..end].iter().rev() {
        let t = strip_gutter(line);
        if t.is_empty() || is_border(t) || t.starts_with('/') {
            continue;
        }
        if let Some(limit) = parse_limit_message(line, now) {
            return Some(limit);
        }
        seen += 1;
        if seen >= 2 {
            return None;
        }
    }
    None
}

/// The first row of the box around the prompt (the border above it), or the prompt row itself.
fn box_top(lines: &[String], prompt_row: usize) -> usize {
    if prompt_row > 0 && is_border(lines[prompt_row - 1].trim()) { prompt_row - 1 } else { prompt_row }
}

fn is_border(t: &str) -> bool {
    !t.is_empty() && t.chars().all(|c| matches!(c, '─' | '━' | '╌' | '╭' | '╮' | '╰' | '╯' | '│' | '-' | ' '))
}

/// What `cockpit-worker classify` prints: the raw bytes replayed through the emulator, then
/// classified. `activity` is `Starting` when the screen implies nothing.
pub fn report(bytes: &[u8], cols: u16, rows: u16, now: DateTime<Utc>) -> serde_json::Value {
    let mut term = cockpit_term::terminal::Terminal::new(cols, rows);
    term.process(bytes);
    let class = classify(&term.lines(), now);
    let mut out = serde_json::json!({
        "activity": class.activity().unwrap_or(Activity::Starting),
        "screen": term.text(),
        "title": term.title(),
    });
    match class {
        ScreenClass::RateLimited { limit, dialog_open } => {
            out["rateLimit"] = serde_json::to_value(limit).unwrap_or_default();
            out["rateLimitDialogOpen"] = serde_json::Value::Bool(dialog_open);
        }
        ScreenClass::NeedsApproval { tool, question } => {
            out["approval"] = serde_json::json!({ "tool": tool, "question": question });
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 20, 36, 0).single().expect("valid")
    }

    fn screen(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn idle_prompt_box() {
        let s = screen("● Hello there\n\n────────────\n❯ \n────────────\n  ? for shortcuts");
        assert_eq!(classify(&s, now()), ScreenClass::Idle);
    }

    #[test]
    fn working_footer() {
        let s = screen("✻ Thinking… (esc to interrupt)\n────────────\n❯ \n────────────");
        assert_eq!(classify(&s, now()), ScreenClass::Working);
    }

    #[test]
    fn limit_as_last_message_then_stale_limit_above_newer_messages() {
        let s = screen(
            "> hi\n  ⎿  You've hit your session limit · resets 11:29pm (UTC)\n     /upgrade to increase your usage limit.\n\n────\n❯ \n────",
        );
        match classify(&s, now()) {
            ScreenClass::RateLimited { limit: Some(limit), dialog_open: false } => {
                assert_eq!(limit.window, cockpit_api::RateLimitWindow::Session)
            }
            other => panic!("{other:?}"),
        }
        let s = screen(
            "  ⎿  You've hit your session limit · resets 11:29pm (UTC)\n> again\n● Stand-in reply\n────\n❯ \n────",
        );
        assert_eq!(classify(&s, now()), ScreenClass::Idle);
    }

    #[test]
    fn rate_limit_dialog() {
        let s = screen(
            "  ⎿  You've hit your weekly limit · resets Nov 27, 11:29pm (UTC)\n❯ /rate-limit-options\n  What do you want to do?\n\n  ❯ 1. Stop and wait for limit to reset\n    2. Upgrade your plan\n\n  Enter to confirm · Esc to cancel",
        );
        match classify(&s, now()) {
            ScreenClass::RateLimited { limit: Some(limit), dialog_open: true } => {
                assert_eq!(limit.window, cockpit_api::RateLimitWindow::Weekly)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn permission_dialog() {
        let s = screen(
            " Bash command\n\n   touch mockfile.txt\n   Create an empty file\n\n Do you want to proceed?\n ❯ 1. Yes\n   2. No, and tell Claude what to do differently (esc)\n\n Esc to cancel",
        );
        assert_eq!(
            classify(&s, now()),
            ScreenClass::NeedsApproval { tool: "Bash".into(), question: "Do you want to proceed?".into() }
        );
    }

    #[test]
    fn transient_errors_are_not_limits() {
        let s = screen(
            "  ⎿  API Error: Request rejected (429) · This request would exceed your account's rate limit.\n────\n❯ \n────",
        );
        assert_eq!(classify(&s, now()), ScreenClass::Idle);
    }

    #[test]
    fn login_screens() {
        assert_eq!(classify(&screen(" Select login method:\n ❯ 1. Claude account"), now()), ScreenClass::NeedsLogin);
        assert_eq!(classify(&screen("❯ \n  Not logged in · Run /login"), now()), ScreenClass::NeedsLogin);
    }

    #[test]
    fn unknown_screen() {
        assert_eq!(classify(&screen("$ ls\nfoo bar"), now()), ScreenClass::Unknown);
    }
}
