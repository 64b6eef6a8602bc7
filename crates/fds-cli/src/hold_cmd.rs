//! `fds hold`: places, lifts and lists legal holds on the configured store. A
//! held subscriber's decisions and events are kept by retention until the hold is
//! lifted; placing and lifting are audited by the store. Subscriber numbers are
//! only ever printed masked.

use crate::config::with_store;
use anyhow::{Context, Result};
use clap::Subcommand;
use fds_store::{LegalHold, Store};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub(crate) enum HoldCommand {
    /// Put a subscriber on legal hold (for a case, with --case): retention removes
    /// none of its decisions and events until the hold is lifted. Audited.
    Place {
        #[arg(long)]
        config: Option<PathBuf>,
        /// The subscriber's number (any formatting; stored only sealed).
        #[arg(long)]
        subscriber: String,
        /// The case the hold is for.
        #[arg(long)]
        case: Option<String>,
        /// Why the hold is placed (kept with the hold and in the audit log).
        #[arg(long)]
        reason: String,
        /// Who places it, as the audit log records it.
        #[arg(long)]
        actor: String,
    },
    /// Lift an active hold by its id (see `fds hold list`). Audited; exits 1 when
    /// there is no active hold of that id. The subscriber stays held while another
    /// of its holds is active.
    Lift {
        /// The hold's id.
        id: i64,
        #[arg(long)]
        config: Option<PathBuf>,
        /// Who lifts it, as the audit log records it.
        #[arg(long)]
        actor: String,
        /// Why it is lifted (kept in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// List the active holds, oldest first, subscriber numbers masked.
    List {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub(crate) fn run(command: HoldCommand) -> Result<ExitCode> {
    let config = match &command {
        HoldCommand::Place { config, .. }
        | HoldCommand::Lift { config, .. }
        | HoldCommand::List { config } => config.clone(),
    };
    let mut problems = Vec::new();
    match &command {
        HoldCommand::Place { subscriber, reason, actor, case, .. } => {
            required(&mut problems, "--subscriber", subscriber);
            required(&mut problems, "--reason", reason);
            required(&mut problems, "--actor", actor);
            if case.as_deref().is_some_and(|c| c.trim().is_empty()) {
                problems.push("--case must not be empty when given".to_string());
            }
        }
        HoldCommand::Lift { actor, reason, .. } => {
            required(&mut problems, "--actor", actor);
            required(&mut problems, "--reason", reason);
        }
        HoldCommand::List { .. } => {}
    }
    if !problems.is_empty() {
        for problem in problems {
            eprintln!("{problem}");
        }
        return Ok(ExitCode::from(2));
    }
    with_store(config.as_deref(), async |store| execute(store, command, chrono::Utc::now()).await)
}

fn required(problems: &mut Vec<String>, flag: &str, value: &str) {
    if value.trim().is_empty() {
        problems.push(format!("{flag} must not be empty"));
    }
}

async fn execute(
    store: &dyn Store,
    command: HoldCommand,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ExitCode> {
    match command {
        HoldCommand::Place { subscriber, case, reason, actor, .. } => {
            let hold = store
                .place_hold(
                    subscriber.trim(),
                    case.as_deref().map(str::trim),
                    reason.trim(),
                    actor.trim(),
                    now,
                )
                .await
                .context("placing the hold")?;
            println!("placed hold {}: {}", hold.hold_id, line(&hold));
            Ok(ExitCode::SUCCESS)
        }
        HoldCommand::Lift { id, actor, reason, .. } => {
            match store.lift_hold(id, actor.trim(), reason.trim(), now).await.context("lifting the hold")? {
                Some(hold) => {
                    println!("lifted hold {}: {}", hold.hold_id, line(&hold));
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    eprintln!("no active hold with id {id}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        HoldCommand::List { .. } => {
            let holds = store.holds().await.context("reading the holds")?;
            print!("{}", render(&holds));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The active holds as a table, numbers masked.
fn render(holds: &[LegalHold]) -> String {
    if holds.is_empty() {
        return "no active legal holds\n".to_string();
    }
    let mut out = format!(
        "{:>5}  {:<15} {:<12} {:<20} {:<16} reason\n",
        "id", "subscriber", "case", "placed at", "placed by"
    );
    for hold in holds {
        out.push_str(&format!(
            "{:>5}  {:<15} {:<12} {:<20} {:<16} {}\n",
            hold.hold_id,
            mask(hold.subscriber.expose()),
            hold.case_id.as_deref().unwrap_or("-"),
            hold.placed_at.format("%Y-%m-%d %H:%M:%S"),
            hold.placed_by,
            hold.reason
        ));
    }
    out.push_str(&format!("{} active hold(s)\n", holds.len()));
    out
}

/// One hold on one line, number masked.
fn line(hold: &LegalHold) -> String {
    format!(
        "subscriber {}{}, placed by {} at {} ({})",
        mask(hold.subscriber.expose()),
        hold.case_id.as_deref().map(|c| format!(", case {c}")).unwrap_or_default(),
        hold.placed_by,
        hold.placed_at.format("%Y-%m-%d %H:%M:%S UTC"),
        hold.reason
    )
}

/// A subscriber number as it may be shown: only its last four digits, and for a
/// full mobile number (ten digits or more) its three-digit carrier prefix too,
/// e.g. `010-****-5678`. Anything else is masked whole.
fn mask(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len();
    if n < 5 {
        return "*".repeat(n.max(4));
    }
    let last: String = digits[n - 4..].iter().collect();
    if n >= 10 {
        let prefix: String = digits[..3].iter().collect();
        format!("{prefix}-{}-{last}", "*".repeat(n - 7))
    } else {
        format!("{}-{last}", "*".repeat(n - 4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use fds_core::Pii;

    #[test]
    fn numbers_are_masked_to_the_prefix_and_the_last_four_digits() {
        assert_eq!(mask("01012345678"), "010-****-5678");
        assert_eq!(mask("010-1234-5678"), "010-****-5678");
        assert_eq!(mask("0111234567"), "011-***-4567");
        assert_eq!(mask("+821012345678"), "821-*****-5678");
        assert_eq!(mask("1234567"), "***-4567");
        assert_eq!(mask("1234"), "****");
        assert_eq!(mask("x"), "****");
    }

    #[test]
    fn the_list_shows_each_hold_with_its_number_masked() {
        let hold = LegalHold {
            hold_id: 7,
            subscriber: Pii::new("01012345678"),
            case_id: Some("case-9".into()),
            reason: "regulator inquiry".into(),
            placed_by: "legal-kim".into(),
            placed_at: chrono::Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap(),
        };
        let shown = render(std::slice::from_ref(&hold));
        assert!(!shown.contains("01012345678") && !shown.contains("1234"), "{shown}");
        assert_eq!(
            shown.lines().nth(1),
            Some(
                "    7  010-****-5678   case-9       2026-11-21 12:00:00  legal-kim        regulator inquiry"
            )
        );
        assert_eq!(render(&[]), "no active legal holds\n");
        assert_eq!(
            line(&hold),
            "subscriber 010-****-5678, case case-9, placed by legal-kim at 2026-11-21 12:00:00 UTC (regulator inquiry)"
        );
    }
}
