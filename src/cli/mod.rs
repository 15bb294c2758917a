//! The command line of the `shelfmark` binary: no subcommand opens the window; the subcommands
//! are the librarian's and admin's headless tools (`check`, `import`, `export`, `backup`,
//! `add`, and for shared libraries `init` and `copy-to`). The load generator and the
//! benchmarks live in the `shelfmark-bench` binary.
//!
//! Errors are handled once, here: each subcommand returns a [`CliError`], printed with its
//! cause chain, and turned into a non-zero exit.

mod catalog;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::db::{
    AddressError, CopyError, DbError, Durability, Library, Location, OpenError, OpenOptions, chain,
    check_damaged_file, default_library_path,
};
use crate::model::{Op, Outcome, Problem};
use crate::tasks::{ChangeFeed, EditorId, Event, Mailbox, SaveTasks, SubmitError};
use crate::transfer::TransferError;

/// Shelfmark: books, copies and collections, offline, in one library file.
#[derive(Debug, Parser)]
#[command(name = "shelfmark", version, about)]
pub struct Args {
    /// The library: a file (default: `library.sqlite3` in the platform data directory, on
    /// Linux `~/.local/share/shelfmark/`), or a shared library on a PostgreSQL server,
    /// `postgres://USER@HOST[:PORT]/DBNAME` (the password from PGPASSWORD or ~/.pgpass).
    #[arg(long, global = true, value_name = "PATH|postgres://…")]
    pub db: Option<String>,

    /// `full`: an acknowledged save survives power loss (fsync per commit). `normal`: survives a
    /// crash of the program; faster on slow disks.
    #[arg(long, global = true, value_enum, default_value_t = DurabilityArg::Full)]
    pub durability: DurabilityArg,

    /// Open the window on the library for reading only (to look at a backup, say).
    #[arg(long)]
    pub read_only: bool,

    /// Where this computer's Shelfmark keeps what is its own (default: the platform data
    /// directory, on Linux `~/.local/share/shelfmark/`).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--durability` as the command line spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DurabilityArg {
    Full,
    Normal,
}

impl From<DurabilityArg> for Durability {
    fn from(d: DurabilityArg) -> Durability {
        match d {
            DurabilityArg::Full => Durability::Full,
            DurabilityArg::Normal => Durability::Normal,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the file: SQLite integrity, foreign keys, and that no value that must be unique
    /// among live records is held twice. Exits non-zero on any problem.
    Check,
    /// Import a file: MARC 21 (ISO 2709 or MARCXML), or a spreadsheet (Shelfmark's layout
    /// with columns title, authors, isbn, publisher, year, barcode, collection, shelf_mark,
    /// note; the exports of Goodreads, LibraryThing, Libib and calibre; any other with --map),
    /// told apart by content. All or nothing: every bad line or record is reported (`file:line:
    /// message`, `file: record N (byte X): message`) and nothing is imported, unless
    /// --skip-invalid.
    Import {
        file: PathBuf,
        /// Import the good lines (or records) even if some are bad.
        #[arg(long)]
        skip_invalid: bool,
        /// A spreadsheet's encoding when it is not UTF-8 or UTF-16 (which are recognised):
        /// windows-1252 or latin-1. Never guessed silently.
        #[arg(long, value_parser = parse_encoding)]
        encoding: Option<crate::transfer::sheets::Encoding>,
        /// A spreadsheet's separator (`,` `;` `tab` `|`), if not the one detected.
        #[arg(long, value_parser = parse_separator)]
        separator: Option<crate::transfer::sheets::Separator>,
        /// Which column is which: `title=Title,isbn=ISBN13,barcode=Item code` (fields: title,
        /// authors, isbn, publisher, year, barcode, collection, shelf_mark, note).
        #[arg(long)]
        map: Option<String>,
        /// MARC: put every holding in this collection, instead of the branch or location each
        /// names.
        #[arg(long)]
        collection: Option<String>,
    },
    /// Export live books, copies and placements: to CSV (the import layout), or MARC 21 (one
    /// record per book, its copies as holdings).
    Export {
        /// Only this collection's placements.
        #[arg(long)]
        collection: Option<String>,
        /// For Excel: UTF-8 with a byte-order mark (without it Excel garbles "Gödel").
        #[arg(long)]
        excel: bool,
        /// csv, marc (ISO 2709, UTF-8) or marcxml.
        #[arg(long, value_enum, default_value = "csv")]
        format: catalog::ExportFormat,
        /// MARC: the field the copies go in, 952 (Koha) or 852.
        #[arg(long, value_enum, default_value = "952")]
        holdings: catalog::HoldingsField,
        file: PathBuf,
    },
    /// Copy the library to a new library file, safely while others keep saving (a shared
    /// library too: its backup is an ordinary library file that opens anywhere). The copy is
    /// checked before it is put in place. Restore: open the copy with --db.
    Backup { out: PathBuf },
    /// Set up an empty database on a PostgreSQL server as a shared library (`--db
    /// postgres://…`). A database holding anything else is refused untouched.
    Init,
    /// Move the library file (`--db FILE`) into an empty shared library on a server, row for
    /// row, checked before it is committed. The file stays as it was.
    CopyTo {
        /// The shared library, `postgres://USER@HOST[:PORT]/DBNAME`.
        #[arg(value_name = "postgres://…")]
        server: String,
    },
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
}

/// Why a subcommand failed. Printed once, with its cause chain.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot create the library folder {}", folder.display())]
    Folder {
        folder: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Transfer(#[from] TransferError),
    #[error(transparent)]
    NotQueued(#[from] SubmitError),
    #[error("cannot start the save executor")]
    Start(#[source] std::io::Error),
    #[error("the save executor stopped before answering")]
    Stopped,
    #[error("there is no collection named “{0}”")]
    NoCollection(String),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Address(#[from] AddressError),
    #[error(transparent)]
    Copy(#[from] CopyError),
}

/// The library a subcommand works on, and the password its address carried (if any).
#[derive(Clone, Debug)]
pub struct Target {
    pub location: Location,
    pub password: Option<String>,
    pub durability: Durability,
}

/// The library path from the arguments, creating the default folder if that is the one used.
pub fn library_path(db: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(p) = db {
        return Ok(p.to_path_buf());
    }
    let path = default_library_path();
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(|source| CliError::Folder {
            folder: folder.to_path_buf(),
            source,
        })?;
    }
    Ok(path)
}

/// The library `--db` names: a file, or a server's address (with its password apart).
pub fn library_location(db: Option<&str>) -> Result<(Location, Option<String>), CliError> {
    match db {
        Some(text) => Ok(Location::parse(text)?),
        None => Ok((Location::File(library_path(None)?), None)),
    }
}

/// Runs a headless subcommand; errors are printed here, once.
pub fn run(args: &Args, command: &Command) -> ExitCode {
    let result = library_location(args.db.as_deref()).and_then(|(location, password)| {
        let target = Target {
            location,
            password,
            durability: args.durability.into(),
        };
        match command {
            Command::Check => run_check(&target),
            Command::Import {
                file,
                skip_invalid,
                encoding,
                separator,
                map,
                collection,
            } => {
                let choice = crate::transfer::ImportChoice {
                    sheet: crate::transfer::csv::SheetChoice {
                        encoding: *encoding,
                        separator: *separator,
                        mapping: map.clone(),
                        columns: None,
                    },
                    collection: collection.clone(),
                    skip_bad_records: *skip_invalid,
                };
                catalog::import(&target, file, &choice, *skip_invalid)
            }
            Command::Export {
                collection,
                excel,
                format,
                holdings,
                file,
            } => catalog::export(
                &target,
                collection.as_deref(),
                file,
                *excel,
                *format,
                *holdings,
            ),
            Command::Backup { out } => catalog::backup(&target, out),
            Command::Add {
                collection,
                barcodes,
            } => add(&target, collection, barcodes),
            Command::Init => init(&target),
            Command::CopyTo { server } => copy_to(&target, server),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("shelfmark: {}", chain(&e));
            ExitCode::FAILURE
        }
    }
}

fn options(target: &Target, pool_size: u32) -> OpenOptions {
    OpenOptions {
        durability: target.durability,
        pool_size,
        ..OpenOptions::default()
    }
}

/// Opens a library for a subcommand.
fn open(target: &Target, pool_size: u32) -> Result<Library, CliError> {
    Ok(Library::open_at(
        &target.location,
        target.password.as_deref(),
        &options(target, pool_size),
    )?)
}

fn run_check(target: &Target) -> Result<ExitCode, CliError> {
    let library = match open(target, 2) {
        Ok(library) => library,
        Err(CliError::Open(OpenError::Damaged { detail, path })) => {
            // Say what SQLite itself finds, if it can read the file at all; change nothing.
            println!("{}: damaged: {detail}", path.display());
            match check_damaged_file(&path) {
                Ok(report) => println!("{report}"),
                Err(e) => println!("SQLite cannot read it: {}", chain(&e)),
            }
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e),
    };
    // A big library takes a while: say what is being checked, and how fast.
    let bytes = library.path().map_or(0, |p| {
        let mut wal = p.as_os_str().to_owned();
        wal.push("-wal");
        [p.to_path_buf(), wal.into()]
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum::<u64>()
    });
    let started = std::time::Instant::now();
    let step = Arc::new(parking_lot::Mutex::new(("opening", started)));
    let ticker = {
        let step = Arc::clone(&step);
        crate::tasks::Worker::spawn("shelfmark-check-progress", move |stop| {
            while !stop.sleep(std::time::Duration::from_secs(5)) {
                let (what, since) = *step.lock();
                eprintln!(
                    "  checking {what}: {:.0} s so far ({:.0} s in all)",
                    since.elapsed().as_secs_f64(),
                    started.elapsed().as_secs_f64()
                );
            }
        })
        .ok()
    };
    if bytes > 0 {
        eprintln!(
            "checking {} ({:.0} MB)",
            target.location,
            bytes as f64 / 1e6
        );
    }
    let report = library.reads()?.check_reporting(&mut |what| {
        eprintln!("  {what}…");
        *step.lock() = (what, std::time::Instant::now());
    })?;
    drop(ticker);
    let secs = started.elapsed().as_secs_f64();
    if bytes > 0 {
        eprintln!(
            "checked {:.0} MB in {secs:.1} s ({:.0} MB/s)",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs.max(0.001)
        );
    } else {
        eprintln!("checked in {secs:.1} s");
    }
    println!("{}: {report}", target.location);
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `shelfmark --db postgres://… init`: sets up an empty database as a shared library.
fn init(target: &Target) -> Result<ExitCode, CliError> {
    let Location::Server(address) = &target.location else {
        return Err(CliError::Refused(
            "init sets up a shared library on a server: give --db postgres://USER@HOST/DBNAME (a library file is set up when it is first opened)".to_owned(),
        ));
    };
    let library = Library::open_server(
        address,
        target.password.as_deref(),
        &OpenOptions {
            set_up: true,
            ..options(target, 2)
        },
    )?;
    let counts = library.reads()?.counts()?;
    println!(
        "{} is a Shelfmark library (schema version {}): {} books, {} copies, {} collections, {} placements",
        address.display_name(),
        crate::db::SERVER_LATEST_VERSION,
        counts.books,
        counts.copies,
        counts.collections,
        counts.placements
    );
    Ok(ExitCode::SUCCESS)
}

/// `shelfmark --db FILE copy-to postgres://…`: moves a library file into an empty shared
/// library, checked row for row.
fn copy_to(target: &Target, server: &str) -> Result<ExitCode, CliError> {
    let (Location::Server(address), password) = Location::parse(server)? else {
        return Err(CliError::Refused(format!(
            "{server} is not a postgres:// address"
        )));
    };
    let from = open(target, 2)?;
    let to = Library::open_server(
        &address,
        password.as_deref(),
        &OpenOptions {
            set_up: true,
            ..options(target, 2)
        },
    )?;
    let started = std::time::Instant::now();
    let mut last = std::time::Instant::now();
    let counts = from.copy_to(&to, &mut |p| {
        if last.elapsed().as_secs() >= 2 {
            eprintln!("copying: {} {}", p.rows, p.table);
            last = std::time::Instant::now();
        }
    })?;
    println!(
        "copied {} to {} in {:.1} s, checked row for row: {} books, {} copies, {} collections, {} placements, {} settings",
        target.location,
        address.display_name(),
        started.elapsed().as_secs_f64(),
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4]
    );
    Ok(ExitCode::SUCCESS)
}

/// `shelfmark add`: places copies by barcode through the save executor.
fn add(target: &Target, collection: &str, barcodes: &[String]) -> Result<ExitCode, CliError> {
    let library = open(target, 3)?;
    let target = library
        .reads()?
        .live_collection_by_name(collection)?
        .ok_or_else(|| CliError::NoCollection(collection.to_owned()))?;
    let tasks = SaveTasks::start(&library, ChangeFeed::new()).map_err(CliError::Start)?;
    let (mailbox, replies) = Mailbox::new();
    let mut all_placed = true;
    let tz = jiff::tz::TimeZone::system();
    for barcode in barcodes {
        let op = Op::PlaceBarcode {
            collection: target.id,
            barcode: barcode.clone(),
        };
        tasks.submit(EditorId(0), op, &mailbox)?;
        let outcome = loop {
            match replies.recv().map_err(|_| CliError::Stopped)?.event {
                Event::Waiting { reason, .. } => eprintln!("{barcode}: {}", reason.text()),
                Event::Done(o) => break o,
            }
        };
        match outcome {
            Outcome::Saved { .. } => println!("{barcode}: added to {}", target.name),
            other => {
                all_placed = false;
                println!("{barcode}: not added: {}", Problem::describe(other, &tz));
            }
        }
    }
    Ok(if all_placed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn parse_encoding(s: &str) -> Result<crate::transfer::sheets::Encoding, String> {
    use crate::transfer::sheets::Encoding;
    let key = s.to_ascii_lowercase().replace(['-', '_', ' '], "");
    Encoding::ALL
        .into_iter()
        .find(|e| e.label().to_ascii_lowercase().replace(['-', '_', ' '], "") == key)
        .or(match key.as_str() {
            "cp1252" | "windows1252" | "ansi" => Some(Encoding::Windows1252),
            "latin1" | "iso88591" => Some(Encoding::Latin1),
            "utf16le" => Some(Encoding::Utf16Le),
            "utf16be" => Some(Encoding::Utf16Be),
            "utf8" => Some(Encoding::Utf8),
            _ => None,
        })
        .ok_or_else(|| {
            "known encodings: utf-8, utf-16le, utf-16be, windows-1252, latin-1".to_owned()
        })
}

fn parse_separator(s: &str) -> Result<crate::transfer::sheets::Separator, String> {
    crate::transfer::sheets::Separator::from_user(s)
        .ok_or_else(|| "a separator is one of: , ; tab |".to_owned())
}
