//! The spreadsheets librarians already keep: each dialect's fixture read to the expected rows,
//! the reader fuzzed, and through the library: recognised exports imported as they are, a file
//! not in UTF-8 refused until its encoding is chosen, and the window's column-mapping step.

mod fixtures;
mod fuzz;
mod library;
