//! Shelfmark: an offline desktop application with which librarians manage their collections.
//!
//! Code map:
//! - [`model`]: plain domain values (ids, records, drafts, validation, outcomes). No SQL, no UI.
//! - [`db`]: the library file: opening, pool and pragmas, migrations, reads, writes, the mapping
//!   of SQLite errors to typed outcomes, and `check`.
//! - [`tasks`]: the save executor (one writer thread, group commit in `BEGIN IMMEDIATE`
//!   transactions) and the change feed.
//! - [`cli`]: the headless subcommands (`check`, `load`, `bench`).

pub mod cli;
pub mod db;
pub mod model;
pub mod tasks;
