//! Many rows added at once: a validated row of the spreadsheet layout (one copy of a book,
//! optionally placed in a collection) and the job that carries them to the writer with progress
//! and cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::{ValidBook, ValidCollection};

/// One validated line: a book, optionally a copy of it (barcode), optionally placed in a
/// collection with a shelf mark and note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    /// 1-based line in the source file, for messages.
    pub line: usize,
    pub book: ValidBook,
    pub barcode: Option<String>,
    pub collection: Option<ValidCollection>,
    pub shelf_mark: String,
    pub note: String,
    /// The record the book came from (MARC 21), kept with it; shared by the rows of its copies.
    pub source: Option<Arc<SourceRecord>>,
}

/// A book's source record, kept whole so an export gives back what Shelfmark does not edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRecord {
    /// "(AGENCY)NUMBER" from 003 and 001 ("NUMBER" without 003): finds the book again when
    /// the same record is imported again.
    pub control: Option<String>,
    /// The record in ISO 2709, UTF-8, without its holdings (those are the copies).
    pub marc: String,
}

/// Rows read again from their file while they are applied, so an import's memory does not
/// grow with the file (a MARC file of a million records). The file was read and checked once
/// before; a second reading that does not give the same rows (the file changed in between, or
/// cannot be read) gives an error, and the import is refused as a whole.
pub trait RowSource: Send + Sync + std::fmt::Debug {
    /// The rows, in order.
    fn rows(&self) -> Box<dyn Iterator<Item = Result<ImportRow, String>> + '_>;
}

/// Where an import's rows are: in memory, or read again from their file.
#[derive(Debug)]
enum Rows {
    Loaded(Vec<ImportRow>),
    Streamed {
        source: Box<dyn RowSource>,
        len: Option<usize>,
        /// Whether rows may carry their book's source record (MARC).
        sourced: bool,
    },
}

impl Default for Rows {
    fn default() -> Self {
        Rows::Loaded(Vec::new())
    }
}

/// Rows to import, with a progress counter the UI can read and a cancel flag it can set.
#[derive(Debug, Default)]
pub struct ImportJob {
    rows: Rows,
    done: AtomicUsize,
    cancel: AtomicBool,
    /// Every row is in: the import is building what it set aside and saving, which cannot be
    /// cancelled any more.
    finishing: AtomicBool,
}

impl PartialEq for ImportJob {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
impl Eq for ImportJob {}

impl ImportJob {
    pub fn new(rows: Vec<ImportRow>) -> Self {
        ImportJob {
            rows: Rows::Loaded(rows),
            ..ImportJob::default()
        }
    }

    /// A job whose rows (which may carry their book's source record: a MARC file) are read
    /// from `source` as they are applied: `len` of them if that is known beforehand.
    pub fn streamed(source: Box<dyn RowSource>, len: Option<usize>) -> Self {
        ImportJob {
            rows: Rows::Streamed {
                source,
                len,
                sourced: true,
            },
            ..ImportJob::default()
        }
    }

    /// A job of a spreadsheet's `len` rows (no source records), read from `source` as they
    /// are applied.
    pub fn streamed_sheet(source: Box<dyn RowSource>, len: usize) -> Self {
        ImportJob {
            rows: Rows::Streamed {
                source,
                len: Some(len),
                sourced: false,
            },
            ..ImportJob::default()
        }
    }

    /// Whether some row carries its book's source record (a MARC import).
    pub fn has_source_records(&self) -> bool {
        match &self.rows {
            Rows::Loaded(rows) => rows.iter().any(|r| r.source.is_some()),
            Rows::Streamed { sourced, .. } => *sourced,
        }
    }

    /// How many rows the job applies, if that is known before it runs (a file read only as it
    /// is applied does not know).
    pub fn total(&self) -> Option<usize> {
        match &self.rows {
            Rows::Loaded(rows) => Some(rows.len()),
            Rows::Streamed { len, .. } => *len,
        }
    }

    /// The rows in order, wherever they are; an error stops the import.
    pub fn rows(&self) -> Box<dyn Iterator<Item = Result<ImportRow, String>> + '_> {
        match &self.rows {
            Rows::Loaded(rows) => Box::new(rows.iter().cloned().map(Ok)),
            Rows::Streamed { source, .. } => source.rows(),
        }
    }

    /// Rows applied so far.
    pub fn done(&self) -> usize {
        self.done.load(Ordering::Relaxed)
    }

    pub(crate) fn set_done(&self, n: usize) {
        self.done.store(n, Ordering::Relaxed);
    }

    /// Asks the writer to stop and roll the whole import back.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Whether every row is in and the import is being finished: indexes a big import builds
    /// at its end, the search index, the commit. A cancel is no longer heard.
    pub fn is_finishing(&self) -> bool {
        self.finishing.load(Ordering::Relaxed)
    }

    pub(crate) fn set_finishing(&self, on: bool) {
        self.finishing.store(on, Ordering::Relaxed);
    }
}

impl ImportSummary {
    /// "20 books, 25 copies, 5 collections and 24 placements added; 1 placement was already
    /// there".
    pub fn describe(&self) -> String {
        use super::count;
        let updated = if self.books_updated == 0 {
            String::new()
        } else {
            format!(
                "; {} updated from their records",
                count(self.books_updated, "book", "books")
            )
        };
        format!(
            "{}, {}, {} and {} added; {} already there{updated}",
            count(self.books_created, "book", "books"),
            count(self.copies_created, "copy", "copies"),
            count(self.collections_created, "collection", "collections"),
            count(self.placements_created, "placement", "placements"),
            if self.placements_matched == 1 {
                "1 placement was".to_owned()
            } else {
                format!("{} placements were", self.placements_matched)
            }
        )
    }
}

/// What an import created, and what it found already there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub rows: usize,
    pub books_created: usize,
    /// Books found by their source record's control number and brought up to it.
    pub books_updated: usize,
    pub copies_created: usize,
    pub collections_created: usize,
    pub placements_created: usize,
    /// Rows whose copy was already in that collection.
    pub placements_matched: usize,
}
