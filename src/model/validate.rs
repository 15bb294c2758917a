//! Parse, don't validate: a raw draft becomes a `Valid*` value (normalised, within limits) or a
//! list of field errors in words. The same rules run in the editor (early feedback) and in the
//! save executor (the rule), so a stored value is always a normalised one.
//!
//! Text rules, for every field: Unicode NFC, leading and trailing white space trimmed, control
//! characters refused (a note or description may hold line breaks and tabs), and a length limit
//! in characters. Barcodes are NFKC-normalised (so full-width digits from some keyboards become
//! ASCII), upper-cased, and limited to `A-Z 0-9 - . /`.

use std::fmt;

use unicode_normalization::{IsNormalized, UnicodeNormalization};

use super::{BookDraft, CollectionDraft, CopyDraft, Field, PlacementDraft, isbn};
use super::{BookId, CollectionId, CopyId};

/// Longest title or author list, in characters.
pub const TITLE_MAX: usize = 500;
/// Longest publisher or shelf mark, in characters.
pub const SHORT_TEXT_MAX: usize = 200;
/// Longest collection name, in characters.
pub const NAME_MAX: usize = 100;
/// Longest note or description, in characters.
pub const LONG_TEXT_MAX: usize = 4000;
/// Longest barcode, in characters.
pub const BARCODE_MAX: usize = 32;

/// A rule one field broke, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub message: String,
}

impl FieldError {
    pub fn new(field: Field, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field.label(), self.message)
    }
}

/// A book draft that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidBook {
    pub title: String,
    pub authors: String,
    pub isbn: Option<String>,
    pub publisher: String,
    pub year: Option<i32>,
    /// Leading characters that do not file; `None`: worked out from the library's articles.
    pub nonfiling: Option<u8>,
}

/// A copy draft that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidCopy {
    pub book_id: BookId,
    pub barcode: String,
}

/// A collection draft that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidCollection {
    pub name: String,
    /// Case-folded name; live collections are unique by this key.
    pub name_key: String,
    pub description: String,
}

/// A placement draft that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidPlacement {
    pub copy_id: CopyId,
    pub collection_id: CollectionId,
    pub shelf_mark: String,
    pub note: String,
}

/// Collects field errors while parsing a draft.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn take<T: Default>(&mut self, field: Field, result: Result<T, String>) -> T {
        result.unwrap_or_else(|message| {
            self.0.push(FieldError::new(field, message));
            T::default()
        })
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Many,
}

/// NFC, trimmed, no control characters, at most `max` characters; `required` refuses empty.
fn text(raw: &str, max: usize, required: bool, lines: Lines) -> Result<String, String> {
    let unified = raw.replace("\r\n", "\n");
    // Most text is already NFC (all ASCII text is); only compose what needs it.
    let normal: String =
        if unicode_normalization::is_nfc_quick(unified.chars()) == IsNormalized::Yes {
            unified
        } else {
            unified.nfc().collect()
        };
    let trimmed = normal.trim();
    if let Some(c) = trimmed
        .chars()
        .find(|&c| c.is_control() && !(lines == Lines::Many && (c == '\n' || c == '\t')))
    {
        return Err(format!(
            "contains a control character (U+{:04X}); remove it",
            u32::from(c)
        ));
    }
    if required && trimmed.is_empty() {
        return Err("is required".to_owned());
    }
    let count = trimmed.chars().count();
    if count > max {
        return Err(format!("is too long: {count} characters, at most {max}"));
    }
    Ok(trimmed.to_owned())
}

/// Barcode rule: NFKC, trimmed, upper case, 1 to [`BARCODE_MAX`] of `A-Z 0-9 - . /`.
fn barcode(raw: &str) -> Result<String, String> {
    let normal: String = raw.nfkc().collect::<String>().trim().to_ascii_uppercase();
    if normal.is_empty() {
        return Err("is required".to_owned());
    }
    if let Some(c) = normal
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/')))
    {
        return Err(format!(
            "may only hold letters A-Z, digits, '-', '.' and '/', not '{}'",
            c.escape_debug()
        ));
    }
    let count = normal.chars().count();
    if count > BARCODE_MAX {
        return Err(format!(
            "is too long: {count} characters, at most {BARCODE_MAX}"
        ));
    }
    Ok(normal)
}

fn year(raw: &str) -> Result<Option<i32>, String> {
    let t: String = raw.nfkc().collect::<String>().trim().to_owned();
    if t.is_empty() {
        return Ok(None);
    }
    let latest = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .year()
        + 1;
    let latest = i32::from(latest);
    match t.parse::<i32>() {
        Ok(y) if (1..=latest).contains(&y) && t.chars().all(|c| c.is_ascii_digit()) => Ok(Some(y)),
        Ok(_) => Err(format!("must be a year between 1 and {latest}")),
        Err(_) => Err(format!("'{t}' is not a year (digits only, like 1965)")),
    }
}

fn nonfiling(raw: &str) -> Result<Option<u8>, String> {
    let t: String = raw.nfkc().collect::<String>().trim().to_owned();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<u8>() {
        Ok(n) if n <= 9 && t.len() == 1 => Ok(Some(n)),
        _ => Err(format!(
            "must be a number from 0 to 9 (how many characters of the title do not file; \
             leave it empty to work it out from the title), not '{t}'"
        )),
    }
}

fn isbn_field(raw: &str) -> Result<Option<String>, String> {
    let t: String = raw.nfkc().collect::<String>().trim().to_owned();
    if t.is_empty() {
        return Ok(None);
    }
    isbn::parse(&t).map(Some).map_err(|e| e.to_string())
}

/// The key that makes collection names unique regardless of case: NFC, trimmed, lower case.
pub fn name_key(name: &str) -> String {
    name.nfc().collect::<String>().trim().to_lowercase()
}

impl BookDraft {
    pub fn validate(&self) -> Result<ValidBook, Vec<FieldError>> {
        let mut e = Errors::default();
        let title = e.take(Field::Title, text(&self.title, TITLE_MAX, true, Lines::One));
        let authors = e.take(
            Field::Authors,
            text(&self.authors, TITLE_MAX, false, Lines::One),
        );
        let isbn = e.take(Field::Isbn, isbn_field(&self.isbn));
        let publisher = e.take(
            Field::Publisher,
            text(&self.publisher, SHORT_TEXT_MAX, false, Lines::One),
        );
        let year = e.take(Field::Year, year(&self.year));
        let nonfiling = e.take(Field::Nonfiling, nonfiling(&self.nonfiling));
        e.finish(ValidBook {
            title,
            authors,
            isbn,
            publisher,
            year,
            nonfiling,
        })
    }
}

impl CopyDraft {
    pub fn validate(&self) -> Result<ValidCopy, Vec<FieldError>> {
        let mut e = Errors::default();
        let barcode = e.take(Field::Barcode, barcode(&self.barcode));
        e.finish(ValidCopy {
            book_id: self.book_id,
            barcode,
        })
    }
}

impl CollectionDraft {
    pub fn validate(&self) -> Result<ValidCollection, Vec<FieldError>> {
        let mut e = Errors::default();
        let name = e.take(Field::Name, text(&self.name, NAME_MAX, true, Lines::One));
        let description = e.take(
            Field::Description,
            text(&self.description, LONG_TEXT_MAX, false, Lines::Many),
        );
        e.finish(ValidCollection {
            name_key: name_key(&name),
            name,
            description,
        })
    }
}

impl PlacementDraft {
    pub fn validate(&self) -> Result<ValidPlacement, Vec<FieldError>> {
        let mut e = Errors::default();
        let shelf_mark = e.take(
            Field::ShelfMark,
            text(&self.shelf_mark, SHORT_TEXT_MAX, false, Lines::One),
        );
        let note = e.take(
            Field::Note,
            text(&self.note, LONG_TEXT_MAX, false, Lines::Many),
        );
        e.finish(ValidPlacement {
            copy_id: self.copy_id,
            collection_id: self.collection_id,
            shelf_mark,
            note,
        })
    }
}

/// Normalises a barcode the way a save would, for looking one up as the user types.
pub fn normalize_barcode(raw: &str) -> Result<String, String> {
    barcode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(title: &str, isbn: &str, year: &str) -> BookDraft {
        BookDraft {
            title: title.into(),
            authors: "Frank Herbert".into(),
            isbn: isbn.into(),
            publisher: String::new(),
            year: year.into(),
            nonfiling: String::new(),
        }
    }

    fn errors(r: Result<impl fmt::Debug, Vec<FieldError>>) -> Vec<(Field, String)> {
        match r {
            Ok(_) => vec![],
            Err(v) => v.into_iter().map(|e| (e.field, e.message)).collect(),
        }
    }

    #[test]
    fn book_rules() {
        let ok = book("  Dune ", "0-441-17271-7", "1965").validate().unwrap();
        assert_eq!(ok.title, "Dune");
        assert_eq!(ok.isbn.as_deref(), Some("9780441172719"));
        assert_eq!(ok.year, Some(1965));

        let e = errors(book("   ", "978-0-441-17271-8", "19x5").validate());
        let fields: Vec<Field> = e.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec![Field::Title, Field::Isbn, Field::Year]);
        assert_eq!(e[0].1, "is required");
        assert!(e[1].1.contains("check digit"), "{}", e[1].1);
        assert!(e[2].1.contains("not a year"), "{}", e[2].1);

        let e = errors(book("A", "", "3000").validate());
        assert!(e[0].1.starts_with("must be a year between 1 and"));
        let e = errors(book("A", "", "-5").validate());
        assert_eq!(e[0].0, Field::Year);
    }

    #[test]
    fn text_rules() {
        let long = "x".repeat(TITLE_MAX + 1);
        let e = errors(book(&long, "", "").validate());
        assert_eq!(e[0].1, "is too long: 501 characters, at most 500");
        let e = errors(book("Nul\0here", "", "").validate());
        assert!(e[0].1.contains("U+0000"));
        // Combining marks are composed (NFC), so the stored value is canonical.
        let ok = book("Cafe\u{301}", "", "").validate().unwrap();
        assert_eq!(ok.title, "Caf\u{e9}");
        // Right-to-left text, emoji and SQL metacharacters are ordinary text.
        for t in ["مكتبة", "📚 Books", "'; DROP TABLE books; --"] {
            assert_eq!(book(t, "", "").validate().unwrap().title, t);
        }
        // A note may span lines; a shelf mark may not.
        let p = PlacementDraft {
            copy_id: CopyId(1),
            collection_id: CollectionId(1),
            shelf_mark: "QA76\n.K5".into(),
            note: "line one\r\nline two".into(),
        };
        let e = errors(p.validate());
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, Field::ShelfMark);
    }

    #[test]
    fn barcode_rules() {
        let check = |raw: &str, expected: Result<&str, ()>| {
            let got = barcode(raw);
            match expected {
                Ok(v) => assert_eq!(got.as_deref(), Ok(v), "{raw:?}"),
                Err(()) => assert!(got.is_err(), "{raw:?} gave {got:?}"),
            }
        };
        check(" 0042 ", Ok("0042"));
        check("ab-12/3.4", Ok("AB-12/3.4"));
        check("００４２", Ok("0042")); // full-width digits from an IME
        check("", Err(()));
        check("00 42", Err(()));
        check("0042\u{0}", Err(()));
        check("\u{410}042", Err(())); // Cyrillic A looks like Latin A
        check(&"9".repeat(BARCODE_MAX + 1), Err(()));
    }

    #[test]
    fn collection_names_fold_case() {
        let c = CollectionDraft {
            name: " Rare Books ".into(),
            description: String::new(),
        }
        .validate()
        .unwrap();
        assert_eq!(c.name, "Rare Books");
        assert_eq!(c.name_key, "rare books");
        assert_eq!(name_key("BÜCHER"), name_key("bücher"));
    }
}
