//! The `shelfmark` binary: parses the command line, then opens the window or runs a headless
//! subcommand.

use std::process::ExitCode;

use clap::Parser as _;
use shelfmark::cli::{self, Args};
use shelfmark::db::OpenOptions;
use shelfmark::{AppOptions, ShelfmarkApp, Startup};

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(command) = &args.command {
        return cli::run(&args, command);
    }
    let startup = match &args.db {
        Some(path) => Startup::Path(path.clone()),
        None => match cli::library_path(&args) {
            Ok(default) => Startup::Remembered { default },
            Err(e) => {
                eprintln!("shelfmark: cannot create the library folder: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let options = AppOptions {
        open: OpenOptions {
            durability: args.durability,
            read_only: args.read_only,
            ..OpenOptions::default()
        },
    };
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Shelfmark")
            .with_app_id("shelfmark")
            .with_inner_size([1200.0, 760.0])
            .with_min_inner_size([720.0, 420.0]),
        ..eframe::NativeOptions::default()
    };
    match eframe::run_native(
        "Shelfmark",
        native,
        Box::new(move |cc| Ok(Box::new(ShelfmarkApp::new(cc, startup, options)))),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shelfmark: cannot open a window: {e}");
            ExitCode::FAILURE
        }
    }
}
