//! The `shelfmark` binary: parses the command line, then opens the window or runs a headless
//! subcommand.

use std::process::ExitCode;

use clap::Parser as _;
use shelfmark::cli::{self, Args};
use shelfmark::db::OpenOptions;
use shelfmark::{AppOptions, Startup};

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(command) = &args.command {
        return cli::run(&args, command);
    }
    let startup = match &args.db {
        Some(text) => match shelfmark::db::Location::parse(text) {
            Ok((location, password)) => Startup::At(location, password),
            Err(e) => {
                eprintln!("shelfmark: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => match cli::library_path(None) {
            Ok(default) => Startup::Remembered { default },
            Err(e) => {
                eprintln!("shelfmark: {}", shelfmark::db::chain(&e));
                return ExitCode::FAILURE;
            }
        },
    };
    let options = AppOptions {
        open: OpenOptions {
            durability: args.durability.into(),
            read_only: args.read_only,
            ..OpenOptions::default()
        },
        data_dir: args.data_dir.clone(),
        handle_signals: true,
    };
    match shelfmark::app::run(startup, options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shelfmark: cannot open a window: {e}");
            ExitCode::FAILURE
        }
    }
}
