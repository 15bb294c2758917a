//! A unique-value conflict among live rows, with enough about the record that holds the value to
//! say so in plain words ("Copy 0042 (Dune) is already in Rare Books — added 20 Nov 2026 10:14").

use jiff::tz::TimeZone;

use super::{BookId, CollectionId, CopyId, Field, PlacementId, RecordRef, Stamp, format_minute};

/// The value a save wanted is held by a live record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The field whose value is taken.
    pub field: Field,
    /// The live record that holds it.
    pub holder: Holder,
    /// The workstation that last changed the holder, if it is known (rows saved before
    /// Shelfmark recorded it are not).
    pub by: Option<By>,
}

/// Who last changed a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct By {
    /// The workstation's name ("circulation-desk").
    pub name: String,
    /// Whether the record changed after it was added (then `name` changed it, and may not be
    /// who added it).
    pub changed: bool,
}

/// The live record that holds a unique value, described for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    Placement {
        id: PlacementId,
        version: i64,
        copy_id: CopyId,
        barcode: String,
        title: String,
        collection_id: CollectionId,
        collection: String,
        added: Stamp,
    },
    Copy {
        id: CopyId,
        barcode: String,
        book_id: BookId,
        title: String,
        added: Stamp,
    },
    Collection {
        id: CollectionId,
        name: String,
        added: Stamp,
    },
    Book {
        id: BookId,
        title: String,
        isbn: String,
        added: Stamp,
    },
}

impl Holder {
    pub fn reference(&self) -> RecordRef {
        match self {
            Holder::Placement { id, .. } => (*id).into(),
            Holder::Copy { id, .. } => (*id).into(),
            Holder::Collection { id, .. } => (*id).into(),
            Holder::Book { id, .. } => (*id).into(),
        }
    }
}

impl Conflict {
    /// The sentence shown next to the field, with times in `tz`: "Copy 0042 (Dune) is already in
    /// Rare Books — added by circulation-desk, 20 Nov 2026 10:14".
    pub fn message(&self, tz: &TimeZone) -> String {
        let (head, verb, at) = match &self.holder {
            Holder::Placement {
                barcode,
                title,
                collection,
                added,
                ..
            } => (
                format!("Copy {barcode} ({title}) is already in {collection}"),
                "added",
                added,
            ),
            Holder::Copy {
                barcode,
                title,
                added,
                ..
            } => (
                format!("Barcode {barcode} is already on a copy of {title}"),
                "added",
                added,
            ),
            Holder::Collection { name, added, .. } => (
                format!("There is already a collection named {name}"),
                "created",
                added,
            ),
            Holder::Book {
                title, isbn, added, ..
            } => (
                format!(
                    "ISBN {} is already used by {title}",
                    super::isbn::display(isbn)
                ),
                "added",
                added,
            ),
        };
        let when = format_minute(*at, tz);
        match &self.by {
            None => format!("{head} — {verb} {when}"),
            Some(By {
                name,
                changed: false,
            }) => format!("{head} — {verb} by {name}, {when}"),
            Some(By {
                name,
                changed: true,
            }) => format!("{head} — {verb} {when}, last changed by {name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_conflict_reads_like_a_sentence() {
        let c = Conflict {
            field: Field::Copy,
            holder: Holder::Placement {
                id: PlacementId(7),
                version: 1,
                copy_id: CopyId(3),
                barcode: "0042".into(),
                title: "Dune".into(),
                collection_id: CollectionId(2),
                collection: "Rare Books".into(),
                added: "2026-11-20T10:14:00Z".parse().unwrap(),
            },
            by: None,
        };
        assert_eq!(
            c.message(&TimeZone::UTC),
            "Copy 0042 (Dune) is already in Rare Books — added 20 Nov 2026 10:14"
        );
        let by = |changed| {
            Some(By {
                name: "circulation-desk".into(),
                changed,
            })
        };
        let c = Conflict { by: by(false), ..c };
        assert_eq!(
            c.message(&TimeZone::UTC),
            "Copy 0042 (Dune) is already in Rare Books — added by circulation-desk, 20 Nov 2026 10:14"
        );
        let c = Conflict { by: by(true), ..c };
        assert_eq!(
            c.message(&TimeZone::UTC),
            "Copy 0042 (Dune) is already in Rare Books — added 20 Nov 2026 10:14, last changed by circulation-desk"
        );
    }
}
