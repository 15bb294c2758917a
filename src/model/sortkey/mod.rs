//! Sort keys for titles and call numbers, and ISBN hyphenation.
//!
//! Every key is a `String` meant to be compared **bytewise** (the default
//! `BINARY` collation of `SQLite`, `COLLATE "C"` of `PostgreSQL`, `Ord` on
//! `str`): the byte order of the key is the intended filing order, so every
//! backend sorts alike and the column can be indexed. Keys are valid UTF-8;
//! call-number keys are ASCII unless the shelf mark holds non-Latin letters.
//!
//! All functions are pure, never panic, and accept any input.
//! This module depends on nothing of the app (only `unicode-normalization`).
//!
//! - [`title_key`], [`default_nonfiling`], [`DEFAULT_ARTICLES`]: title filing.
//! - [`call_number_key`]: Library of Congress, Dewey, anything else.
//! - [`isbn_hyphenated`], [`isbn10_of`]: hyphenation by the ISBN agency's ranges
//!   ([`ISBN_RANGE_MESSAGE_DATE`] tells which edition of them).

mod callnumber;
mod fold;
mod isbn;
mod isbn_ranges;
mod title;

pub use callnumber::call_number_key;
pub use isbn::{isbn_hyphenated, isbn10_of};
pub use isbn_ranges::{ISBN_RANGE_MESSAGE_DATE, ISBN_RANGE_MESSAGE_SERIAL};
pub use title::{DEFAULT_ARTICLES, default_nonfiling, title_key};

#[cfg(test)]
mod testutil;
