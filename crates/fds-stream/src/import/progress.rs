//! A progress bar on standard error for long imports: the phase, a bar, done of
//! total, and the rate. Redrawn at most five times a second; silent when off.

use std::io::Write;
use std::time::{Duration, Instant};

const REDRAW: Duration = Duration::from_millis(200);
const WIDTH: usize = 30;

pub(crate) struct Progress {
    on: bool,
    phase: &'static str,
    unit: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    drawn: Option<Instant>,
}

impl Progress {
    pub(crate) fn new(on: bool, phase: &'static str, total: u64, unit: &'static str) -> Progress {
        Progress { on, phase, unit, total, done: 0, started: Instant::now(), drawn: None }
    }

    pub(crate) fn set(&mut self, done: u64) {
        self.done = done;
        if self.on && self.drawn.is_none_or(|at| at.elapsed() >= REDRAW) {
            self.draw();
        }
    }

    pub(crate) fn done(&mut self) {
        if self.on {
            self.done = self.done.max(self.total);
            self.draw();
            eprintln!();
        }
    }

    fn draw(&mut self) {
        self.drawn = Some(Instant::now());
        let line = render(self.phase, self.done, self.total, self.unit, self.started.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}");
        let _ = err.flush();
    }
}

fn render(phase: &str, done: u64, total: u64, unit: &str, elapsed: Duration) -> String {
    let fraction = if total == 0 { 1.0 } else { (done as f64 / total as f64).min(1.0) };
    let filled = (fraction * WIDTH as f64).round() as usize;
    let rate = if elapsed.as_secs_f64() > 0.0 { done as f64 / elapsed.as_secs_f64() } else { 0.0 };
    format!(
        "{phase:<8} [{}{}] {:>3.0}% {done}/{total} {unit} {rate:.0} {unit}/s ",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        fraction * 100.0
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bar_fills_with_the_fraction_done() {
        let line = super::render("scoring", 50, 200, "events", std::time::Duration::from_secs(2));
        assert!(
            line.starts_with("scoring  [########......................]  25% 50/200 events 25 events/s"),
            "{line}"
        );
    }
}
