//! `fds users`: creates and lists the analyst console's accounts on the configured
//! store (the first admin comes from here). Passwords are read from standard input
//! (`--password-stdin`) or generated and printed once; the store keeps only their
//! argon2id hash, and the creation is audited (actor `cli`).

use crate::config::with_store;
use anyhow::{Context, Result};
use clap::Subcommand;
use fds_store::{Language, NewUser, Role, Secret, Store};
use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub(crate) enum UsersCommand {
    /// Create a console account. Admins and publishers enrol a TOTP second factor
    /// at their first login.
    Add {
        #[arg(long)]
        config: Option<PathBuf>,
        /// The login name (letters, digits, '.', '_', '-', '@').
        #[arg(long)]
        login: String,
        /// A role: viewer, analyst, rule_builder, publisher, admin, auditor (repeat
        /// the flag for several).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// The name the console shows (default: the login).
        #[arg(long)]
        name: Option<String>,
        /// The console language: ko (default) or en.
        #[arg(long, default_value = "ko")]
        language: String,
        /// Read the password from the first line of standard input instead of
        /// generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts: login, roles, state.
    List {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub(crate) fn run(command: UsersCommand) -> Result<ExitCode> {
    match command {
        UsersCommand::Add { config, login, roles, name, language, password_stdin } => {
            let mut problems = Vec::new();
            let roles = parse_roles(&roles, &mut problems);
            let language = Language::parse(&language).unwrap_or_else(|| {
                problems.push(format!("--language: must be ko or en, got {language:?}"));
                Language::Ko
            });
            if !problems.is_empty() {
                problems.iter().for_each(|p| eprintln!("{p}"));
                return Ok(ExitCode::from(2));
            }
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (generate_password(), true)
            };
            let hash = match fds_web::console::hash_password(&password) {
                Ok(hash) => hash,
                Err(e) => {
                    eprintln!("the password: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let user = NewUser {
                display_name: name.unwrap_or_else(|| login.clone()),
                login,
                roles,
                password_hash: Secret::new(hash),
                language,
            };
            with_store(config.as_deref(), async |store| {
                create(store, &user, generated.then_some(password.as_str())).await
            })
        }
        UsersCommand::List { config } => with_store(config.as_deref(), async |store| list(store).await),
    }
}

fn parse_roles(names: &[String], problems: &mut Vec<String>) -> BTreeSet<Role> {
    let mut roles = BTreeSet::new();
    for name in names.iter().flat_map(|n| n.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
        match name.parse::<Role>() {
            Ok(role) => {
                roles.insert(role);
            }
            Err(e) => problems.push(format!("--role: {e}")),
        }
    }
    if roles.is_empty() && problems.is_empty() {
        problems.push("--role: at least one role is required".into());
    }
    roles
}

/// A random password for a new account, shown once.
pub(crate) fn generate_password() -> String {
    fds_web::console::generate_password()
}

fn role_names(roles: &BTreeSet<Role>) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

async fn create(store: &dyn Store, user: &NewUser, generated: Option<&str>) -> Result<ExitCode> {
    match store.create_user(user, "cli", chrono::Utc::now()).await {
        Ok(created) => {
            println!("created console user {} ({})", created.login, role_names(&created.roles));
            if let Some(password) = generated {
                println!("password (shown once): {password}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(fds_store::StoreError::Refused(why)) => {
            eprintln!("refused: {why}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e).context("creating the user"),
    }
}

async fn list(store: &dyn Store) -> Result<ExitCode> {
    let now = chrono::Utc::now();
    for user in store.users().await.context("listing the users")? {
        let state = if user.disabled {
            "disabled"
        } else if user.locked_at(now) {
            "locked"
        } else {
            "active"
        };
        let totp = if user.totp_enabled { "totp" } else { "-" };
        println!("{}\t{}\t{state}\t{totp}\t{}", user.login, role_names(&user.roles), user.display_name);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_repeated_or_comma_separated_and_unknown_ones_are_reported() {
        let mut problems = Vec::new();
        let roles = parse_roles(&["admin".into(), "viewer,analyst".into()], &mut problems);
        assert!(problems.is_empty());
        assert_eq!(roles, BTreeSet::from([Role::Admin, Role::Viewer, Role::Analyst]));
        parse_roles(&["root".into()], &mut problems);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("unknown role \"root\""), "{problems:?}");
    }
}
