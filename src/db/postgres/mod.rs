//! A shared library on a PostgreSQL server: the same tables, rules and guarantees as a file, with
//! the server as the arbiter. Opening it safely (a database holding anything else is refused
//! untouched; an empty one is set up only when asked), the connection pool, the writer's
//! batches under the library's advisory lock with request ids for exactly-once saves, the change
//! log that tells every computer what changed, bulk loads, checks and backups to a file.
//!
//! Architecture invariant: every write transaction takes `pg_advisory_xact_lock(WRITE_LOCK)` as
//! its first statement — the server-side analogue of a file's `BEGIN IMMEDIATE` — so group
//! commits never deadlock on each other's index entries, and change-log sequence numbers are
//! handed out in commit order (`tests/contract.rs`, `tests/server.rs`).

mod backup;
mod batch;
mod bulk;
mod check;
pub(crate) mod config;
mod copy_in;
mod feed;
mod import;
mod migrations;
mod reads;
mod session;

use std::sync::Arc;
use std::time::Duration;

use postgres::error::SqlState;
use postgres_openssl::MakeTlsConnector;
use r2d2::ManageConnection;
use r2d2_postgres::PostgresConnectionManager;

pub(crate) use batch::{ServerBatchWriter, is_disconnect};
pub use config::{AddressError, ServerAddress, TlsMode};
pub(crate) use feed::ChangeLog as ChangeLogSource;
pub use migrations::LATEST_VERSION;
pub(crate) use session::{PgConn, PgSession, abandon};

use super::{DbError, OpenError, OpenOptions};

/// The advisory lock every write transaction takes first ("SHLFWRIT").
pub(crate) const WRITE_LOCK: i64 = 0x5348_4C46_5752_4954;

/// Makes pooled connections, each with its own prepared statements.
pub(crate) struct Manager(PostgresConnectionManager<MakeTlsConnector>);

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Manager")
    }
}

impl ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        PgConn::new(self.0.connect()?)
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        self.0.has_broken(&mut conn.client)
    }
}

type Pool = r2d2::Pool<Manager>;

/// An open shared library. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct ServerLibrary {
    inner: Arc<Inner>,
}

struct Inner {
    address: ServerAddress,
    /// For the writer's and the listener's own connections (the password is in here, never
    /// anywhere it could be shown or stored).
    config: postgres::Config,
    tls: MakeTlsConnector,
    pool: Pool,
    read_only: Option<String>,
    workstation: parking_lot::RwLock<Arc<str>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLibrary")
            .field("address", &self.address)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

/// The error a user sees when the server refused or could not be reached.
pub(crate) fn open_error(address: &ServerAddress, e: &postgres::Error) -> OpenError {
    let server = address.display_name();
    let user = address.user.clone();
    if let Some(db) = e.as_db_error() {
        let reason = match *db.code() {
            SqlState::INVALID_PASSWORD => {
                format!("the password for {user} was not accepted")
            }
            SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
                format!("{user} may not connect: {}", db.message())
            }
            SqlState::INVALID_CATALOG_NAME => format!(
                "there is no database {} on {}",
                address.database, address.host
            ),
            SqlState::INSUFFICIENT_PRIVILEGE => {
                format!("{user} has no permission: {}", db.message())
            }
            SqlState::CANNOT_CONNECT_NOW => {
                return OpenError::Unreachable {
                    server,
                    detail: "the server is starting up or shutting down".to_owned(),
                };
            }
            _ => db.message().to_owned(),
        };
        return OpenError::Refused { server, reason };
    }
    let detail = super::chain(e);
    if detail.contains("password missing") {
        return OpenError::PasswordNeeded { server, user };
    }
    OpenError::Unreachable {
        server,
        detail: unreachable_words(address, e).unwrap_or(detail),
    }
}

/// Why nothing answered, in a librarian's words, where the cause is one of the usual ones.
fn unreachable_words(address: &ServerAddress, e: &postgres::Error) -> Option<String> {
    use std::io::ErrorKind;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            let place = format!("{}, port {}", address.host, address.port);
            return Some(match io.kind() {
                ErrorKind::ConnectionRefused => format!(
                    "nothing answers at {place}. Is the server running, and are the server and port right?"
                ),
                ErrorKind::TimedOut => format!(
                    "{place} did not answer within {} seconds. Is this computer on the network?",
                    config::CONNECT_TIMEOUT.as_secs()
                ),
                ErrorKind::NotFound => format!(
                    "no computer named {} was found. Is the server's name right?",
                    address.host
                ),
                ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable => format!(
                    "this computer has no way to {}. Is it on the network?",
                    address.host
                ),
                _ if io.to_string().contains("lookup address") => format!(
                    "no computer named {} was found. Is the server's name right?",
                    address.host
                ),
                _ => return None,
            });
        }
        source = s.source();
    }
    let text = e.to_string();
    if text.contains("timed out") {
        return Some(format!(
            "{}, port {} did not answer within {} seconds. Is this computer on the network?",
            address.host,
            address.port,
            config::CONNECT_TIMEOUT.as_secs()
        ));
    }
    None
}

impl ServerLibrary {
    /// Opens the shared library at `address`. `password` is the one typed in the window; if
    /// none, the one libpq would find (`PGPASSWORD`, `~/.pgpass`). An empty database is set up
    /// only if `options.set_up`; a database holding anything else is refused untouched.
    pub(crate) fn open(
        address: &ServerAddress,
        password: Option<&str>,
        options: &OpenOptions,
    ) -> Result<ServerLibrary, OpenError> {
        let server = address.display_name();
        let (config, tls) = Self::settings(address, password, options)?;
        let mut client = config
            .connect(tls.clone())
            .map_err(|e| open_error(address, &e))?;
        let read_only = why_read_only(&mut client).map_err(|e| open_error(address, &e))?;
        match migrations::inspect(&mut client).map_err(|e| open_error(address, &e))? {
            migrations::Found::Library(v) if v == LATEST_VERSION => {}
            migrations::Found::Library(v) if v < LATEST_VERSION && read_only.is_some() => {
                return Err(OpenError::ServerNeedsUpgrade {
                    server,
                    found: v,
                    supported: LATEST_VERSION,
                    why: read_only.unwrap_or_default(),
                });
            }
            _ => migrations::migrate(&mut client, address, options.set_up && !options.read_only)?,
        }
        drop(client);
        Self::with_pool(address, config, tls, read_only, options, true)
    }

    /// The shared library at `address` while its server cannot be reached (this computer works
    /// on its replica): nothing is asked of the server until it answers again, and then
    /// [`verify`](Self::verify) says whether this build can work with it.
    pub(crate) fn open_offline(
        address: &ServerAddress,
        password: Option<&str>,
        options: &OpenOptions,
    ) -> Result<ServerLibrary, OpenError> {
        let (config, tls) = Self::settings(address, password, options)?;
        // `with_pool` says why, if it was opened read-only.
        Self::with_pool(address, config, tls, None, options, false)
    }

    /// How this computer connects to the server at `address`: the password the window gave,
    /// else the one libpq would find; the TLS the address asks for.
    fn settings(
        address: &ServerAddress,
        password: Option<&str>,
        options: &OpenOptions,
    ) -> Result<(postgres::Config, MakeTlsConnector), OpenError> {
        let password = password
            .map(str::to_owned)
            .or_else(|| address.stored_password());
        let application = format!("shelfmark {}", options.workstation);
        let config = address.config(password.as_deref(), &application);
        let tls = address.tls_connector().map_err(|e| OpenError::Refused {
            server: address.display_name(),
            reason: format!("TLS cannot be set up: {e}"),
        })?;
        Ok((config, tls))
    }

    fn with_pool(
        address: &ServerAddress,
        config: postgres::Config,
        tls: MakeTlsConnector,
        read_only: Option<String>,
        options: &OpenOptions,
        reachable: bool,
    ) -> Result<ServerLibrary, OpenError> {
        let server = address.display_name();
        let manager = Manager(PostgresConnectionManager::new(config.clone(), tls.clone()));
        let builder = r2d2::Pool::builder()
            .max_size(options.pool_size.max(2))
            .min_idle(Some(u32::from(reachable)))
            // A connection the server dropped (a restart) is found out before it is used.
            .test_on_check_out(true)
            .connection_timeout(config::CONNECT_TIMEOUT + Duration::from_secs(1));
        let pool = if reachable {
            builder.build(manager).map_err(|e| OpenError::Unreachable {
                server: server.clone(),
                detail: super::chain(&e),
            })?
        } else {
            builder.build_unchecked(manager)
        };
        let read_only = if options.read_only {
            Some("it was opened read-only".to_owned())
        } else {
            read_only
        };
        Ok(ServerLibrary {
            inner: Arc::new(Inner {
                address: address.clone(),
                config,
                tls,
                pool,
                read_only,
                workstation: parking_lot::RwLock::new(Arc::from(options.workstation.as_str())),
            }),
        })
    }

    /// On a connection to the server that answers again: whether this build can work with the
    /// library there (the same schema), in words if not.
    pub(crate) fn verify(conn: &mut PgConn) -> Result<Result<(), String>, DbError> {
        Ok(match migrations::inspect(&mut conn.client)? {
            migrations::Found::Library(v) if v == LATEST_VERSION => Ok(()),
            migrations::Found::Library(v) => Err(format!(
                "the shared library has schema version {v}; this build works with {LATEST_VERSION}"
            )),
            _ => Err("the database on the server is no longer this library".to_owned()),
        })
    }

    pub(crate) fn address(&self) -> &ServerAddress {
        &self.inner.address
    }

    pub(crate) fn read_only(&self) -> Option<&str> {
        self.inner.read_only.as_deref()
    }

    pub(crate) fn workstation(&self) -> Arc<str> {
        Arc::clone(&self.inner.workstation.read())
    }

    /// Records saves from now on under `name`.
    pub(crate) fn set_workstation(&self, name: &str) {
        *self.inner.workstation.write() = Arc::from(name);
    }

    /// A pooled connection. Never on the UI thread.
    fn pooled(&self) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        Ok(self.inner.pool.get()?)
    }

    /// A connection of its own (the writer's, the listener's).
    pub(crate) fn connect(&self) -> Result<PgConn, DbError> {
        Ok(PgConn::new(
            self.inner.config.connect(self.inner.tls.clone())?,
        )?)
    }

    /// A connection of its own, given up after `limit` (the handshake included: on a dead line
    /// the TCP connect may succeed and the server's answer never come). The attempt goes on in
    /// the background until the line gives up, and is then dropped.
    #[allow(
        clippy::disallowed_methods,
        reason = "a detached attempt: given up on after `limit`, it ends when the line does"
    )]
    pub(crate) fn connect_within(&self, limit: Duration) -> Result<PgConn, DbError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (config, tls) = (self.inner.config.clone(), self.inner.tls.clone());
        std::thread::Builder::new()
            .name("shelfmark-connect".to_owned())
            .spawn(move || {
                let _ = tx.send(config.connect(tls));
            })
            .map_err(|e| DbError::Io {
                path: std::path::PathBuf::from(self.inner.address.display_name()),
                source: e,
            })?;
        match rx.recv_timeout(limit) {
            Ok(client) => Ok(PgConn::new(client?)?),
            Err(_) => Err(DbError::Offline),
        }
    }

    pub(crate) fn reads(&self) -> Result<reads::ServerReads, DbError> {
        Ok(crate::db::engine::reads::EngineReads(self.pooled()?))
    }

    pub(crate) fn batch_writer(&self) -> ServerBatchWriter {
        ServerBatchWriter::new(self.clone())
    }

    pub(crate) fn change_source(&self, interval: Duration) -> feed::ChangeLog {
        feed::ChangeLog::new(self.clone(), interval)
    }

    pub(crate) fn bulk(&self) -> Result<bulk::ServerBulk, DbError> {
        bulk::ServerBulk::begin(self.connect()?, &self.workstation())
    }

    pub(crate) fn backup(
        &self,
        out: &std::path::Path,
    ) -> Result<super::CheckReport, super::BackupError> {
        backup::backup(self, out)
    }

    /// Copies a library (read through `from`, one consistent moment) into this one, which must
    /// hold nothing yet; checks the copy row for row before it commits.
    pub(crate) fn copy_from<S: super::engine::Session>(
        &self,
        from: &S,
        progress: &mut dyn FnMut(super::engine::copy::CopyProgress),
    ) -> Result<super::engine::copy::CopyCounts, super::CopyError> {
        backup::copy_from(self, from, progress)
    }
}

/// Why this connection may only read, if it may: a standby server, or a role without the right
/// to write the library's tables.
fn why_read_only(client: &mut postgres::Client) -> Result<Option<String>, postgres::Error> {
    let row = client.query_one(
        "SELECT pg_is_in_recovery(),
                current_setting('default_transaction_read_only') = 'on',
                to_regclass('placements') IS NOT NULL
                  AND NOT (has_table_privilege('placements', 'INSERT')
                           AND has_table_privilege('placements', 'UPDATE')
                           AND has_table_privilege('placements', 'DELETE')),
                current_user",
        &[],
    )?;
    let user: String = row.get(3);
    Ok(if row.get::<_, bool>(0) {
        Some("the server is a read-only standby".to_owned())
    } else if row.get::<_, bool>(1) || row.get::<_, bool>(2) {
        Some(format!(
            "the server lets {user} read this library, not change it"
        ))
    } else {
        None
    })
}
