//! Integration tests: one binary, one module per area, shared helpers in `util`.

// A failed unwrap in a test is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests start helper threads (lock holders, racing savers) directly.
#![allow(clippy::disallowed_methods)]

mod a11y;
mod catalog;
mod contract;
mod desk;
mod engine;
mod faults;
mod input;
mod layers;
mod marc;
mod migrations;
mod offline;
mod orders;
mod processes;
mod restore;
mod server;
mod sheets;
mod sorting;
mod ui;
mod util;
