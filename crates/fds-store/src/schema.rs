//! The guard run at open, before migrating: a database that has applied a
//! migration this build does not know was migrated by a newer FDS, and this build
//! must not write into a schema it does not understand.

use crate::StoreError;
use sqlx::migrate::Migrator;

/// Fails with [`StoreError::SchemaTooNew`] when `applied` (the versions recorded in
/// the database's `_sqlx_migrations`) holds a version `migrator` does not know.
pub(crate) fn refuse_unknown(applied: &[i64], migrator: &Migrator) -> Result<(), StoreError> {
    let known = |version: i64| migrator.iter().any(|m| m.version == version);
    match applied.iter().copied().filter(|v| !known(*v)).max() {
        Some(unknown) => Err(StoreError::SchemaTooNew {
            unknown,
            newest_known: migrator.iter().map(|m| m.version).max().unwrap_or_default(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");

    #[test]
    fn a_database_with_only_known_migrations_passes() {
        refuse_unknown(&[], &SQLITE).unwrap();
        refuse_unknown(&[1], &SQLITE).unwrap();
    }

    #[test]
    fn a_database_with_a_migration_this_build_does_not_know_is_refused() {
        let err = refuse_unknown(&[1, 20991231000000, 3], &SQLITE).unwrap_err();
        assert!(matches!(err, StoreError::SchemaTooNew { unknown: 20991231000000, newest_known: 10 }));
        assert_eq!(
            err.to_string(),
            "the database schema has migration 20991231000000, which this build does not know \
             (it knows up to 10): upgrade fds before opening this database"
        );
    }
}
