//! The neutral fields every sheet is mapped onto, and header-name normalisation.

use std::fmt;

/// A neutral field of Shelfmark's own layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// Title of the work.
    Title,
    /// Author(s); several are joined with `"; "`.
    Authors,
    /// ISBN as written (only dialect wrappers removed).
    Isbn,
    /// Publisher.
    Publisher,
    /// Year of publication.
    Year,
    /// Barcode of the copy.
    Barcode,
    /// Collection (or location) the copy belongs to.
    Collection,
    /// Shelf mark / call number.
    ShelfMark,
    /// Free-text note.
    Note,
}

impl Field {
    /// All fields, in the order of Shelfmark's layout.
    pub const ALL: [Field; 9] = [
        Field::Title,
        Field::Authors,
        Field::Isbn,
        Field::Publisher,
        Field::Year,
        Field::Barcode,
        Field::Collection,
        Field::ShelfMark,
        Field::Note,
    ];

    /// The field's name in Shelfmark's layout (`shelf_mark`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Authors => "authors",
            Field::Isbn => "isbn",
            Field::Publisher => "publisher",
            Field::Year => "year",
            Field::Barcode => "barcode",
            Field::Collection => "collection",
            Field::ShelfMark => "shelf_mark",
            Field::Note => "note",
        }
    }

    /// Position of the field in [`Field::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The field named `name`: its layout name in any case, with spaces or
    /// hyphens for underscores, plus the aliases `author`, `shelfmark`,
    /// `call_number` and `notes`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Field> {
        let n = normalize_header(name);
        if let Some(f) = Field::ALL.into_iter().find(|f| f.name() == n) {
            return Some(f);
        }
        match n.as_str() {
            "author" => Some(Field::Authors),
            "shelfmark" | "call_number" => Some(Field::ShelfMark),
            "notes" => Some(Field::Note),
            _ => None,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Normalises a header cell the way Shelfmark's layout is matched: trimmed,
/// a stray U+FEFF removed, lower-cased, runs of spaces, hyphens and
/// underscores turned into one underscore. `"Shelf Mark"`, `"shelf-mark"`
/// and `"SHELF_MARK"` all become `"shelf_mark"`; `"Author l-f"` becomes
/// `"author_l_f"`.
#[must_use]
pub fn normalize_header(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let mut pending_sep = false;
    for c in header
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}')
        .chars()
    {
        if c == '\u{FEFF}' {
            continue;
        }
        if c.is_whitespace() || c == '-' || c == '_' {
            pending_sep = true;
            continue;
        }
        if pending_sep && !out.is_empty() {
            out.push('_');
        }
        pending_sep = false;
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(normalize_header(" Shelf Mark "), "shelf_mark");
        assert_eq!(normalize_header("shelf-mark"), "shelf_mark");
        assert_eq!(normalize_header("\u{FEFF}SHELF__MARK"), "shelf_mark");
        assert_eq!(normalize_header("Author l-f"), "author_l_f");
    }

    #[test]
    fn names() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
            assert_eq!(Field::ALL[f.index()], f);
        }
        assert_eq!(Field::from_name("Shelf Mark"), Some(Field::ShelfMark));
        assert_eq!(Field::from_name("author"), Some(Field::Authors));
        assert_eq!(Field::from_name("auther"), None);
    }
}
