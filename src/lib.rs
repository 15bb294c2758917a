//! Shelfmark: an offline desktop application with which librarians manage their collections.
//!
//! The layers, each using only those below it (checked by `tests/layers.rs`; the README's
//! Architecture section has the code map and the invariants):
//!
//! ```text
//! cli   app          the command line · the eframe app (windows, the command queue)
//!       ui           views, widgets, theme, live queries, the request tracker
//!       transfer     import, export, backup (CSV)
//!       tasks        writer, readers, change feed, workers, the services handle
//!       db           the storage seam and its SQLite backend
//!       model        values, validation, the words for every outcome
//! ```
//!
//! Nothing below `ui` names egui; nothing above `db` names rusqlite.

pub mod app;
pub mod cli;
pub mod db;
pub mod model;
pub mod tasks;
pub mod transfer;
pub mod ui;

pub use app::{AppOptions, ShelfmarkApp, Startup};
