//! The command line of the `shelfmark` binary: no subcommand opens the window; the subcommands
//! are the librarian's and admin's headless tools (`check`, `import`, `export`, `backup`,
//! `add`). The load generator and the benchmarks live in the `shelfmark-bench` binary.
//!
//! Errors are handled once, here: each subcommand returns a [`CliError`], printed with its
//! cause chain, and turned into a non-zero exit.

mod catalog;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::db::{
    DbError, Durability, Library, OpenError, OpenOptions, chain, check_damaged_file,
    default_library_path,
};
use crate::model::{Op, Outcome, Problem, WAITING_TEXT};
use crate::tasks::{ChangeFeed, EditorId, Event, Mailbox, SaveTasks, SubmitError};
use crate::transfer::TransferError;

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
        /// For Excel: UTF-8 with a byte-order mark (without it Excel garbles "Gödel").
        #[arg(long)]
        excel: bool,
        file: PathBuf,
    },
    /// Copy the library to a new file with SQLite's online backup API (safe while others keep
    /// saving). The copy is checked before it is put in place. Restore: open the copy with --db.
    Backup { out: PathBuf },
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

/// Runs a headless subcommand; errors are printed here, once.
pub fn run(args: &Args, command: &Command) -> ExitCode {
    let durability = args.durability.into();
    let result = library_path(args.db.as_deref()).and_then(|path| match command {
        Command::Check => run_check(&path, durability),
        Command::Import { file, skip_invalid } => {
            catalog::import(&path, durability, file, *skip_invalid)
        }
        Command::Export {
            collection,
            excel,
            file,
        } => catalog::export(&path, durability, collection.as_deref(), file, *excel),
        Command::Backup { out } => catalog::backup(&path, durability, out),
        Command::Add {
            collection,
            barcodes,
        } => add(&path, durability, collection, barcodes),
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("shelfmark: {}", chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Opens a library for a subcommand.
fn open(path: &Path, durability: Durability, pool_size: u32) -> Result<Library, CliError> {
    Ok(Library::open(
        path,
        &OpenOptions {
            durability,
            pool_size,
            ..OpenOptions::default()
        },
    )?)
}

fn run_check(path: &Path, durability: Durability) -> Result<ExitCode, CliError> {
    let library = match open(path, durability, 2) {
        Ok(library) => library,
        Err(CliError::Open(OpenError::Damaged { detail, .. })) => {
            // Say what SQLite itself finds, if it can read the file at all; change nothing.
            println!("{}: damaged: {detail}", path.display());
            match check_damaged_file(path) {
                Ok(report) => println!("{report}"),
                Err(e) => println!("SQLite cannot read it: {}", chain(&e)),
            }
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e),
    };
    let report = library.reads()?.check()?;
    println!("{}: {report}", path.display());
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `shelfmark add`: places copies by barcode through the save executor.
fn add(
    path: &Path,
    durability: Durability,
    collection: &str,
    barcodes: &[String],
) -> Result<ExitCode, CliError> {
    let library = open(path, durability, 3)?;
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
                Event::Waiting { .. } => eprintln!("{barcode}: {WAITING_TEXT}"),
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
