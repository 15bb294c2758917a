//! `shelfmark-bench`: the developers' tools, kept out of the shipped `shelfmark` binary — the
//! save-load generator (`load`), the save benchmark against raw baselines (`bench`), the
//! catalog generator (`seed`), the catalog benchmark (`bench-catalog`, which drives the real
//! collection editor through `egui::Context::run`), and a lock holder that plays "another
//! program" (`hold-write-lock`). The tests and the README's benchmark commands use it.

mod bench;
mod load;
mod lock;
mod marc;
mod offline;
mod scale;
mod stats;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use shelfmark::db::{Durability, Library, Location, OpenOptions, chain};

/// Errors of the tools, in words (with their cause chains), printed once by `main`.
type Result<T, E = String> = std::result::Result<T, E>;

/// Developer tools for Shelfmark: load, benchmarks, seeding.
#[derive(Debug, Parser)]
#[command(name = "shelfmark-bench", version, about)]
struct Args {
    /// The library: a file, or a shared library `postgres://USER@HOST[:PORT]/DBNAME` (`load`
    /// and `bench` work on both).
    #[arg(long, global = true, value_name = "PATH|postgres://…")]
    db: Option<String>,

    /// `full`: an acknowledged save survives power loss. `normal`: survives a crash of the
    /// program.
    #[arg(long, global = true, value_enum, default_value_t = DurabilityArg::Full)]
    durability: DurabilityArg,

    /// Where this computer keeps its replicas of shared libraries. With it, a shared library is
    /// opened as the window opens it: working offline on the replica while the server is away.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

/// `--data-dir`, for every command that opens the library.
static DATA_DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum DurabilityArg {
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
enum Command {
    /// Generate save load through the same executor as the window.
    Load(load::LoadArgs),
    /// Measure save throughput and latency against raw SQLite baselines, on scratch files
    /// beside the library (the library itself is not touched).
    Bench(bench::BenchArgs),
    /// Fill the library with a generated, realistic catalog.
    Seed(scale::SeedArgs),
    /// Measure the catalog at scale: first data, search, scrolling, import, export, memory.
    BenchCatalog(scale::BenchCatalogArgs),
    /// A shared library worked on offline: the replica's first fill, its catch-up, and the
    /// replay of saves made offline.
    Offline(offline::OfflineArgs),
    /// Open a shared library with its replica in `--data-dir` and wait until everything saved
    /// there offline has been sent (or waits for a decision); prints the status as JSON.
    Sync,
    /// MARC 21 at scale: generate a file of bibliographic records, import it into the library,
    /// export it again; prints records/s and peak RSS as JSON.
    Marc(marc::MarcArgs),
    /// Hold the library's write lock (as another program might), to see how Shelfmark waits.
    /// Prints `locked <unix µs>` and `released <unix µs>`.
    HoldWriteLock(lock::HoldArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let _ = DATA_DIR.set(args.data_dir.clone());
    let Some(db) = args.db.clone() else {
        eprintln!("shelfmark-bench: --db PATH (or postgres://…) is required");
        return ExitCode::FAILURE;
    };
    let location = match Location::parse(&db) {
        Ok((location, _)) => location,
        Err(e) => {
            eprintln!("shelfmark-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let durability = args.durability.into();
    let file = || match &location {
        Location::File(path) => Ok(path.clone()),
        Location::Server(_) => Err(format!("{db}: this command works on a library file")),
    };
    let result = match &args.command {
        Command::Load(a) => load::run(&location, durability, a),
        Command::Bench(a) => bench::run(&location, durability, a),
        Command::Seed(a) => scale::seed(&location, durability, a),
        Command::BenchCatalog(a) => scale::bench_catalog(&location, durability, a),
        Command::Offline(a) => offline::run(&location, a),
        Command::Sync => offline::sync(&location),
        Command::Marc(a) => marc::run(&location, durability, a),
        Command::HoldWriteLock(a) => file().and_then(|path| lock::hold(&path, a)),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("shelfmark-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Opens a library file for a tool, the error in words.
fn open(path: &Path, durability: Durability, pool_size: u32) -> Result<Library> {
    open_at(&Location::File(path.to_path_buf()), durability, pool_size)
}

/// Opens a library wherever it lives (a shared library must be set up already).
fn open_at(location: &Location, durability: Durability, pool_size: u32) -> Result<Library> {
    Library::open_at(
        location,
        None,
        &OpenOptions {
            durability,
            pool_size,
            replica_dir: DATA_DIR.get().cloned().flatten(),
            ..OpenOptions::default()
        },
    )
    .map_err(|e| chain(&e))
}

/// Any error, in words with its cause chain.
fn words(e: &(dyn std::error::Error + 'static)) -> String {
    chain(e)
}
