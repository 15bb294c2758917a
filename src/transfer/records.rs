//! MARC 21 records in and out of a library: a record becomes a book (its fields mapped as the
//! README's table says, the whole record kept with it) and its holdings (952 or 852) copies and
//! placements; an export gives each live book back as a record, its source record merged with
//! what was edited in Shelfmark, its copies as holdings.
//!
//! Reading streams the file while the import applies it ([`MarcRows`]): memory does not grow
//! with the file, and it is read once. A bad record refuses the whole import (rolled back) unless
//! the librarian chose to import the good ones; every bad record is listed either way. A book's
//! record is kept compact: ISO 2709 in UTF-8.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::csv::{BarcodeOwners, LineError, validate_row};
use super::marc::{
    self, Encoding, ExportBook, ExportHolding, Format, HoldingTag, Iso2709Reader, MarcXmlReader,
    MarcXmlWriter, Record, RecordError, export_record, map_record,
};
use super::sheets::Field as SheetField;
use crate::model::{ImportRow, RecordRow, RowSource, SourceRecord, Stamp, isbn};
use crate::tasks::Worker;

/// How many bytes of a file are enough to tell its format.
pub const SNIFF_BYTES: usize = 512;

/// The format of a file, by its first bytes: MARC (ISO 2709 or MARCXML) or not.
pub fn sniff(prefix: &[u8]) -> Option<Format> {
    marc::detect(prefix)
}

/// The key that finds a book again when its record is imported again: "(AGENCY)NUMBER" from
/// 003 and 001 ("NUMBER" without 003). A record Shelfmark exported carries Shelfmark's own id
/// in 001 (with 003 "Shelfmark") and the original number in 035; the original is the key, so
/// another library's export never matches by our ids.
pub fn control_key(record: &Record) -> Option<String> {
    let clean = |s: &str| s.trim().to_owned();
    let agency = record.agency().map(str::trim).filter(|a| !a.is_empty());
    if agency.is_some_and(|a| a.eq_ignore_ascii_case("Shelfmark")) {
        return record
            .fields("035")
            .find_map(|f| f.subfield('a'))
            .map(clean)
            .filter(|s| !s.is_empty());
    }
    let number = record
        .control_number()
        .map(str::trim)
        .filter(|n| !n.is_empty())?;
    Some(match agency {
        Some(a) => format!("({a}){number}"),
        None => number.to_owned(),
    })
}

fn records_of(
    file: impl Read + 'static,
    format: Format,
) -> Box<dyn Iterator<Item = Result<Record, RecordError>>> {
    match format {
        Format::Iso2709 => Box::new(Iso2709Reader::new(std::io::BufReader::with_capacity(
            1 << 16,
            file,
        ))),
        Format::MarcXml => Box::new(MarcXmlReader::new(file)),
    }
}

/// What an import does with a bad record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadRecords {
    /// Nothing is imported: the reading goes on only to find every bad record, then the
    /// import is refused as a whole (and rolled back).
    Refuse,
    /// The good records are imported; the bad ones are listed.
    Skip,
}

/// The bad records an import found, with their number and byte offset (shared with whoever
/// started it, to report them).
pub type Found = Arc<parking_lot::Mutex<Vec<LineError>>>;

/// The rows of a MARC file, read (on a thread of their own, a few batches ahead) while the
/// import applies them: each record is read, mapped and validated, its rows handed over, and
/// dropped, so memory does not grow with the file and the file is read once.
#[derive(Debug)]
pub struct MarcRows {
    path: PathBuf,
    format: Format,
    collection: Option<String>,
    bad: BadRecords,
    found: Found,
    /// Records read so far (for progress while nothing can be counted in rows).
    read: Arc<std::sync::atomic::AtomicU64>,
}

impl MarcRows {
    /// `collection`: the collection every holding goes to, instead of the one the holding
    /// names.
    pub fn new(path: &Path, format: Format, collection: Option<&str>, bad: BadRecords) -> Self {
        MarcRows {
            path: path.to_path_buf(),
            format,
            collection: collection.map(str::to_owned),
            bad,
            found: Found::default(),
            read: Arc::default(),
        }
    }

    /// The bad records found so far.
    pub fn found(&self) -> Found {
        Arc::clone(&self.found)
    }

    /// Records read so far.
    pub fn read(&self) -> Arc<std::sync::atomic::AtomicU64> {
        Arc::clone(&self.read)
    }
}

/// What the reading thread hands over.
enum Batch {
    Rows(Vec<ImportRow>),
    /// The file had this many bad records and they are refused: the import stops.
    Refused(usize),
}

impl RowSource for MarcRows {
    fn rows(&self) -> Box<dyn Iterator<Item = Result<ImportRow, String>> + '_> {
        let file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) => {
                return Box::new(std::iter::once(Err(format!(
                    "cannot read {}: {e}",
                    self.path.display()
                ))));
            }
        };
        self.found.lock().clear();
        let (format, collection, bad) = (self.format, self.collection.clone(), self.bad);
        let (found, read) = (Arc::clone(&self.found), Arc::clone(&self.read));
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(8);
        let reader = Worker::spawn("shelfmark-read-marc", move |stop| {
            let mut rows = RecordRows {
                records: records_of(file, format),
                collection,
                owners: BarcodeOwners::default(),
                pending: std::collections::VecDeque::new(),
                number: 0,
                found,
                read,
            };
            while !stop.is_stopped() {
                let batch: Vec<ImportRow> = rows.by_ref().take(256).collect();
                let last = batch.len() < 256;
                let refused = bad == BadRecords::Refuse && !rows.found.lock().is_empty();
                if refused {
                    // Nothing more will be imported; read on only to list every bad record.
                    rows.by_ref()
                        .take_while(|_| !stop.is_stopped())
                        .for_each(drop);
                    let n = rows.found.lock().len();
                    let _ = tx.send(Batch::Refused(n));
                    break;
                }
                // The writer stopped listening (the import ended early): stop reading.
                if tx.send(Batch::Rows(batch)).is_err() || last {
                    break;
                }
            }
        });
        match reader {
            Ok(worker) => Box::new(Handed {
                rx,
                batch: Vec::new().into_iter(),
                path: self.path.display().to_string(),
                _reader: worker,
            }),
            Err(e) => Box::new(std::iter::once(Err(format!(
                "cannot start reading {}: {e}",
                self.path.display()
            )))),
        }
    }
}

/// The rows as the reading thread hands them over. The channel goes before the thread is
/// joined (field order), so a reader waiting to hand over more sees nobody listens, and ends.
struct Handed {
    rx: std::sync::mpsc::Receiver<Batch>,
    batch: std::vec::IntoIter<ImportRow>,
    path: String,
    _reader: Worker,
}

impl Iterator for Handed {
    type Item = Result<ImportRow, String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(row) = self.batch.next() {
                return Some(Ok(row));
            }
            match self.rx.recv().ok()? {
                Batch::Rows(rows) => self.batch = rows.into_iter(),
                Batch::Refused(n) => {
                    return Some(Err(format!(
                        "{n} bad record{} in {}",
                        if n == 1 { "" } else { "s" },
                        self.path
                    )));
                }
            }
        }
    }
}

/// The rows of the records as they are read; bad records go to `found`.
struct RecordRows {
    records: Box<dyn Iterator<Item = Result<Record, RecordError>>>,
    collection: Option<String>,
    owners: BarcodeOwners,
    pending: std::collections::VecDeque<ImportRow>,
    number: usize,
    found: Found,
    read: Arc<std::sync::atomic::AtomicU64>,
}

impl Iterator for RecordRows {
    type Item = ImportRow;

    fn next(&mut self) -> Option<Self::Item> {
        let mut errors = Vec::new();
        loop {
            if let Some(row) = self.pending.pop_front() {
                return Some(row);
            }
            let record = self.records.next()?;
            self.number += 1;
            if self.number.is_multiple_of(1000) {
                self.read
                    .store(self.number as u64, std::sync::atomic::Ordering::Relaxed);
            }
            match record {
                Ok(record) => {
                    let pending = &mut self.pending;
                    book_rows(
                        self.number,
                        record,
                        self.collection.as_deref(),
                        &mut self.owners,
                        &mut |row| pending.push_back(row),
                        &mut errors,
                    );
                    if !errors.is_empty() {
                        self.found.lock().append(&mut errors);
                    }
                }
                Err(e) => self.found.lock().push(LineError {
                    line: e.record as usize,
                    offset: Some(e.offset),
                    message: e.kind.to_string(),
                    title: String::new(),
                }),
            }
        }
    }
}

/// The rows of one record: one per holding (the book only, if it has none), given to `rows`;
/// a record that cannot be imported goes to `errors` (once) and gives no rows.
fn book_rows(
    number: usize,
    mut record: Record,
    collection: Option<&str>,
    owners: &mut BarcodeOwners,
    rows: &mut dyn FnMut(ImportRow),
    errors: &mut Vec<LineError>,
) {
    let mapped = map_record(&record);
    let control = control_key(&record);
    record.remove_fields("952");
    record.remove_fields("852");
    let marc = match marc::iso2709::to_bytes(&record, Encoding::Utf8)
        .map_err(|e| e.to_string())
        .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(message) => {
            errors.push(LineError {
                line: number,
                offset: None,
                message: format!("the record cannot be kept: {message}"),
                title: mapped.title.clone(),
            });
            return;
        }
    };
    let source = Arc::new(SourceRecord { control, marc });
    // 020 $a may hold several ISBNs (and qualifiers); the first valid one is the book's.
    let isbn = mapped
        .isbn_candidates
        .iter()
        .find(|c| isbn::parse(c).is_ok())
        .cloned()
        .unwrap_or_default();
    let authors = mapped.authors.join("; ");
    let year = mapped.year.map(|y| y.to_string()).unwrap_or_default();
    let holdings: Vec<Option<&marc::Holding>> = if mapped.holdings.is_empty() {
        vec![None]
    } else {
        mapped.holdings.iter().map(Some).collect()
    };
    // All of a record's rows or none: a bad holding refuses the record.
    let mut good = Vec::with_capacity(holdings.len());
    for holding in holdings {
        let cell = |f: SheetField| -> String {
            match f {
                SheetField::Title => mapped.title.clone(),
                SheetField::Authors => authors.clone(),
                SheetField::Isbn => isbn.clone(),
                SheetField::Publisher => mapped.publisher.clone(),
                SheetField::Year => year.clone(),
                SheetField::Barcode => holding.map(|h| h.barcode.clone()).unwrap_or_default(),
                SheetField::Collection => holding
                    .and_then(|h| {
                        collection
                            .map(str::to_owned)
                            .or_else(|| h.collection.clone())
                    })
                    .unwrap_or_default(),
                SheetField::ShelfMark => holding.map(|h| h.shelf_mark.clone()).unwrap_or_default(),
                SheetField::Note => String::new(),
            }
        };
        match validate_row(
            number,
            &cell,
            Some((&source, mapped.nonfiling)),
            Some(owners),
        ) {
            Ok(row) => good.push(row),
            Err(e) => {
                errors.push(e);
                return;
            }
        }
    }
    for row in good {
        rows(row);
    }
}

/// Which serialisation an export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarcFormat {
    /// ISO 2709 in UTF-8 (leader/09 `a`).
    Iso2709,
    /// MARCXML (the Library of Congress slim schema).
    MarcXml,
}

/// Writes records one at a time in the chosen serialisation.
pub(crate) enum RecordWriter<W: Write> {
    Iso2709(W),
    Xml(MarcXmlWriter<W>),
}

impl<W: Write> RecordWriter<W> {
    pub(crate) fn new(out: W, format: MarcFormat) -> std::io::Result<Self> {
        Ok(match format {
            MarcFormat::Iso2709 => RecordWriter::Iso2709(out),
            MarcFormat::MarcXml => RecordWriter::Xml(MarcXmlWriter::new(out).map_err(io)?),
        })
    }

    pub(crate) fn write(&mut self, record: &Record) -> std::io::Result<()> {
        match self {
            RecordWriter::Iso2709(w) => marc::write_record(w, record).map_err(io),
            RecordWriter::Xml(w) => w.write(record).map_err(io),
        }
    }

    pub(crate) fn finish(self) -> std::io::Result<W> {
        match self {
            RecordWriter::Iso2709(w) => Ok(w),
            RecordWriter::Xml(w) => w.finish().map_err(io),
        }
    }
}

fn io(e: marc::WriteError) -> std::io::Error {
    match e {
        marc::WriteError::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

/// Gathers a book's rows (they come together) into one record at a time.
#[derive(Debug)]
pub(crate) struct Gather {
    book: Option<RecordRow>,
    holdings: Vec<ExportHolding>,
    /// The library's articles: a title with no nonfiling count of its own files by them.
    articles: Vec<String>,
}

impl Gather {
    pub(crate) fn new(articles: Vec<String>) -> Self {
        Gather {
            book: None,
            holdings: Vec::new(),
            articles,
        }
    }

    /// Takes `row`; returns the previous book's record when `row` starts another book.
    /// `collection`: only holdings placed there are written, and only books with such.
    pub(crate) fn push(
        &mut self,
        row: &RecordRow,
        collection: Option<&str>,
        tag: HoldingTag,
    ) -> Option<Record> {
        let done = match &self.book {
            Some(b) if b.book != row.book => self.finish(collection, tag),
            _ => None,
        };
        if self.book.is_none() {
            self.book = Some(row.clone());
        }
        if let Some(barcode) = &row.barcode
            && collection.is_none_or(|c| row.collection.as_deref() == Some(c))
        {
            self.holdings.push(ExportHolding {
                barcode: barcode.clone(),
                shelf_mark: row.shelf_mark.clone().unwrap_or_default(),
                collection: row.collection.clone(),
            });
        }
        done
    }

    /// The record of the book gathered so far, if it is to be written.
    pub(crate) fn finish(&mut self, collection: Option<&str>, tag: HoldingTag) -> Option<Record> {
        let book = self.book.take()?;
        let holdings = std::mem::take(&mut self.holdings);
        if collection.is_some() && holdings.is_empty() {
            return None;
        }
        Some(record_of(&book, &holdings, tag, &self.articles))
    }
}

/// The record of `book`: its source record (if it has one) with Shelfmark's fields and
/// holdings written over it, else a brief record.
pub fn record_of(
    book: &RecordRow,
    holdings: &[ExportHolding],
    tag: HoldingTag,
    articles: &[String],
) -> Record {
    let source = book
        .marc
        .as_deref()
        .and_then(|m| marc::iso2709::parse_record(m.as_bytes(), Some(Encoding::Utf8)).ok());
    let export = ExportBook {
        id: book.book.0,
        title: book.title.clone(),
        authors: book
            .authors
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        isbn: book.isbn.clone(),
        publisher: book.publisher.clone(),
        year: book.year,
        nonfiling: book.nonfiling.unwrap_or_else(|| {
            let articles: Vec<&str> = articles.iter().map(String::as_str).collect();
            crate::model::sortkey::default_nonfiling(&book.title, &articles)
        }),
        last_change: last_change(book.updated_at),
    };
    export_record(source.as_ref(), &export, holdings, tag)
}

/// 005: "YYYYMMDDHHMMSS.F", in UTC.
fn last_change(at: Stamp) -> String {
    at.0.strftime("%Y%m%d%H%M%S.0").to_string()
}
