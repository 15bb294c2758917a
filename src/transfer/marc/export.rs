//! Building the record Shelfmark exports for a book: its edits merged into the
//! imported source record (everything Shelfmark does not edit is kept), or a
//! brief record when there is no source.
//!
//! Decisions (each applies only when the source exists; a brief record simply
//! gets the book's values):
//! - **Identity**: 001 = book id, 003 = `Shelfmark`, 005 = `last_change`. The
//!   source's own 001/003 (unless already `Shelfmark`) go to 035 $a
//!   `(AGENCY)NUMBER` (just `NUMBER` with no 003), unless such a 035 exists.
//! - **245**: if the book title equals the title [`map_record`] reads from the
//!   source, 245 is kept whole (only ind2 follows `nonfiling`). Otherwise $a $b
//!   $n $p are replaced by one $a with the new title; other subfields ($c, $h,
//!   $f, ...) are kept, and $a gets ` /` when $c follows (ISBD).
//! - **Authors** (100/110/111/700/710/711): kept untouched when the list is
//!   unchanged. Otherwise rebuilt in the new order, the first as a 1XX and the
//!   rest as 7XX; a name already present keeps its field (indicators, $d, $e,
//!   ...), re-tagged 1X0↔7X0 if it moved; removed names' fields go; new names
//!   get `100`/`700` with ind1 `1` if the name has a comma, else `0`.
//! - **020**: with an ISBN, the first 020 whose $a is the same ISBN (10 or 13
//!   digits) gets the new $a and keeps $q/$c; else a new 020 $a is added. Other
//!   020s (other ISBNs, $z-only) are kept. Without an ISBN, 020s are untouched.
//! - **Imprint**: the field [`map_record`] reads (264 _1, else 260) gets $b
//!   and/or $c replaced only for the value that changed, keeping its trailing
//!   punctuation; none there → a new 264 _1.
//! - **008/07-10** (Date 1) follows the year when 008 is long enough.
//! - **Holdings**: all 952 and 852 fields are removed; one field per
//!   [`ExportHolding`] is written with the chosen tag.
//! - **Leader**: source leader kept with leader/05 `n` → `c` (corrected); the
//!   writer recomputes length, base address and leader/09.

use super::map::{HoldingTag, clean_isbn, imprint_field, map_record, trim_punctuation};
use super::{Field, Leader, Record, Subfield, Tag, nfc_string, tags};

/// The book as Shelfmark holds it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportBook {
    /// Shelfmark's id (goes to 001).
    pub id: i64,
    /// Title.
    pub title: String,
    /// Authors, main entry first.
    pub authors: Vec<String>,
    /// ISBN-13 (13 digits).
    pub isbn: Option<String>,
    /// Publisher (may be empty).
    pub publisher: String,
    /// Year of publication.
    pub year: Option<i32>,
    /// Nonfiling characters of the title (0-9).
    pub nonfiling: u8,
    /// `YYYYMMDDHHMMSS.F` for 005.
    pub last_change: String,
}

/// One copy to export.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportHolding {
    /// Barcode.
    pub barcode: String,
    /// Call number / shelf mark.
    pub shelf_mark: String,
    /// Branch or location.
    pub collection: Option<String>,
}

fn tag(s: [u8; 3]) -> Tag {
    Tag::from_bytes(s).unwrap_or(tags::T245)
}

fn sf(code: char, value: &str) -> Subfield {
    Subfield::new(code, value)
}

/// ISBN-10 → ISBN-13 (978 prefix); other input returned cleaned.
fn isbn13(isbn: &str) -> String {
    let digits: String = isbn.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    if digits.len() != 10 {
        return digits;
    }
    let core = format!("978{}", digits.get(..9).unwrap_or_default());
    let sum: u32 = core
        .chars()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d } else { d * 3 })
        .sum();
    format!("{core}{}", (10 - sum % 10) % 10)
}

/// Exports `book` as a MARC record, merging into `source` when there is one.
#[must_use]
pub fn export_record(
    source: Option<&Record>,
    book: &ExportBook,
    holdings: &[ExportHolding],
    holdings_tag: HoldingTag,
) -> Record {
    let mut rec = match source {
        Some(src) => {
            let mut r = src.clone();
            if r.leader.record_status() == 'n' {
                r.leader.set(5, 'c');
            }
            r
        }
        None => Record::new(Leader::BRIEF_BOOK),
    };
    let mapped = source.map(map_record);
    set_identity(&mut rec, source, book);
    set_008(&mut rec, source.is_some(), book);
    set_isbn(&mut rec, book);
    set_authors(
        &mut rec,
        mapped.as_ref().map(|m| m.authors.as_slice()),
        book,
    );
    set_title(&mut rec, mapped.as_ref().map(|m| m.title.as_str()), book);
    set_imprint(&mut rec, mapped.as_ref(), book);
    set_holdings(&mut rec, holdings, holdings_tag);
    rec
}

fn set_identity(rec: &mut Record, source: Option<&Record>, book: &ExportBook) {
    if let Some(src) = source
        && let Some(number) = src
            .control_number()
            .map(str::trim)
            .filter(|n| !n.is_empty())
    {
        let agency = src.agency().map(str::trim).filter(|a| !a.is_empty());
        if agency != Some("Shelfmark") {
            let id = match agency {
                Some(a) => format!("({a}){number}"),
                None => number.to_owned(),
            };
            let exists = rec
                .fields("035")
                .any(|f| f.subfield_values('a').any(|v| v.trim() == id));
            if !exists {
                rec.insert_in_order(Field::data(tags::T035, ' ', ' ', vec![sf('a', &id)]));
            }
        }
    }
    rec.set_control(tags::T001, book.id.to_string());
    rec.set_control(tags::T003, "Shelfmark");
    rec.set_control(tags::T005, book.last_change.as_str());
}

fn set_008(rec: &mut Record, has_source: bool, book: &ExportBook) {
    let year = book
        .year
        .filter(|y| (0..=9999).contains(y))
        .map(|y| format!("{y:04}"));
    if has_source {
        if let (Some(y), Some(Field::Control { value, .. })) =
            (year, rec.fields.iter_mut().find(|f| f.tag() == tags::T008))
            && value.is_char_boundary(7)
            && value.is_char_boundary(11)
            && value.len() >= 11
        {
            value.replace_range(7..11, &y);
        }
        return;
    }
    // Minimal valid 008 for books: date entered from 005, single date or
    // none, place "xx ", language "und", cataloguing source "d" (other).
    let entered = book
        .last_change
        .get(2..8)
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("000000");
    let (kind, date1) = match &year {
        Some(y) => ('s', y.as_str()),
        None => ('n', "uuuu"),
    };
    let value = format!(
        "{entered}{kind}{date1}    xx {fill}000 0 und d",
        fill = " ".repeat(11)
    );
    rec.set_control(tags::T008, value);
}

fn set_isbn(rec: &mut Record, book: &ExportBook) {
    let Some(isbn) = book
        .isbn
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())
    else {
        return;
    };
    let isbn = clean_isbn(isbn).unwrap_or_else(|| isbn.to_owned());
    let isbn = isbn.as_str();
    let wanted = isbn13(isbn);
    let same = |f: &Field| {
        f.subfield_values('a')
            .filter_map(clean_isbn)
            .any(|c| isbn13(&c) == wanted)
    };
    if let Some(pos) = rec
        .fields
        .iter()
        .position(|f| f.tag() == tags::T020 && same(f))
    {
        if let Some(Field::Data { subfields, .. }) = rec.fields.get_mut(pos) {
            let mut replaced = false;
            subfields.retain_mut(|s| {
                if s.code != 'a' {
                    return true;
                }
                if replaced {
                    // A second $a with the same ISBN is dropped.
                    return clean_isbn(&s.value).is_none_or(|c| isbn13(&c) != wanted);
                }
                replaced = true;
                *s = sf('a', isbn);
                true
            });
        }
        // Any other 020 carrying the same ISBN in $a is a duplicate.
        let mut index = 0;
        rec.fields.retain(|f| {
            let keep = index == pos || f.tag() != tags::T020 || !same(f);
            index += 1;
            keep
        });
    } else {
        let first = rec.fields.iter().position(|f| f.tag() == tags::T020);
        let field = Field::data(tags::T020, ' ', ' ', vec![sf('a', isbn)]);
        match first {
            Some(p) => rec.fields.insert(p, field),
            None => rec.insert_in_order(field),
        }
    }
}

const AUTHOR_TAGS: [&str; 6] = ["100", "110", "111", "700", "710", "711"];

fn is_author_field(f: &Field) -> bool {
    AUTHOR_TAGS.contains(&f.tag().as_str())
}

fn retag(field: &Field, main: bool) -> Field {
    let mut f = field.clone();
    if let Field::Data { tag: t, .. } = &mut f {
        let b = t.as_bytes();
        let first = if main { b'1' } else { b'7' };
        *t = Tag::from_bytes([first, b[1], b[2]]).unwrap_or(*t);
    }
    f
}

fn set_authors(rec: &mut Record, mapped: Option<&[String]>, book: &ExportBook) {
    let authors: Vec<String> = book
        .authors
        .iter()
        .map(|a| nfc_string(a.trim().to_owned()))
        .filter(|a| !a.is_empty())
        .collect();
    if mapped.is_some_and(|m| m == authors.as_slice()) {
        return;
    }
    let old: Vec<Field> = rec
        .fields
        .iter()
        .filter(|f| is_author_field(f))
        .cloned()
        .collect();
    rec.fields.retain(|f| !is_author_field(f));
    let mut used = vec![false; old.len()];
    let mut main = Vec::new();
    let mut added = Vec::new();
    for (i, name) in authors.iter().enumerate() {
        let is_main = i == 0;
        let existing = old.iter().enumerate().position(|(j, f)| {
            !used.get(j).copied().unwrap_or(true)
                && f.subfield('a').is_some_and(|a| trim_punctuation(a) == name)
        });
        let field = if let Some((j, f)) = existing.and_then(|j| old.get(j).map(|f| (j, f))) {
            if let Some(u) = used.get_mut(j) {
                *u = true;
            }
            let is_1xx = f.tag().as_bytes()[0] == b'1';
            if is_1xx == is_main {
                f.clone()
            } else {
                retag(f, is_main)
            }
        } else {
            let ind1 = if name.contains(',') { '1' } else { '0' };
            let t = if is_main { tags::T100 } else { tags::T700 };
            Field::data(t, ind1, ' ', vec![sf('a', name)])
        };
        if is_main {
            main.push(field);
        } else {
            added.push(field);
        }
    }
    for f in main.into_iter().chain(added) {
        rec.insert_in_order(f);
    }
}

fn set_title(rec: &mut Record, mapped: Option<&str>, book: &ExportBook) {
    let title = nfc_string(book.title.trim().to_owned());
    let nonfiling = char::from(b'0' + book.nonfiling.min(9));
    let has_author = rec
        .fields
        .iter()
        .any(|f| matches!(f.tag().as_str(), "100" | "110" | "111" | "130"));
    let Some(pos) = rec.fields.iter().position(|f| f.tag() == tags::T245) else {
        let ind1 = if has_author { '1' } else { '0' };
        rec.insert_in_order(Field::data(
            tags::T245,
            ind1,
            nonfiling,
            vec![sf('a', &title)],
        ));
        return;
    };
    let Some(Field::Data {
        ind2, subfields, ..
    }) = rec.fields.get_mut(pos)
    else {
        return;
    };
    *ind2 = nonfiling;
    if mapped == Some(title.as_str()) {
        return;
    }
    let first = subfields
        .iter()
        .position(|s| matches!(s.code, 'a' | 'b' | 'n' | 'p'))
        .unwrap_or(0);
    subfields.retain(|s| !matches!(s.code, 'a' | 'b' | 'n' | 'p'));
    let slash = subfields.get(first).is_some_and(|s| s.code == 'c');
    let value = if slash { format!("{title} /") } else { title };
    subfields.insert(first.min(subfields.len()), sf('a', &value));
}

/// Replaces the first `code` subfield, keeping its trailing punctuation;
/// removes it when `value` is empty; adds it when absent.
fn replace_keeping_punct(subfields: &mut Vec<Subfield>, code: char, value: &str, after: &[char]) {
    let pos = subfields.iter().position(|s| s.code == code);
    match (pos, value.is_empty()) {
        (Some(p), true) => {
            subfields.remove(p);
        }
        (Some(p), false) => {
            if let Some(s) = subfields.get_mut(p) {
                let old = s.value.trim_end();
                let kept = trim_punctuation(old);
                let punct = old.get(kept.len()..).unwrap_or_default();
                // Keep ISBD separators like "," or " :" but not brackets' text.
                let punct = if punct.chars().all(|c| " /:;=,.".contains(c)) {
                    punct
                } else {
                    ""
                };
                *s = sf(code, &format!("{value}{punct}"));
            }
        }
        (None, true) => {}
        (None, false) => {
            let at = subfields
                .iter()
                .rposition(|s| after.contains(&s.code))
                .map_or(subfields.len(), |p| p + 1);
            subfields.insert(at.min(subfields.len()), sf(code, value));
        }
    }
}

fn set_imprint(rec: &mut Record, mapped: Option<&super::map::MappedBook>, book: &ExportBook) {
    let publisher = nfc_string(book.publisher.trim().to_owned());
    let year = book.year.map(|y| y.to_string()).unwrap_or_default();
    let pub_changed = mapped.is_none_or(|m| m.publisher != publisher);
    let year_changed = mapped.is_none_or(|m| m.year != book.year);
    if !pub_changed && !year_changed {
        return;
    }
    let target = imprint_field(rec).map(Field::tag).and_then(|t| {
        rec.fields
            .iter()
            .position(|f| f.tag() == t && (t != tags::T264 || f.ind2() == '1'))
    });
    if let Some(Field::Data { subfields, .. }) = target.and_then(|p| rec.fields.get_mut(p)) {
        if pub_changed {
            replace_keeping_punct(subfields, 'b', &publisher, &['a']);
        }
        if year_changed {
            replace_keeping_punct(subfields, 'c', &year, &['a', 'b']);
        }
        return;
    }
    let mut sfs = Vec::new();
    if !publisher.is_empty() {
        sfs.push(sf('b', &publisher));
    }
    if !year.is_empty() {
        sfs.push(sf('c', &year));
    }
    if !sfs.is_empty() {
        rec.insert_in_order(Field::data(tags::T264, ' ', '1', sfs));
    }
}

fn set_holdings(rec: &mut Record, holdings: &[ExportHolding], holdings_tag: HoldingTag) {
    rec.remove_fields("952");
    rec.remove_fields("852");
    for h in holdings {
        let barcode = h.barcode.trim();
        let shelf = h.shelf_mark.trim();
        let coll = h
            .collection
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let mut sfs = Vec::new();
        let field_tag = match holdings_tag {
            HoldingTag::Koha952 => {
                if let Some(c) = coll {
                    sfs.push(sf('a', c));
                    sfs.push(sf('b', c));
                }
                if !shelf.is_empty() {
                    sfs.push(sf('o', shelf));
                }
                sfs.push(sf('p', barcode));
                tag(*b"952")
            }
            HoldingTag::Marc852 => {
                if let Some(c) = coll {
                    sfs.push(sf('b', c));
                }
                if !shelf.is_empty() {
                    sfs.push(sf('h', shelf));
                }
                sfs.push(sf('p', barcode));
                tag(*b"852")
            }
        };
        rec.insert_in_order(Field::data(field_tag, ' ', ' ', sfs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn df(t: &str, i1: char, i2: char, s: &[(char, &str)]) -> Field {
        Field::data(
            Tag::parse(t).expect("tag"),
            i1,
            i2,
            s.iter().map(|(c, v)| sf(*c, v)).collect(),
        )
    }

    fn source() -> Record {
        Record {
            leader: Leader::parse("01234cam a2200301 a 4500").expect("leader"),
            fields: vec![
                Field::control(tags::T001, "  85012345 "),
                Field::control(tags::T003, "DLC"),
                Field::control(tags::T005, "19850101000000.0"),
                Field::control(tags::T008, "850101s1984    nyu           000 0 eng  "),
                df(
                    "020",
                    ' ',
                    ' ',
                    &[('a', "0198526636 (pbk.)"), ('c', "$12.00")],
                ),
                df("020", ' ', ' ', &[('z', "0000000000")]),
                df("020", ' ', ' ', &[('a', "9781234567897")]),
                df("100", '1', ' ', &[('a', "Smith, John,"), ('e', "author.")]),
                df(
                    "245",
                    '1',
                    '4',
                    &[
                        ('a', "The old title :"),
                        ('b', "sub /"),
                        ('c', "John Smith."),
                    ],
                ),
                df(
                    "264",
                    ' ',
                    '1',
                    &[('a', "New York :"), ('b', "Penguin,"), ('c', "1984.")],
                ),
                df("300", ' ', ' ', &[('a', "300 p.")]),
                df("490", '0', ' ', &[('a', "Series ;"), ('v', "1")]),
                df("500", ' ', ' ', &[('a', "A note.")]),
                df("650", ' ', '0', &[('a', "Cats.")]),
                df("700", '1', ' ', &[('a', "Doe, Jane."), ('e', "editor.")]),
                df("952", ' ', ' ', &[('p', "OLD1")]),
                df("852", ' ', ' ', &[('p', "OLD2")]),
            ],
        }
    }

    fn book_from(src: &Record) -> ExportBook {
        let m = map_record(src);
        ExportBook {
            id: 42,
            title: m.title,
            authors: m.authors,
            isbn: Some("9780198526636".into()),
            publisher: m.publisher,
            year: m.year,
            nonfiling: m.nonfiling,
            last_change: "20240501120000.0".into(),
        }
    }

    #[test]
    fn unchanged_book_keeps_fields() {
        let src = source();
        let out = export_record(Some(&src), &book_from(&src), &[], HoldingTag::Koha952);
        assert_eq!(out.control_number(), Some("42"));
        assert_eq!(out.agency(), Some("Shelfmark"));
        assert_eq!(out.control_value("005"), Some("20240501120000.0"));
        assert_eq!(
            out.field("035").and_then(|f| f.subfield('a')),
            Some("(DLC)85012345")
        );
        for t in ["100", "245", "264", "300", "490", "500", "650", "700"] {
            assert_eq!(out.field(t), src.field(t), "{t}");
        }
        assert_eq!(out.fields("020").count(), 3);
        assert_eq!(
            out.field("020").and_then(|f| f.subfield('a')),
            Some("9780198526636")
        );
        assert_eq!(
            out.field("020").and_then(|f| f.subfield('c')),
            Some("$12.00")
        );
        assert_eq!(out.fields("952").count() + out.fields("852").count(), 0);
        assert_eq!(out.leader.record_status(), 'c');
        // Re-exporting our own record adds no second 035.
        let again = export_record(Some(&out), &book_from(&src), &[], HoldingTag::Koha952);
        assert_eq!(again.fields("035").count(), 1);
    }

    #[test]
    fn edited_book() {
        let src = source();
        let mut book = book_from(&src);
        book.title = "A new title".into();
        book.nonfiling = 2;
        book.authors = vec!["Doe, Jane".into(), "New Person".into()];
        book.publisher = "Vintage".into();
        book.year = Some(2001);
        book.isbn = Some("9789999999991".into());
        let holdings = [
            ExportHolding {
                barcode: "B1".into(),
                shelf_mark: "823 SMI".into(),
                collection: Some("MAIN".into()),
            },
            ExportHolding {
                barcode: "B2".into(),
                shelf_mark: String::new(),
                collection: None,
            },
        ];
        let out = export_record(Some(&src), &book, &holdings, HoldingTag::Marc852);
        let m = map_record(&out);
        assert_eq!(m.title, "A new title");
        assert_eq!(m.nonfiling, 2);
        assert_eq!(m.authors, ["Doe, Jane", "New Person"]);
        assert_eq!(
            out.field("100").and_then(|f| f.subfield('e')),
            Some("editor.")
        );
        assert_eq!(
            out.field("245").and_then(|f| f.subfield('c')),
            Some("John Smith.")
        );
        assert_eq!(
            out.field("245").and_then(|f| f.subfield('a')),
            Some("A new title /")
        );
        assert_eq!(m.publisher, "Vintage");
        assert_eq!(m.year, Some(2001));
        assert_eq!(
            out.field("264").and_then(|f| f.subfield('b')),
            Some("Vintage,")
        );
        assert_eq!(
            out.field("264").and_then(|f| f.subfield('c')),
            Some("2001.")
        );
        assert_eq!(
            out.control_value("008").and_then(|v| v.get(7..11)),
            Some("2001")
        );
        assert_eq!(m.isbn_candidates[0], "9789999999991");
        assert_eq!(m.isbn_candidates.len(), 3);
        assert_eq!(out.fields("020").count(), 4);
        assert_eq!(m.holdings.len(), 2);
        assert_eq!(m.holdings[0].shelf_mark, "823 SMI");
        assert_eq!(out.fields("952").count(), 0);
        for t in ["300", "490", "500", "650"] {
            assert_eq!(out.field(t), src.field(t), "{t}");
        }
        // tag order kept
        let tags: Vec<Tag> = out.fields.iter().map(Field::tag).collect();
        let mut sorted = tags.clone();
        sorted.sort_unstable();
        assert_eq!(tags, sorted);
    }

    #[test]
    fn brief_record() {
        let book = ExportBook {
            id: 7,
            title: "Géode".into(),
            authors: vec!["Müller, Anna".into()],
            isbn: Some("9780198526636".into()),
            publisher: "Self".into(),
            year: Some(1999),
            nonfiling: 0,
            last_change: "20240501120000.0".into(),
        };
        let out = export_record(None, &book, &[], HoldingTag::Koha952);
        assert_eq!(out.leader.record_type(), 'a');
        assert_eq!(out.leader.bibliographic_level(), 'm');
        let f008 = out.control_value("008").expect("008");
        assert_eq!(f008.len(), 40, "{f008:?}");
        assert_eq!(&f008[..11], "240501s1999");
        assert_eq!(&f008[35..38], "und");
        let m = map_record(&out);
        assert_eq!(m.title, "Géode");
        assert_eq!(m.authors, ["Müller, Anna"]);
        assert_eq!(m.year, Some(1999));
        assert_eq!(m.publisher, "Self");
        assert_eq!(out.fields("035").count(), 0);
        assert_eq!(out.field("245").map(Field::ind1), Some('1'));
    }

    #[test]
    fn isbn10_conversion() {
        assert_eq!(isbn13("0198526636"), "9780198526636");
        assert_eq!(isbn13("9780198526636"), "9780198526636");
    }
}
