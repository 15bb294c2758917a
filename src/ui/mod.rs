//! The windows and what is in them. Each view is a struct with a `ui(&mut self, ui)` method
//! that first takes in what arrived from the background (save outcomes, change notices, query
//! results), then draws, then acts on what the user did (by queueing saves or reads, never by
//! running SQL).

pub mod catalog;
pub mod collections;
pub mod editor;
pub mod file_dialog;
pub mod theme;
pub mod transfer;
pub mod trash;
pub mod widgets;
pub mod workspace;
