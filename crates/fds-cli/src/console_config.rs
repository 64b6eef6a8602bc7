//! `[console]`: the analyst console's settings, validated with every problem listed.

use crate::config::parse_duration;
use fds_web::console::ConsoleConfig;
use serde::Deserialize;
use std::time::Duration;

/// `[console]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConsole {
    /// Mark the console's cookies `Secure` (default false): set it whenever the
    /// console is reached over TLS, directly or through a TLS-terminating proxy.
    secure_cookies: Option<bool>,
    /// A session unused this long ends: `30m` (default).
    idle_timeout: Option<String>,
    /// A session ends this long after its login: `12h` (default).
    absolute_timeout: Option<String>,
}

/// The validated `[console]` section; its problems are added to `problems`.
pub(crate) fn console_settings(raw: RawConsole, problems: &mut Vec<String>) -> ConsoleConfig {
    let mut config = ConsoleConfig::default();
    if let Some(secure) = raw.secure_cookies {
        config.secure_cookies = secure;
    }
    let mut duration = |name: &str, text: Option<String>, range: (u64, u64), into: &mut Duration| {
        let Some(text) = text else { return };
        match parse_duration(&text) {
            Ok(d) if (range.0..=range.1).contains(&d.as_secs()) => *into = d,
            Ok(d) => problems.push(format!(
                "console.{name}: must be between {}s and {}s, got {}s",
                range.0,
                range.1,
                d.as_secs()
            )),
            Err(why) => problems.push(format!("console.{name}: {why}")),
        }
    };
    duration("idle_timeout", raw.idle_timeout, (60, 24 * 3600), &mut config.idle_timeout);
    duration("absolute_timeout", raw.absolute_timeout, (300, 7 * 24 * 3600), &mut config.absolute_timeout);
    if config.idle_timeout > config.absolute_timeout {
        problems.push("console.idle_timeout: must not be longer than console.absolute_timeout".into());
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_thirty_minutes_idle_and_twelve_hours_at_most() {
        let mut problems = Vec::new();
        let config = console_settings(RawConsole::default(), &mut problems);
        assert!(problems.is_empty());
        assert_eq!(config.idle_timeout, Duration::from_secs(1800));
        assert_eq!(config.absolute_timeout, Duration::from_secs(12 * 3600));
        assert!(!config.secure_cookies);
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let mut problems = Vec::new();
        let raw = RawConsole {
            secure_cookies: Some(true),
            idle_timeout: Some("soon".into()),
            absolute_timeout: Some("30d".into()),
        };
        let config = console_settings(raw, &mut problems);
        assert!(config.secure_cookies);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("console.idle_timeout"));
        assert!(problems[1].starts_with("console.absolute_timeout"));
    }
}
