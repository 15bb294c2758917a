//! The command line: `shelfmark [--db PATH]` opens the window; the subcommands are headless
//! tools for admins, tests and benchmarks. Errors are printed once, with their cause chain, and
//! turn into a non-zero exit.

mod bench;
mod catalog;
mod load;
mod scale;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::db::{Durability, Library, OpenOptions, check};

pub use bench::BenchArgs;
pub use load::{LoadArgs, LoadSummary, Mode};

/// Shelfmark: books, copies and collections, offline, in one library file.
#[derive(Debug, Parser)]
#[command(name = "shelfmark", version, about)]
pub struct Args {
    /// The library file. Default: `library.sqlite3` in the platform data directory
    /// (on Linux `~/.local/share/shelfmark/`).
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// `full`: an acknowledged save survives power loss (fsync per commit). `normal`: survives a
    /// crash of the program; faster on slow disks.
    #[arg(long, global = true, value_enum, default_value_t = Durability::Full)]
    pub durability: Durability,

    /// Open the window on the library for reading only (to look at a backup, say).
    #[arg(long)]
    pub read_only: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the file: SQLite integrity, foreign keys, and that no value that must be unique
    /// among live records is held twice. Exits non-zero on any problem.
    Check,
    /// Generate save load through the same executor as the window (for tests and benchmarks).
    Load(LoadArgs),
    /// Measure save throughput and latency against raw SQLite baselines, on scratch files
    /// beside the library (the library itself is not touched).
    Bench(BenchArgs),
    /// Import a CSV file (columns by header: title, authors, isbn, publisher, year, barcode,
    /// collection, shelf_mark, note). All or nothing: every bad line is reported as
    /// `file:line: message` and nothing is imported, unless --skip-invalid.
    Import {
        file: PathBuf,
        /// Import the good lines even if some are bad.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Export live books, copies and placements to CSV (the import layout).
    Export {
        /// Only this collection's placements.
        #[arg(long)]
        collection: Option<String>,
        file: PathBuf,
    },
    /// Copy the library to a new file with SQLite's online backup API (safe while others keep
    /// saving). The copy is checked before it is put in place. Restore: open the copy with --db.
    Backup { out: PathBuf },
    /// Fill the library with a generated, realistic catalog (for benchmarks).
    Seed(scale::SeedArgs),
    /// Measure the catalog at scale: first data, search, scrolling, import, export, memory.
    BenchCatalog(scale::BenchCatalogArgs),
    /// Place copies in a collection by barcode, as a scanner at the collection editor would.
    /// Prints what happened to each; exits non-zero if any was not placed.
    Add {
        /// The collection's name (any case).
        #[arg(long)]
        collection: String,
        /// Barcodes of live copies.
        #[arg(required = true)]
        barcodes: Vec<String>,
    },
    /// Diagnostic: hold the library's write lock (as another program might), to see how
    /// Shelfmark waits. Prints `locked <unix µs>` and `released <unix µs>`.
    #[command(hide = true)]
    HoldWriteLock {
        /// How long to hold the lock.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Also change the file (a row written and removed again), so other processes see a
        /// commit.
        #[arg(long)]
        touch: bool,
    },
}

/// Where the library lives when `--db` is not given.
pub fn default_library_path() -> PathBuf {
    directories::ProjectDirs::from("org", "Shelfmark", "shelfmark").map_or_else(
        || PathBuf::from("library.sqlite3"),
        |dirs| dirs.data_dir().join("library.sqlite3"),
    )
}

/// The library path from the arguments, creating the default folder if that is the one used.
pub fn library_path(args: &Args) -> std::io::Result<PathBuf> {
    if let Some(p) = &args.db {
        return Ok(p.clone());
    }
    let path = default_library_path();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    Ok(path)
}

/// Runs a headless subcommand.
pub fn run(args: &Args, command: &Command) -> ExitCode {
    let result = library_path(args)
        .map_err(|e| format!("cannot create the library folder: {e}"))
        .and_then(|path| match command {
            Command::Check => run_check(&path, args.durability),
            Command::Load(load) => load::run(&path, args.durability, load),
            Command::Bench(bench) => bench::run(&path, args.durability, bench),
            Command::HoldWriteLock { seconds, touch } => hold_write_lock(&path, *seconds, *touch),
            Command::Import { file, skip_invalid } => {
                catalog::import(&path, args.durability, file, *skip_invalid)
            }
            Command::Export { collection, file } => {
                catalog::export(&path, args.durability, collection.as_deref(), file)
            }
            Command::Backup { out } => catalog::backup(&path, args.durability, out),
            Command::Seed(seed) => scale::seed(&path, args.durability, seed),
            Command::BenchCatalog(bench) => scale::bench_catalog(&path, args.durability, bench),
            Command::Add {
                collection,
                barcodes,
            } => add(&path, args.durability, collection, barcodes),
        });
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("shelfmark: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Opens a library for a subcommand, turning the error into its message.
pub(crate) fn open(
    path: &std::path::Path,
    durability: Durability,
    pool_size: u32,
) -> Result<Library, String> {
    Library::open(
        path,
        &OpenOptions {
            durability,
            pool_size,
            read_only: false,
        },
    )
    .map_err(|e| crate::db::chain(&e))
}

fn run_check(path: &std::path::Path, durability: Durability) -> Result<ExitCode, String> {
    let library = match Library::open(
        path,
        &OpenOptions {
            durability,
            pool_size: 2,
            read_only: false,
        },
    ) {
        Ok(library) => library,
        Err(crate::db::OpenError::Damaged { detail, .. }) => {
            // Say what SQLite itself finds, if it can read the file at all; change nothing.
            println!("{}: damaged: {detail}", path.display());
            // Immutable: no locks, no -wal or -shm made beside a damaged file.
            let flags =
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
            match rusqlite::Connection::open_with_flags(crate::db::immutable_uri(path), flags)
                .and_then(|conn| check(&conn))
            {
                Ok(report) => println!("{report}"),
                Err(e) => println!("SQLite cannot read it: {e}"),
            }
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(crate::db::chain(&e)),
    };
    let conn = library
        .connection()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let report = check(&conn).map_err(|e| format!("check of {} failed: {e}", path.display()))?;
    println!("{}: {report}", path.display());
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn unix_micros() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default()
}

/// Holds `BEGIN IMMEDIATE` on the library for `seconds`, as another program might.
fn hold_write_lock(path: &std::path::Path, seconds: f64, touch: bool) -> Result<ExitCode, String> {
    use std::io::Write as _;
    drop(open(path, Durability::Full, 2)?); // refuse what Shelfmark would refuse
    let err = |e: rusqlite::Error| format!("{}: {e}", path.display());
    let conn = rusqlite::Connection::open(path).map_err(err)?;
    conn.busy_timeout(crate::db::BUSY_TIMEOUT).map_err(err)?;
    conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
    if touch {
        conn.execute_batch(
            "INSERT INTO collections (name, name_key, created_at, updated_at)
                 VALUES ('lock probe', ' lock probe', '', '');
             DELETE FROM collections WHERE name_key = ' lock probe';",
        )
        .map_err(err)?;
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "locked {}", unix_micros());
    let _ = out.flush();
    std::thread::sleep(std::time::Duration::from_secs_f64(seconds.max(0.0)));
    conn.execute_batch("COMMIT").map_err(err)?;
    let _ = writeln!(out, "released {}", unix_micros());
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}

/// `shelfmark add`: places copies by barcode through the save executor.
fn add(
    path: &std::path::Path,
    durability: Durability,
    collection: &str,
    barcodes: &[String],
) -> Result<ExitCode, String> {
    use crate::model::{Op, Outcome};
    use crate::tasks::{ChangeFeed, EditorId, Event, Mailbox, SaveTasks};

    let library = open(path, durability, 3)?;
    let target = {
        let conn = library.connection().map_err(|e| e.to_string())?;
        crate::db::read::live_collection_by_name(&conn, collection)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("there is no collection named “{collection}”"))?
    };
    let tasks = SaveTasks::start(&library, ChangeFeed::new()).map_err(|e| e.to_string())?;
    let (mailbox, replies) = Mailbox::new();
    let mut all_placed = true;
    let tz = jiff::tz::TimeZone::system();
    for barcode in barcodes {
        tasks
            .submit(
                EditorId(0),
                Op::PlaceBarcode {
                    collection: target.id,
                    barcode: barcode.clone(),
                },
                &mailbox,
            )
            .map_err(|e| e.to_string())?;
        let outcome = loop {
            match replies
                .recv()
                .map_err(|_| "the save executor stopped".to_owned())?
                .event
            {
                Event::Waiting { .. } => {
                    eprintln!("{barcode}: {}", crate::ui::widgets::WAITING_TEXT);
                }
                Event::Done(o) => break o,
            }
        };
        match outcome {
            Outcome::Saved { .. } => println!("{barcode}: added to {}", target.name),
            other => {
                all_placed = false;
                let text = crate::ui::widgets::Problem::describe(other, &tz);
                println!("{barcode}: not added: {text}");
            }
        }
    }
    Ok(if all_placed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
