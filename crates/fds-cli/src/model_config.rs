//! `[models]`: how the long-running commands (`fds serve`, `fds worker`) follow the
//! store's model registry.

use serde::Deserialize;
use std::time::Duration;

/// The validated `[models]` section.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ModelSettings {
    /// How often the registry version is polled: a promotion is live within it.
    pub(crate) poll_every: Duration,
    /// How often a serving process measures today's drift of the champions.
    pub(crate) drift_every: Duration,
    /// The PSI above which a champion is marked as needing retraining.
    pub(crate) psi_alert: f64,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            poll_every: Duration::from_secs(5),
            drift_every: Duration::from_secs(3600),
            psi_alert: 0.25,
        }
    }
}

/// `[models]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModels {
    /// Time between polls of the registry: `5s` (default), `1m`, or seconds as a number.
    poll_every: Option<toml::Value>,
    /// Time between drift measurements: `1h` (default), or seconds as a number.
    drift_every: Option<toml::Value>,
    /// The PSI that marks a model as needing retraining (default 0.25: a significant shift).
    psi_alert: Option<f64>,
}

/// The shortest and longest poll interval: a poll is one tiny query, but more
/// than once a second gains nothing; more than an hour leaves promotions waiting.
const POLL: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(3600));

/// The drift measurement interval's bounds: it reads a day of rollups per champion.
const DRIFT: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(24 * 3600));

/// A duration field: `None` when absent, problems added to `problems`.
fn duration(
    name: &str,
    value: Option<toml::Value>,
    (min, max): (Duration, Duration),
    problems: &mut Vec<String>,
) -> Option<Duration> {
    let parsed = match value? {
        toml::Value::Integer(n) => {
            u64::try_from(n).map(Duration::from_secs).map_err(|_| format!("{n} is negative"))
        }
        toml::Value::String(text) => crate::config::parse_duration(&text),
        other => Err(format!("{other} is not a duration such as 5s or 1m")),
    };
    match parsed {
        Ok(d) if (min..=max).contains(&d) => Some(d),
        Ok(d) => {
            problems.push(format!(
                "models.{name}: must be between {}s and {}s, got {}s",
                min.as_secs(),
                max.as_secs(),
                d.as_secs()
            ));
            None
        }
        Err(why) => {
            problems.push(format!("models.{name}: {why}"));
            None
        }
    }
}

impl ModelSettings {
    pub(crate) fn from_raw(raw: RawModels, problems: &mut Vec<String>) -> ModelSettings {
        let mut settings = ModelSettings::default();
        if let Some(every) = duration("poll_every", raw.poll_every, POLL, problems) {
            settings.poll_every = every;
        }
        if let Some(every) = duration("drift_every", raw.drift_every, DRIFT, problems) {
            settings.drift_every = every;
        }
        match raw.psi_alert {
            Some(psi) if psi.is_finite() && psi > 0.0 => settings.psi_alert = psi,
            Some(psi) => problems.push(format!("models.psi_alert: must be a number above 0, got {psi}")),
            None => {}
        }
        settings
    }

    /// `[models]` from the same layers as `fds serve` (for `fds model drift`).
    pub(crate) fn load(
        file: Option<&std::path::Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<ModelSettings, crate::config::ConfigErrors> {
        let mut problems = Vec::new();
        let table = crate::config::layers(file, env, &mut problems);
        let settings =
            ModelSettings::from_raw(crate::config::section(&table, "models", &mut problems), &mut problems);
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(crate::config::ConfigErrors(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_settings_default_to_hourly_at_a_psi_of_a_quarter_and_refuse_nonsense() {
        let mut problems = Vec::new();
        let raw = RawModels {
            poll_every: None,
            drift_every: Some(toml::Value::String("10m".into())),
            psi_alert: Some(0.1),
        };
        let settings = ModelSettings::from_raw(raw, &mut problems);
        assert_eq!(
            (settings.drift_every, settings.psi_alert, problems.len()),
            (Duration::from_secs(600), 0.1, 0)
        );
        let raw =
            RawModels { poll_every: None, drift_every: Some(toml::Value::Integer(0)), psi_alert: Some(-1.0) };
        ModelSettings::from_raw(raw, &mut problems);
        assert_eq!(
            problems,
            [
                "models.drift_every: must be between 1s and 86400s, got 0s",
                "models.psi_alert: must be a number above 0, got -1"
            ]
        );
        assert_eq!(ModelSettings::default().psi_alert, 0.25);
    }

    fn settings(value: Option<toml::Value>) -> (ModelSettings, Vec<String>) {
        let mut problems = Vec::new();
        let raw = RawModels { poll_every: value, drift_every: None, psi_alert: None };
        (ModelSettings::from_raw(raw, &mut problems), problems)
    }

    #[test]
    fn the_poll_interval_reads_durations_and_seconds_and_refuses_the_out_of_range() {
        assert_eq!(settings(None).0.poll_every, Duration::from_secs(5));
        assert_eq!(settings(Some(toml::Value::String("2m".into()))).0.poll_every, Duration::from_secs(120));
        assert_eq!(settings(Some(toml::Value::Integer(3))).0.poll_every, Duration::from_secs(3));
        let (_, problems) = settings(Some(toml::Value::Integer(0)));
        assert_eq!(problems, ["models.poll_every: must be between 1s and 3600s, got 0s"]);
        let (_, problems) = settings(Some(toml::Value::String("soon".into())));
        assert!(problems[0].starts_with("models.poll_every: \"soon\" is not a duration"), "{problems:?}");
    }
}
