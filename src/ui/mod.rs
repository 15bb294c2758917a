//! The views and what they are made of. Each view is a struct with a `ui(&mut self, ui)`
//! method that first takes in what arrived from the background (save outcomes through its
//! [`Requests`](requests::Requests), query results through its [`Live`](live::Live) queries),
//! then draws, then acts on what the user did — by queueing saves or reads, never by running
//! SQL — and sends what it wants of the app as a whole to the [`command`] queue.
//!
//! Architecture invariant: nothing in here opens a connection or waits on one; a view's only
//! line to the library is its [`Port`](crate::tasks::Port).

pub(crate) mod attention;
pub(crate) mod catalog;
pub(crate) mod collections;
pub(crate) mod columns;
pub mod command;
pub mod editor;
pub(crate) mod file_dialog;
pub(crate) mod live;
pub(crate) mod move_dialog;
pub(crate) mod requests;
pub mod server_form;
pub(crate) mod settings;
pub(crate) mod sheet_map;
pub mod theme;
pub(crate) mod transfer;
pub(crate) mod trash;
pub(crate) mod undo;
pub(crate) mod widgets;

use std::sync::Arc;

pub use catalog::RESULTS as SEARCH_RESULTS;

use crate::tasks::Waker;

/// A waker that repaints `viewport` (a window) of `ctx`.
pub fn repaint(ctx: &egui::Context, viewport: egui::ViewportId) -> Waker {
    let ctx = ctx.clone();
    Arc::new(move || ctx.request_repaint_of(viewport))
}
