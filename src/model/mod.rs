//! The domain, as plain values: ids, records, drafts and their validation, and the typed outcome
//! of a save. No SQL and no egui in here, so everything can be tested on its own.
//!
//! A librarian's library holds **books** (bibliographic records), **copies** (physical items of
//! a book, each with a barcode), **collections**, and **placements** (a copy placed in a
//! collection, with a shelf mark and a note). Every record carries [`Meta`]: a version that grows
//! with each change (optimistic concurrency) and the timestamps, including `deleted_at` for the
//! Trash.

mod conflict;
mod import;
pub mod isbn;
mod offline;
mod rows;
pub mod sortkey;
mod time;
mod validate;
mod words;

use std::fmt;

pub use conflict::{By, Conflict, Holder};
pub use import::{ImportJob, ImportRow, ImportSummary, RowSource, SourceRecord};
pub use offline::{
    Attention, AttentionKind, Decision, LocalState, ReplayFigures, SyncStatus, refusal,
};
pub use rows::{
    BookRow, CollectionSummary, CopyRow, Counts, ExportRow, MARK_EVERY, OrderValue, PlacementRow,
    RecordRow, RowKey, SortKey, TrashRow, Window, WindowQuery, WindowStart,
};
pub use time::{Stamp, format_day, format_minute};
pub use validate::{
    BARCODE_MAX, FieldError, LONG_TEXT_MAX, NAME_MAX, SHORT_TEXT_MAX, TITLE_MAX, ValidBook,
    ValidCollection, ValidCopy, ValidPlacement, name_key, normalize_barcode,
};
pub use words::{
    Problem, SERVER_WAITING_TEXT, WAITING_TEXT, Wait, continuing, count, number, stale_message,
};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[derive(serde::Serialize, serde::Deserialize)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Row id of a book.
    BookId
);
id_type!(
    /// Row id of a copy.
    CopyId
);
id_type!(
    /// Row id of a collection.
    CollectionId
);
id_type!(
    /// Row id of a placement (a copy in a collection).
    PlacementId
);

/// The four kinds of record, one table each.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Kind {
    Book,
    Copy,
    Collection,
    Placement,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Book, Kind::Copy, Kind::Collection, Kind::Placement];

    /// The table that stores this kind. A `&'static str` from this list is the only thing ever
    /// spliced into SQL text.
    pub fn table(self) -> &'static str {
        match self {
            Kind::Book => "books",
            Kind::Copy => "copies",
            Kind::Collection => "collections",
            Kind::Placement => "placements",
        }
    }

    /// Lower-case noun for messages ("book", "copy", ...).
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Book => "book",
            Kind::Copy => "copy",
            Kind::Collection => "collection",
            Kind::Placement => "placement",
        }
    }
}

/// A reference to one row of one table.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct RecordRef {
    pub kind: Kind,
    pub id: i64,
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.noun(), self.id)
    }
}

impl From<BookId> for RecordRef {
    fn from(id: BookId) -> Self {
        RecordRef {
            kind: Kind::Book,
            id: id.0,
        }
    }
}
impl From<CopyId> for RecordRef {
    fn from(id: CopyId) -> Self {
        RecordRef {
            kind: Kind::Copy,
            id: id.0,
        }
    }
}
impl From<CollectionId> for RecordRef {
    fn from(id: CollectionId) -> Self {
        RecordRef {
            kind: Kind::Collection,
            id: id.0,
        }
    }
}
impl From<PlacementId> for RecordRef {
    fn from(id: PlacementId) -> Self {
        RecordRef {
            kind: Kind::Placement,
            id: id.0,
        }
    }
}

/// Bookkeeping every row carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    /// Starts at 1 and grows by one with every change of the row.
    pub version: i64,
    pub created_at: Stamp,
    pub updated_at: Stamp,
    /// `None` while live; the moment it went to the Trash otherwise.
    pub deleted_at: Option<Stamp>,
    /// The workstation that last changed the row ('' for rows saved before this was kept).
    pub updated_by: String,
}

impl Meta {
    pub fn is_live(&self) -> bool {
        self.deleted_at.is_none()
    }
}

/// A bibliographic record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Book {
    pub id: BookId,
    pub title: String,
    pub authors: String,
    /// Normalised ISBN-13 (13 digits, no hyphens), if the book has one.
    pub isbn: Option<String>,
    pub publisher: String,
    pub year: Option<i32>,
    /// How many leading characters of the title do not file ("The " is 4); `None` while it
    /// is worked out from the library's articles.
    pub nonfiling: Option<u8>,
    pub meta: Meta,
}

/// A physical item of a book.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copy {
    pub id: CopyId,
    pub book_id: BookId,
    pub barcode: String,
    pub meta: Meta,
}

/// A named group of copies ("Rare Books", "Reading room").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    pub id: CollectionId,
    pub name: String,
    pub description: String,
    pub meta: Meta,
}

/// A copy placed in a collection (the seed's "book profile").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub id: PlacementId,
    pub copy_id: CopyId,
    pub collection_id: CollectionId,
    pub shelf_mark: String,
    pub note: String,
    pub meta: Meta,
}

/// Any one record, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Book(Book),
    Copy(Copy),
    Collection(Collection),
    Placement(Placement),
}

impl Record {
    pub fn meta(&self) -> &Meta {
        match self {
            Record::Book(r) => &r.meta,
            Record::Copy(r) => &r.meta,
            Record::Collection(r) => &r.meta,
            Record::Placement(r) => &r.meta,
        }
    }

    pub fn reference(&self) -> RecordRef {
        match self {
            Record::Book(r) => r.id.into(),
            Record::Copy(r) => r.id.into(),
            Record::Collection(r) => r.id.into(),
            Record::Placement(r) => r.id.into(),
        }
    }

    /// The user-visible fields with their current values, for "it is now ..." messages.
    pub fn fields(&self) -> Vec<(Field, String)> {
        match self {
            Record::Book(b) => vec![
                (Field::Title, b.title.clone()),
                (Field::Authors, b.authors.clone()),
                (Field::Isbn, b.isbn.clone().unwrap_or_default()),
                (Field::Publisher, b.publisher.clone()),
                (
                    Field::Year,
                    b.year.map(|y| y.to_string()).unwrap_or_default(),
                ),
                (
                    Field::Nonfiling,
                    b.nonfiling.map(|n| n.to_string()).unwrap_or_default(),
                ),
            ],
            Record::Copy(c) => vec![
                (Field::Book, c.book_id.to_string()),
                (Field::Barcode, c.barcode.clone()),
            ],
            Record::Collection(c) => vec![
                (Field::Name, c.name.clone()),
                (Field::Description, c.description.clone()),
            ],
            Record::Placement(p) => vec![
                (Field::Copy, p.copy_id.to_string()),
                (Field::Collection, p.collection_id.to_string()),
                (Field::ShelfMark, p.shelf_mark.clone()),
                (Field::Note, p.note.clone()),
            ],
        }
    }
}

/// A form field, so that a message can be shown next to the field it is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Field {
    Title,
    Authors,
    Isbn,
    Publisher,
    Year,
    Nonfiling,
    Book,
    Barcode,
    Name,
    Description,
    Copy,
    Collection,
    ShelfMark,
    Note,
}

impl Field {
    /// The label users see on the form.
    pub fn label(self) -> &'static str {
        match self {
            Field::Title => "Title",
            Field::Authors => "Authors",
            Field::Isbn => "ISBN",
            Field::Publisher => "Publisher",
            Field::Year => "Year",
            Field::Nonfiling => "Nonfiling characters",
            Field::Book => "Book",
            Field::Barcode => "Barcode",
            Field::Name => "Name",
            Field::Description => "Description",
            Field::Copy => "Copy",
            Field::Collection => "Collection",
            Field::ShelfMark => "Shelf mark",
            Field::Note => "Note",
        }
    }
}

/// What a user typed for a book, before validation.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BookDraft {
    pub title: String,
    pub authors: String,
    pub isbn: String,
    pub publisher: String,
    pub year: String,
    /// How many leading characters do not file (0–9); empty: worked out from the title.
    pub nonfiling: String,
}

/// What a user typed for a copy, before validation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CopyDraft {
    pub book_id: BookId,
    pub barcode: String,
}

/// What a user typed for a collection, before validation.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CollectionDraft {
    pub name: String,
    pub description: String,
}

/// A copy to place in a collection, with its shelf mark and note, before validation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlacementDraft {
    pub copy_id: CopyId,
    pub collection_id: CollectionId,
    pub shelf_mark: String,
    pub note: String,
}

impl From<&Book> for BookDraft {
    fn from(b: &Book) -> Self {
        BookDraft {
            title: b.title.clone(),
            authors: b.authors.clone(),
            // Shown hyphenated, as people read ISBNs; stored as its 13 digits.
            isbn: b.isbn.as_deref().map(isbn::display).unwrap_or_default(),
            publisher: b.publisher.clone(),
            year: b.year.map(|y| y.to_string()).unwrap_or_default(),
            nonfiling: b.nonfiling.map(|n| n.to_string()).unwrap_or_default(),
        }
    }
}
impl From<&Copy> for CopyDraft {
    fn from(c: &Copy) -> Self {
        CopyDraft {
            book_id: c.book_id,
            barcode: c.barcode.clone(),
        }
    }
}
impl From<&Collection> for CollectionDraft {
    fn from(c: &Collection) -> Self {
        CollectionDraft {
            name: c.name.clone(),
            description: c.description.clone(),
        }
    }
}
impl From<&Placement> for PlacementDraft {
    fn from(p: &Placement) -> Self {
        PlacementDraft {
            copy_id: p.copy_id,
            collection_id: p.collection_id,
            shelf_mark: p.shelf_mark.clone(),
            note: p.note.clone(),
        }
    }
}

/// A draft of any kind.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Draft {
    Book(BookDraft),
    Copy(CopyDraft),
    Collection(CollectionDraft),
    Placement(PlacementDraft),
}

impl Draft {
    pub fn kind(&self) -> Kind {
        match self {
            Draft::Book(_) => Kind::Book,
            Draft::Copy(_) => Kind::Copy,
            Draft::Collection(_) => Kind::Collection,
            Draft::Placement(_) => Kind::Placement,
        }
    }
}

/// One write a user (or the load generator) asks for. Every op that changes an existing row
/// carries the version the editor started from. Serialised for a shared library's outbox,
/// which keeps every op but imports and the settings (they need the server).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    Create(Draft),
    Update {
        target: RecordRef,
        version: i64,
        draft: Draft,
    },
    /// Soft delete: move to the Trash (children go with it).
    Delete {
        target: RecordRef,
        version: i64,
    },
    /// Bring back from the Trash (with whatever went to the Trash with it).
    Restore {
        target: RecordRef,
        version: i64,
    },
    /// Bring back from the Trash changed so that it no longer conflicts with a live record.
    RestoreAs {
        target: RecordRef,
        version: i64,
        change: RestoreChange,
    },
    /// Delete for good, from the Trash only.
    Purge {
        target: RecordRef,
        version: i64,
    },
    /// Place the live copy with this barcode in a collection: what a scan does. The barcode is
    /// looked up inside the save's transaction.
    PlaceBarcode {
        collection: CollectionId,
        barcode: String,
    },
    /// Add many rows at once, all or nothing (the sample library, a CSV import).
    #[serde(skip)]
    Import(std::sync::Arc<ImportJob>),
    /// Set the library's articles (the words a title may start with that do not file), and
    /// refile the titles that depend on them.
    #[serde(skip)]
    SetArticles(Vec<String>),
}

impl Op {
    /// The kind of record the op writes.
    pub fn kind(&self) -> Kind {
        match self {
            Op::Create(d) => d.kind(),
            Op::Update { target, .. }
            | Op::Delete { target, .. }
            | Op::Restore { target, .. }
            | Op::RestoreAs { target, .. }
            | Op::Purge { target, .. } => target.kind,
            Op::PlaceBarcode { .. } | Op::Import(_) => Kind::Placement,
            Op::SetArticles(_) => Kind::Book,
        }
    }
}

/// How a record comes back from the Trash when its own value is taken meanwhile.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RestoreChange {
    /// A collection, under this name.
    Rename(String),
    /// A copy, with this barcode.
    Rebarcode(String),
    /// A book, without its ISBN (another live book has it).
    WithoutIsbn,
    /// A book's copies (with their placements) come back as copies of this live book, the one
    /// that holds its ISBN; the emptied record stays in the Trash.
    MergeInto(BookId),
}

/// What became of a save. Exactly one of these reaches the editor that asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Committed: the row and its new version. Only sent after COMMIT returned.
    Saved { record: RecordRef, version: i64 },
    /// The draft breaks a rule; nothing was written.
    Invalid(Vec<FieldError>),
    /// A live record already holds the value (unique among live rows).
    Conflict(Conflict),
    /// The record changed since the editor loaded it; here are its current values.
    Stale(Record),
    /// The record went to the Trash elsewhere (or, for a restore, came back elsewhere).
    DeletedElsewhere(Record),
    /// The record no longer exists at all (deleted for good).
    Gone(RecordRef),
    /// No live copy has this barcode (normalised); the editor may offer to create one.
    UnknownBarcode(String),
    /// An import was applied; what it created and matched.
    Imported(ImportSummary),
    /// The library's settings were saved.
    Settings,
    /// The save could not happen (disk full, read-only file, I/O error...).
    Failed(Failure),
}

impl Outcome {
    pub fn is_saved(&self) -> bool {
        matches!(self, Outcome::Saved { .. })
    }

    /// Whether the save changed the library (and must be kept and announced).
    pub fn wrote(&self) -> bool {
        matches!(
            self,
            Outcome::Saved { .. } | Outcome::Imported(_) | Outcome::Settings
        )
    }
}

/// Why a save failed, in words, with the class of fault so the UI can offer the right action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// The full cause chain, "outer: inner: innermost".
    pub message: String,
}

impl Failure {
    /// The failure of background work that stopped before it answered.
    pub fn stopped() -> Failure {
        Failure {
            kind: FailureKind::Other,
            message: "the background work stopped before answering".to_owned(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    DiskFull,
    ReadOnly,
    Corrupt,
    Io,
    Other,
}
