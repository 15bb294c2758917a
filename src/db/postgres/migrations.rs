//! Schema versions of a shared library. The `shelfmark_library` row holds the application and the
//! version; [`MIGRATIONS`] is append-only (never edit a shipped entry, add the next one). Setting
//! up and upgrading run in one transaction under an advisory lock, so two computers opening a new
//! database at once cannot both migrate it: the second waits, then sees the new version and does
//! nothing. DDL is transactional on PostgreSQL, so a failed migration leaves nothing behind.

use postgres::Client;

use super::config::ServerAddress;
use crate::db::OpenError;

/// What `shelfmark_library.application` says.
pub const APPLICATION: &str = "shelfmark";

/// Entry `i` brings a database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("schema/0001_initial.sql"),
    include_str!("schema/0002_source_records.sql"),
    include_str!("schema/0003_placement_orders.sql"),
    include_str!("schema/0004_collection_counts.sql"),
];

/// The schema version this build writes.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock that serialises setting up and upgrading ("SHLFMIGR").
const MIGRATION_LOCK: i64 = 0x5348_4C46_4D49_4752;

/// What a database holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// Nothing at all: it can be set up.
    Empty,
    /// A Shelfmark library at this version.
    Library(i64),
    /// Something else, in words.
    Other(String),
}

/// Looks at what the database holds, changing nothing.
pub(crate) fn inspect(client: &mut impl postgres::GenericClient) -> Result<Found, postgres::Error> {
    let row = client.query_one(
        "SELECT to_regclass('shelfmark_library') IS NOT NULL,
                (SELECT count(*) FROM pg_catalog.pg_class c
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
                    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%')",
        &[],
    )?;
    let (ours, relations): (bool, i64) = (row.get(0), row.get(1));
    if !ours {
        return Ok(if relations == 0 {
            Found::Empty
        } else {
            Found::Other(format!(
                "the database holds {relations} other table{}",
                if relations == 1 { "" } else { "s" }
            ))
        });
    }
    let row = client.query_opt(
        "SELECT application, version FROM shelfmark_library WHERE one",
        &[],
    )?;
    Ok(match row {
        None => Found::Other("its shelfmark_library table is empty".to_owned()),
        Some(r) => {
            let application: String = r.get(0);
            if application == APPLICATION {
                Found::Library(i64::from(r.get::<_, i32>(1)))
            } else {
                Found::Other(format!("it belongs to {application:?}"))
            }
        }
    })
}

/// Sets up an empty database (if `set_up`) or upgrades an older library, under the migration
/// lock; refuses anything else untouched.
pub(crate) fn migrate(
    client: &mut Client,
    address: &ServerAddress,
    set_up: bool,
) -> Result<(), OpenError> {
    let server = address.display_name();
    let fail = |e: postgres::Error| super::open_error(address, &e);
    let mut tx = client.transaction().map_err(fail)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(fail)?;
    let from = match inspect(&mut tx).map_err(fail)? {
        Found::Empty if set_up => 0,
        Found::Empty => return Err(OpenError::NotSetUp { server }),
        Found::Other(reason) => return Err(OpenError::ServerNotALibrary { server, reason }),
        Found::Library(v) if v > LATEST_VERSION => {
            return Err(OpenError::ServerNewerSchema {
                server,
                found: v,
                supported: LATEST_VERSION,
            });
        }
        Found::Library(v) if v == LATEST_VERSION => return Ok(()),
        Found::Library(v) => v,
    };
    for sql in &MIGRATIONS[from as usize..] {
        tx.batch_execute(sql).map_err(fail)?;
    }
    let version = LATEST_VERSION as i32;
    tx.execute(
        "INSERT INTO shelfmark_library (one, application, version) VALUES (true, $1, $2)
         ON CONFLICT (one) DO UPDATE SET version = excluded.version",
        &[&APPLICATION, &version],
    )
    .map_err(fail)?;
    tx.commit().map_err(fail)
}
