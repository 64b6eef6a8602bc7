//! `[models]`: how the long-running commands (`fds serve`, `fds worker`) follow the
//! store's model registry.

use serde::Deserialize;
use std::time::Duration;

/// The validated `[models]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ModelSettings {
    /// How often the registry version is polled: a promotion is live within it.
    pub(crate) poll_every: Duration,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings { poll_every: Duration::from_secs(5) }
    }
}

/// `[models]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModels {
    /// Time between polls of the registry: `5s` (default), `1m`, or seconds as a number.
    poll_every: Option<toml::Value>,
}

/// The shortest and longest poll interval: a poll is one tiny query, but more
/// than once a second gains nothing; more than an hour leaves promotions waiting.
const POLL: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(3600));

impl ModelSettings {
    pub(crate) fn from_raw(raw: RawModels, problems: &mut Vec<String>) -> ModelSettings {
        let mut settings = ModelSettings::default();
        let every = match raw.poll_every {
            None => return settings,
            Some(toml::Value::Integer(n)) => {
                u64::try_from(n).map(Duration::from_secs).map_err(|_| format!("{n} is negative"))
            }
            Some(toml::Value::String(text)) => crate::config::parse_duration(&text),
            Some(other) => Err(format!("{other} is not a duration such as 5s or 1m")),
        };
        match every {
            Ok(every) if (POLL.0..=POLL.1).contains(&every) => settings.poll_every = every,
            Ok(every) => problems
                .push(format!("models.poll_every: must be between 1s and 1h, got {}s", every.as_secs())),
            Err(why) => problems.push(format!("models.poll_every: {why}")),
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(value: Option<toml::Value>) -> (ModelSettings, Vec<String>) {
        let mut problems = Vec::new();
        (ModelSettings::from_raw(RawModels { poll_every: value }, &mut problems), problems)
    }

    #[test]
    fn the_poll_interval_reads_durations_and_seconds_and_refuses_the_out_of_range() {
        assert_eq!(settings(None).0.poll_every, Duration::from_secs(5));
        assert_eq!(settings(Some(toml::Value::String("2m".into()))).0.poll_every, Duration::from_secs(120));
        assert_eq!(settings(Some(toml::Value::Integer(3))).0.poll_every, Duration::from_secs(3));
        let (_, problems) = settings(Some(toml::Value::Integer(0)));
        assert_eq!(problems, ["models.poll_every: must be between 1s and 1h, got 0s"]);
        let (_, problems) = settings(Some(toml::Value::String("soon".into())));
        assert!(problems[0].starts_with("models.poll_every: \"soon\" is not a duration"), "{problems:?}");
    }
}
