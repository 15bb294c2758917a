//! The `shelfmark` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser as _;
use shelfmark::cli::{self, Args};

fn main() -> ExitCode {
    let args = Args::parse();
    match &args.command {
        Some(command) => cli::run(&args, command),
        None => {
            eprintln!("shelfmark: the window is not built yet; use a subcommand (see --help)");
            ExitCode::FAILURE
        }
    }
}
