//! The Claude Code CLI versions Cockpit is tested with. The test command installs exactly
//! these two (`worker/testkit/npm` and `worker/testkit/npm-newest`, checked by a test), and
//! `/api/health` warns when the installed `claude` is outside the range.

/// The oldest CLI the tests run on.
pub const OLDEST_TESTED: &str = "2.1.197";
/// The newest CLI the tests run on.
pub const NEWEST_TESTED: &str = "2.1.332";

/// `2.1.197 (Claude Code)` → `(2, 1, 197)`.
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let word = text.split_whitespace().next()?;
    let mut parts = word.split('.').map(|p| p.parse::<u32>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

/// A health hint when `installed` (what `claude --version` printed) is outside the tested
/// range; `None` when inside it or unknown (an unknown version has its own hint).
pub fn version_hint(installed: Option<&str>) -> Option<String> {
    let text = installed?;
    let version = parse_version(text)?;
    let oldest = parse_version(OLDEST_TESTED)?;
    let newest = parse_version(NEWEST_TESTED)?;
    let word = text.split_whitespace().next().unwrap_or(text);
    if version < oldest {
        Some(format!(
            "Claude Code {word} is older than the oldest tested version {OLDEST_TESTED}: update it (npm i -g @anthropic-ai/claude-code@{NEWEST_TESTED})"
        ))
    } else if version > newest {
        Some(format!(
            "Claude Code {word} is newer than the newest tested version {NEWEST_TESTED}: it may behave differently (tested: {OLDEST_TESTED} to {NEWEST_TESTED})"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_inside_the_range_pass_and_others_get_a_hint() {
        assert_eq!(parse_version("2.1.197 (Claude Code)"), Some((2, 1, 197)));
        assert_eq!(parse_version("2.1"), None);
        assert_eq!(parse_version("2.1.x"), None);
        assert_eq!(parse_version("2.1.3.4"), None);
        for inside in ["2.1.197 (Claude Code)", "2.1.250", "2.1.332 (Claude Code)"] {
            assert_eq!(version_hint(Some(inside)), None, "{inside}");
        }
        let old = version_hint(Some("2.0.77 (Claude Code)")).expect("a hint");
        assert!(old.contains("2.0.77") && old.contains("older") && old.contains(OLDEST_TESTED), "{old}");
        let new = version_hint(Some("2.2.0 (Claude Code)")).expect("a hint");
        assert!(new.contains("newer") && new.contains(NEWEST_TESTED), "{new}");
        assert_eq!(version_hint(None), None);
        assert_eq!(version_hint(Some("garbage")), None);
    }

    #[test]
    fn the_range_is_what_the_test_command_installs() {
        let testkit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../worker/testkit");
        for (dir, version) in [("npm", OLDEST_TESTED), ("npm-newest", NEWEST_TESTED)] {
            let text = std::fs::read_to_string(testkit.join(dir).join("package.json")).expect("package.json");
            let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(json["dependencies"]["@anthropic-ai/claude-code"], version, "worker/testkit/{dir}");
        }
    }
}
