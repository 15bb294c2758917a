//! Shelfmark: an offline desktop application with which librarians manage their collections.
//!
//! Code map:
//! - [`model`]: plain domain values (ids, records, drafts, validation, outcomes). No SQL, no UI.
//! - [`db`]: the library file: opening, pool and pragmas, migrations, reads, writes, the mapping
//!   of SQLite errors to typed outcomes, and `check`.
//! - [`tasks`]: the save executor (one writer thread, group commit in `BEGIN IMMEDIATE`
//!   transactions) and the change feed.
//! - [`csvio`]: the spreadsheet layout for import and export.
//! - [`transfer`]: import, export and backup, for the command line and the window.
//! - [`ui`]: the views (collection editor, collections list, catalog, Trash) and shared widgets.
//! - [`app`]: the eframe application: opening a library, the main window, editor windows.
//! - [`cli`]: the headless subcommands (`check`, `load`, `bench`, ...).

pub mod app;
pub mod cli;
pub mod csvio;
pub mod db;
pub mod model;
pub mod tasks;
pub mod transfer;
pub mod ui;

pub use app::{AppOptions, ShelfmarkApp, Startup};
