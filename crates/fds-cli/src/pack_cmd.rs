//! `fds rules import|export|versions|changes|show|publish|withdraw|retire|shadow`
//! and `fds rules suppress|unsuppress|suppressions`: the rule pack's life in the
//! store. The files in `rules/` seed an empty store; after that a change to the
//! files is imported as a draft, which another person publishes once the whole pack
//! compiles and passes every fixture. Running `fds serve` and `fds worker` replicas
//! pick a published pack up within seconds. Every step is audited by the store.

use crate::config::{parse_duration, with_store};
use crate::setup;
use anyhow::{bail, Context, Result};
use fds_core::EntityKind;
use fds_pipeline::rulebook::{self, RulebookError};
use fds_rules::{PackFiles, FIXTURE_SUFFIX, RULE_SUFFIX};
use fds_store::{ChangeState, ChangedFile, NewSuppression, RuleChange, Store, StoreError};
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the store is: the configuration file naming it (as for `fds serve`;
/// FDS__ environment variables apply on top).
#[derive(clap::Args, Clone)]
pub(crate) struct StoreArgs {
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
pub(crate) enum PackCommand {
    /// Seed an empty store with the rule files (version 1), or propose the files'
    /// differences from the live pack as a draft for someone else to publish. The
    /// files must compile and pass their fixtures.
    Import {
        #[arg(long, default_value = "rules")]
        dir: PathBuf,
        /// The feature declarations the pack is compiled against (default:
        /// `features.toml` in --dir; it is not part of the pack).
        #[arg(long)]
        features: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
        /// Who imports, as the audit log records it (the draft's author).
        #[arg(long)]
        actor: String,
        /// The draft's title.
        #[arg(long)]
        title: Option<String>,
    },
    /// Write the files of a published version (default: the live one) to a directory
    /// (rules, fixtures and lists; `features.toml` is not part of a pack).
    Export {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        version: Option<u64>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The published versions, newest first.
    Versions {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The drafts (or every change, with --all).
    Changes {
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// One change: its files as a diff against the live pack, and what it did in shadow.
    Show {
        change: i64,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Publish a draft: the live pack with the draft applied must compile and pass
    /// every fixture, and the publisher must not be the draft's author.
    Publish {
        change: i64,
        #[arg(long)]
        actor: String,
        /// The rules directory whose `features.toml` the pack is compiled against.
        #[arg(long, default_value = "rules")]
        dir: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Withdraw your own draft.
    Withdraw {
        change: i64,
        #[arg(long)]
        actor: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Draft the retirement of a rule (its rule and fixture files removed); someone
    /// else publishes it.
    Retire {
        rule: String,
        #[arg(long)]
        actor: String,
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Run a draft in shadow on live traffic (its hits counted, never acted on), or
    /// stop it with --off.
    Shadow {
        change: i64,
        #[arg(long)]
        actor: String,
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Silence a rule for one subscriber (or one entity) for a period, with a reason.
    Suppress {
        rule: String,
        /// The subscriber's number.
        #[arg(long, conflicts_with = "entity")]
        subscriber: Option<String>,
        /// Another entity, as KIND=VALUE (identity, imei, card, account, merchant, callee).
        #[arg(long)]
        entity: Option<String>,
        /// How long, e.g. 12h or 7d.
        #[arg(long = "for")]
        period: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        actor: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Lift a suppression before it expires.
    Unsuppress {
        id: i64,
        #[arg(long)]
        actor: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The suppressions in force (every one, with --all); values masked.
    Suppressions {
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

impl PackCommand {
    fn store(&self) -> &StoreArgs {
        match self {
            PackCommand::Import { store, .. }
            | PackCommand::Export { store, .. }
            | PackCommand::Versions { store }
            | PackCommand::Changes { store, .. }
            | PackCommand::Show { store, .. }
            | PackCommand::Publish { store, .. }
            | PackCommand::Withdraw { store, .. }
            | PackCommand::Retire { store, .. }
            | PackCommand::Shadow { store, .. }
            | PackCommand::Suppress { store, .. }
            | PackCommand::Unsuppress { store, .. }
            | PackCommand::Suppressions { store, .. } => store,
        }
    }
}

pub(crate) fn run(command: PackCommand) -> Result<ExitCode> {
    let config = command.store().config.clone();
    with_store(config.as_deref(), async |store| execute(store, command, chrono::Utc::now()).await)
}

/// Store refusals and pack problems are the user's to fix: printed, exit 1.
fn refused(error: RulebookError) -> Result<ExitCode> {
    match error {
        RulebookError::Store(StoreError::Refused(why)) => eprintln!("refused: {why}"),
        RulebookError::Store(other) => return Err(other.into()),
        other => eprintln!("{other}"),
    }
    Ok(ExitCode::from(1))
}

async fn live_version(store: &dyn Store) -> Result<u64> {
    Ok(store.rule_pack_versions(1).await?.first().map_or(0, |v| v.version))
}

async fn execute(
    store: &dyn Store,
    command: PackCommand,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ExitCode> {
    match command {
        PackCommand::Import { dir, features, actor, title, .. } => {
            let features = match features {
                Some(path) => setup::load_feature_file(&path)?,
                None => setup::load_features(&dir)?,
            };
            let files =
                PackFiles::read_dir(&dir).map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.display()))?;
            // Seeding checks the files itself; a draft is checked here, before it is made.
            let seeded = match rulebook::seed(store, &files, &features, &actor, now).await {
                Ok(seeded) => seeded,
                Err(e) => return refused(e),
            };
            if let Some(v1) = seeded {
                println!("seeded {}: {} files from {}", v1.label(), files.len(), dir.display());
                return Ok(ExitCode::SUCCESS);
            }
            if let Err(e) = rulebook::check(&files, &features) {
                return refused(e);
            }
            let head = live_version(store).await?;
            let live = store.rule_pack_files(head).await?;
            let changes: Vec<ChangedFile> = live
                .changes_to(&files)
                .into_iter()
                .map(|c| ChangedFile { path: c.path.to_string(), body: c.after.map(str::to_string) })
                .collect();
            if changes.is_empty() {
                println!("the live pack v{head} already holds exactly the files of {}", dir.display());
                return Ok(ExitCode::SUCCESS);
            }
            let title = title.unwrap_or_else(|| format!("import from {}", dir.display()));
            let change = match store.create_rule_change(&title, &actor, head, &changes, now).await {
                Ok(c) => c,
                Err(e) => return refused(e.into()),
            };
            let removed = changes.iter().filter(|c| c.body.is_none()).count();
            println!(
                "change {}: {} files against v{head} ({} written, {removed} removed); another person publishes it \
                 with `fds rules publish {}`",
                change.change_id,
                changes.len(),
                changes.len() - removed,
                change.change_id
            );
            Ok(ExitCode::SUCCESS)
        }
        PackCommand::Export { out, version, .. } => {
            let version = match version {
                Some(v) => v,
                None => live_version(store).await?,
            };
            let files = store.rule_pack_files(version).await?;
            if files.is_empty() {
                bail!("the store has no published version v{version}");
            }
            files.write_dir(&out).with_context(|| format!("writing {}", out.display()))?;
            println!("v{version}: {} files written to {}", files.len(), out.display());
            Ok(ExitCode::SUCCESS)
        }
        PackCommand::Versions { .. } => {
            println!(
                "{:<8} {:<20} {:<25} {:<8} {:<16} NOTE",
                "VERSION", "CONTENT", "PUBLISHED", "CHANGE", "BY"
            );
            for v in store.rule_pack_versions(1000).await? {
                println!(
                    "v{:<7} {:<20} {:<25} {:<8} {:<16} {}",
                    v.version,
                    v.content_hash,
                    v.published_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    v.change_id.map_or("-".to_string(), |c| c.to_string()),
                    v.published_by,
                    v.note
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        PackCommand::Changes { all, .. } => {
            let changes = store.rule_changes(if all { None } else { Some(ChangeState::Draft) }).await?;
            println!(
                "{:<7} {:<10} {:<7} {:<6} {:<16} {:<6} TITLE",
                "CHANGE", "STATE", "SHADOW", "BASE", "AUTHOR", "FILES"
            );
            for c in changes {
                println!(
                    "{:<7} {:<10} {:<7} v{:<5} {:<16} {:<6} {}",
                    c.change_id,
                    c.state.as_str(),
                    if c.shadow { "yes" } else { "no" },
                    c.base_version,
                    c.author,
                    c.files.len(),
                    c.title
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        PackCommand::Show { change, .. } => show(store, change).await,
        PackCommand::Publish { change, actor, dir, .. } => {
            let features = setup::load_features(&dir)?;
            match rulebook::publish(store, change, &actor, &features, now).await {
                Ok(v) => {
                    println!(
                        "published change {change} as {} by {actor}; replicas pick it up within seconds",
                        v.label()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e),
            }
        }
        PackCommand::Withdraw { change, actor, .. } => {
            match store.withdraw_rule_change(change, &actor, now).await {
                Ok(c) => {
                    println!("change {} withdrawn by {actor}", c.change_id);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e.into()),
            }
        }
        PackCommand::Retire { rule, actor, title, .. } => {
            let head = live_version(store).await?;
            let live = store.rule_pack_files(head).await?;
            let Some(path) = live.rule_path(&rule).map(str::to_string) else {
                eprintln!("rule {rule} is not in the live pack v{head}");
                return Ok(ExitCode::from(1));
            };
            let mut files = vec![ChangedFile { path: path.clone(), body: None }];
            let fixture = path.replace(RULE_SUFFIX, FIXTURE_SUFFIX);
            if live.get(&fixture).is_some() {
                files.push(ChangedFile { path: fixture, body: None });
            }
            let title = title.unwrap_or_else(|| format!("retire {rule}"));
            match store.create_rule_change(&title, &actor, head, &files, now).await {
                Ok(c) => {
                    println!(
                        "change {}: retires {rule} from v{head}; another person publishes it",
                        c.change_id
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e.into()),
            }
        }
        PackCommand::Shadow { change, actor, off, .. } => {
            match store.set_rule_change_shadow(change, &actor, !off, now).await {
                Ok(c) => {
                    let state = if c.shadow { "runs in shadow" } else { "no longer runs in shadow" };
                    println!("change {change} {state}; replicas pick it up within seconds");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e.into()),
            }
        }
        PackCommand::Suppress { rule, subscriber, entity, period, reason, actor, .. } => {
            let (kind, value) = match (subscriber, entity) {
                (Some(number), None) => (EntityKind::Subscriber, number),
                (None, Some(entity)) => match entity
                    .split_once('=')
                    .and_then(|(kind, value)| Some((EntityKind::parse(kind)?, value.to_string())))
                {
                    Some(pair) => pair,
                    None => {
                        eprintln!("--entity is KIND=VALUE with KIND one of identity, imei, card, account, merchant, callee");
                        return Ok(ExitCode::from(2));
                    }
                },
                _ => {
                    eprintln!(
                        "name what the rule is silenced for: --subscriber NUMBER or --entity KIND=VALUE"
                    );
                    return Ok(ExitCode::from(2));
                }
            };
            let period = match parse_duration(&period) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("--for: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let head = live_version(store).await?;
            if store.rule_pack_files(head).await?.rule_path(&rule).is_none() {
                eprintln!("rule {rule} is not in the live pack v{head}");
                return Ok(ExitCode::from(1));
            }
            let expires_at = now + chrono::Duration::from_std(period).context("--for is too long")?;
            let new = NewSuppression {
                rule_id: rule,
                kind,
                value,
                reason,
                created_by: actor,
                created_at: now,
                expires_at,
            };
            match store.add_suppression(&new).await {
                Ok(s) => {
                    println!(
                        "suppression {}: {} silenced for {} {} until {}",
                        s.suppression_id,
                        s.rule_id,
                        s.kind.as_str(),
                        mask(&s.value),
                        s.expires_at.format("%Y-%m-%d %H:%M UTC")
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e.into()),
            }
        }
        PackCommand::Unsuppress { id, actor, reason, .. } => {
            match store.lift_suppression(id, &actor, &reason, now).await? {
                Some(s) => {
                    println!("suppression {} of {} lifted by {actor}", s.suppression_id, s.rule_id);
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    eprintln!("there is no unlifted suppression {id}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        PackCommand::Suppressions { all, .. } => {
            let list = store.suppressions(if all { None } else { Some(now) }).await?;
            println!(
                "{:<6} {:<24} {:<11} {:<16} {:<18} {:<12} REASON",
                "ID", "RULE", "KIND", "VALUE", "UNTIL", "BY"
            );
            for s in list {
                let until = match (&s.lifted_by, s.lifted_at) {
                    (Some(_), Some(at)) => format!("lifted {}", at.format("%m-%d %H:%M")),
                    _ => s.expires_at.format("%Y-%m-%d %H:%M").to_string(),
                };
                println!(
                    "{:<6} {:<24} {:<11} {:<16} {:<18} {:<12} {}",
                    s.suppression_id,
                    s.rule_id,
                    s.kind.as_str(),
                    mask(&s.value),
                    until,
                    s.created_by,
                    s.reason
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn show(store: &dyn Store, change_id: i64) -> Result<ExitCode> {
    let Some(change) = store.rule_change(change_id).await? else {
        eprintln!("there is no change {change_id}");
        return Ok(ExitCode::from(1));
    };
    let RuleChange { title, author, state, shadow, base_version, .. } = &change;
    println!("change {change_id}: {title}");
    println!(
        "author {author}, {} against v{base_version}{}",
        state.as_str(),
        if *shadow { ", in shadow" } else { "" }
    );
    let live = store.rule_pack_files(live_version(store).await?).await?;
    let after = change.apply_to(&live).map_err(anyhow::Error::msg)?;
    for c in live.changes_to(&after) {
        print!("{}", c.unified_diff());
    }
    let tallies = store.shadow_tallies(change_id).await?;
    if let Some(total) = tallies.iter().find(|t| t.rule_id.is_empty()) {
        println!(
            "shadow: {} events evaluated, {} decisions would change ({:.2} %)",
            total.evaluated,
            total.changed,
            100.0 * total.changed as f64 / total.evaluated.max(1) as f64
        );
        for t in tallies.iter().filter(|t| !t.rule_id.is_empty()) {
            println!(
                "  {:<28} hits {:>8} ({:.3} %)  overlap with live review/block {:>8}",
                t.rule_id,
                t.hits,
                100.0 * t.hits as f64 / total.evaluated.max(1) as f64,
                t.overlap
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A value with all but its last four characters hidden.
fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let keep = chars.len().min(4);
    let hidden = chars.len() - keep;
    format!("{}{}", "*".repeat(hidden), chars[hidden..].iter().collect::<String>())
}
