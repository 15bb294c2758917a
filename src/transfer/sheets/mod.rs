//! Reading the spreadsheets librarians already keep (CSV, semicolon- or
//! tab-separated text) into Shelfmark's neutral fields.
//!
//! Self-contained: depends only on `csv`, `encoding_rs` and `thiserror`.
//! The steps, each usable on its own:
//!
//! 1. [`decode`] the file's bytes (BOMs, UTF-16, UTF-8; anything else is
//!    reported with a Windows-1252 guess for the user to confirm, then
//!    [`decode_as`]).
//! 2. [`sniff`] the separator (the user may override it).
//! 3. Read the [`headers`], recognise the [`Dialect`] and get a [`Mapping`]
//!    ([`Mapping::for_dialect`], [`Mapping::guess`], [`Mapping::parse_cli`]);
//!    [`preview`] feeds a column-mapping dialog.
//! 4. [`read`] the rows as [`SheetRow`]s: raw strings, freed of dialect
//!    quirks, not validated (the app validates).
//!
//! [`inspect`] does steps 2 and 3 at once.
//!
//! Nothing here panics on any input.

#![allow(
    clippy::doc_markdown,
    reason = "docs name the product LibraryThing, which is not code"
)]

mod clean;
mod decode;
mod dialect;
mod field;
mod mapping;
mod read;
mod sniff;

pub use decode::{DecodeError, Decoded, Encoding, decode, decode_as, encoding_of, open_decoded};
pub use dialect::{Dialect, SIGNATURES, Signature};
pub use field::{Field, normalize_header};
pub use mapping::{Combine, Mapping, MappingError, Source};
pub use read::{
    Preview, PreviewRow, RowError, Rows, SheetRow, headers, preview, read, read_stream,
};
pub use sniff::{SNIFF_RECORDS, Separator, excel_sep_line, sniff};

/// What [`inspect`] found out about a decoded sheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// The sniffed separator.
    pub separator: Separator,
    /// The header cells.
    pub headers: Vec<String>,
    /// The recognised dialect.
    pub dialect: Dialect,
    /// The dialect's mapping, or a guess for [`Dialect::Unknown`].
    pub mapping: Mapping,
}

/// Sniffs the separator, reads the header, recognises the dialect and
/// proposes a mapping.
#[must_use]
pub fn inspect(text: &str) -> Inspection {
    let separator = sniff(text);
    let headers = headers(text, separator);
    let dialect = Dialect::detect(&headers);
    let mapping = Mapping::of_dialect(dialect, &headers);
    Inspection {
        separator,
        headers,
        dialect,
        mapping,
    }
}
