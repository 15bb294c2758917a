//! Recognising which program wrote a sheet, from its header row alone.
//!
//! Headers are compared after [`normalize_header`], so case, spacing and
//! hyphens do not matter. A dialect is recognised when all its *required*
//! headers are present and at least [`Signature::min_distinctive`] of its
//! *distinctive* ones; dialects are tried in the order Goodreads,
//! LibraryThing, Libib, calibre, Shelfmark. The column-by-column meaning of
//! each dialect is in [`super::mapping`].
//!
//! Shelfmark's own layout is recognised when there is a `title` column and
//! every non-empty header is one of its field names (at least two). A sheet
//! with extra columns is `Unknown`; [`super::Mapping::guess`] still
//! maps its Shelfmark-named columns exactly.

use std::fmt;

use super::field::{Field, normalize_header};

/// The program (or layout) a sheet comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Shelfmark's own layout: `title, authors, isbn, publisher, year,
    /// barcode, collection, shelf_mark, note` in any order.
    Shelfmark,
    /// Goodreads "Export Library" CSV.
    Goodreads,
    /// LibraryThing export (tab-delimited or CSV).
    LibraryThing,
    /// Libib library export CSV.
    Libib,
    /// calibre's CSV catalog (`calibredb catalog x.csv`).
    Calibre,
    /// None of the above: map with [`super::Mapping::guess`] or
    /// [`super::Mapping::parse_cli`].
    Unknown,
}

impl Dialect {
    /// A human-readable name.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Dialect::Shelfmark => "Shelfmark",
            Dialect::Goodreads => "Goodreads",
            Dialect::LibraryThing => "LibraryThing",
            Dialect::Libib => "Libib",
            Dialect::Calibre => "calibre",
            Dialect::Unknown => "unknown",
        }
    }

    /// Recognises the dialect of a header row.
    #[must_use]
    pub fn detect<S: AsRef<str>>(headers: &[S]) -> Dialect {
        let normalized: Vec<String> = headers
            .iter()
            .map(|h| normalize_header(h.as_ref()))
            .collect();
        let has = |name: &str| normalized.iter().any(|h| h == name);
        for (dialect, signature) in SIGNATURES {
            let required = signature.required.iter().all(|r| has(r));
            let distinctive = signature.distinctive.iter().filter(|d| has(d)).count();
            if required && distinctive >= signature.min_distinctive {
                return *dialect;
            }
        }
        let own = |h: &String| Field::ALL.iter().any(|f| f.name() == h);
        let named: Vec<&String> = normalized.iter().filter(|h| !h.is_empty()).collect();
        if has(Field::Title.name()) && named.len() >= 2 && named.iter().all(|h| own(h)) {
            Dialect::Shelfmark
        } else {
            Dialect::Unknown
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What identifies a dialect's header row (names already normalised).
#[derive(Debug)]
pub struct Signature {
    /// All of these must be present.
    pub required: &'static [&'static str],
    /// Headers only this program writes.
    pub distinctive: &'static [&'static str],
    /// How many of `distinctive` must be present.
    pub min_distinctive: usize,
}

/// The signatures, in the order they are tried.
pub const SIGNATURES: &[(Dialect, Signature)] = &[
    (
        Dialect::Goodreads,
        Signature {
            required: &["title", "author", "isbn", "isbn13"],
            distinctive: &[
                "book_id",
                "author_l_f",
                "additional_authors",
                "my_rating",
                "exclusive_shelf",
                "bookshelves",
                "year_published",
            ],
            min_distinctive: 2,
        },
    ),
    (
        Dialect::LibraryThing,
        Signature {
            required: &["title", "primary_author"],
            distinctive: &[
                "primary_author_role",
                "secondary_author",
                "sort_character",
                "lc_classification",
                "dewey_decimal",
                "collections",
                "bcid",
                "work_id",
                "publication",
            ],
            min_distinctive: 2,
        },
    ),
    (
        Dialect::Libib,
        Signature {
            required: &["title", "creators"],
            distinctive: &[
                "item_type",
                "ean_isbn13",
                "upc_isbn10",
                "first_name",
                "last_name",
                "publish_date",
                "libib_title",
            ],
            min_distinctive: 2,
        },
    ),
    (
        Dialect::Calibre,
        Signature {
            required: &["title", "authors"],
            distinctive: &[
                "author_sort",
                "title_sort",
                "pubdate",
                "uuid",
                "series_index",
                "timestamp",
                "formats",
                "identifiers",
                "library_name",
            ],
            min_distinctive: 1,
        },
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each() {
        let gr = [
            "Book Id",
            "Title",
            "Author",
            "Author l-f",
            "ISBN",
            "ISBN13",
            "My Rating",
        ];
        assert_eq!(Dialect::detect(&gr), Dialect::Goodreads);
        let lt = [
            "Title",
            "Primary Author",
            "ISBN",
            "Barcode",
            "LC Classification",
            "Collections",
        ];
        assert_eq!(Dialect::detect(&lt), Dialect::LibraryThing);
        let lb = ["item_type", "title", "creators", "ean_isbn13", "upc_isbn10"];
        assert_eq!(Dialect::detect(&lb), Dialect::Libib);
        let ca = ["author_sort", "authors", "isbn", "pubdate", "title"];
        assert_eq!(Dialect::detect(&ca), Dialect::Calibre);
        let sm = ["Shelf Mark", "TITLE", "barcode"];
        assert_eq!(Dialect::detect(&sm), Dialect::Shelfmark);
        let plain_calibre = ["title", "authors", "isbn"];
        assert_eq!(Dialect::detect(&plain_calibre), Dialect::Shelfmark);
        let extra = ["title", "isbn", "Author(s)"];
        assert_eq!(Dialect::detect(&extra), Dialect::Unknown);
        let un = ["Title", "Author(s)", "Call number"];
        assert_eq!(Dialect::detect(&un), Dialect::Unknown);
        let none: [&str; 0] = [];
        assert_eq!(Dialect::detect(&none), Dialect::Unknown);
    }
}
