//! Mapping a bibliographic [`Record`] to the fields Shelfmark edits
//! ([`MappedBook`]) and its holdings ([`Holding`], Koha 952 or MARC 852).
//!
//! Rules:
//! - title: 245 $a $b $n $p in field order, joined with blanks, trailing ISBD
//!   punctuation (` /`, ` :`, ` ;`, ` =`, `.`, `,`) removed;
//! - authors: $a of 100, 110, 111, then 700, 710 (and 711), trailing punctuation removed,
//!   duplicates dropped;
//! - ISBN candidates: 020 $a only (never $z), text up to the first blank or `(`,
//!   hyphens and other non-ISBN characters dropped, duplicates dropped;
//! - publisher / year: the first 264 with second indicator 1, else the first 260;
//!   publisher from $b, year = first stand-alone 4-digit number in $c; when the
//!   chosen field gives no year, 008/07-10 is used if it is four digits;
//! - nonfiling: 245 second indicator when a digit, else 0;
//! - holdings: 952 ($p barcode, $o shelf mark, $a else $b collection) and 852
//!   ($p barcode, $h + $i shelf mark, $b collection); one without a barcode is
//!   skipped with a warning.
//!
//! "Trailing punctuation removed" keeps a final period after a one-letter
//! initial ("Tolkien, J. R. R.") so names keep their initials.

use super::{Field, Record};

/// Which holdings field a [`Holding`] came from (or export writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldingTag {
    /// Koha items, tag 952.
    Koha952,
    /// MARC 21 location, tag 852.
    Marc852,
}

impl HoldingTag {
    /// The tag as text.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            HoldingTag::Koha952 => "952",
            HoldingTag::Marc852 => "852",
        }
    }
}

/// One copy on the shelf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// Barcode ($p).
    pub barcode: String,
    /// Call number / shelf mark (952 $o; 852 $h + $i); may be empty.
    pub shelf_mark: String,
    /// Branch or location (952 $a or $b; 852 $b).
    pub collection: Option<String>,
    /// Where it came from.
    pub source: HoldingTag,
}

/// What Shelfmark takes from a record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MappedBook {
    /// Title proper and remainder.
    pub title: String,
    /// Main and added entry names.
    pub authors: Vec<String>,
    /// Possible ISBNs, in field order.
    pub isbn_candidates: Vec<String>,
    /// Publisher name (may be empty).
    pub publisher: String,
    /// Year of publication.
    pub year: Option<i32>,
    /// Number of nonfiling characters of the title (245 second indicator).
    pub nonfiling: u8,
    /// 001.
    pub control_number: Option<String>,
    /// 003.
    pub control_agency: Option<String>,
    /// Copies with a barcode.
    pub holdings: Vec<Holding>,
    /// What was skipped, in words.
    pub warnings: Vec<String>,
}

/// Removes trailing ISBD punctuation and blanks (repeatedly), keeping a final
/// period that follows a one-letter initial.
#[must_use]
pub fn trim_punctuation(s: &str) -> &str {
    let mut s = s.trim();
    loop {
        let before = s;
        if let Some(rest) = s.strip_suffix(['/', ':', ';', '=', ',']) {
            s = rest.trim_end();
        } else if let Some(rest) = s.strip_suffix('.')
            && !ends_with_initial(rest)
        {
            s = rest.trim_end();
        }
        if s == before {
            return s;
        }
    }
}

/// True when `s` ends with a single letter that stands alone ("J" in "Smith, J").
fn ends_with_initial(s: &str) -> bool {
    let mut rev = s.chars().rev();
    match (rev.next(), rev.next()) {
        (Some(c), None) => c.is_alphabetic(),
        (Some(c), Some(p)) => c.is_alphabetic() && !p.is_alphanumeric(),
        _ => false,
    }
}

fn title_of(record: &Record) -> (String, u8) {
    let Some(f) = record.field("245") else {
        return (String::new(), 0);
    };
    let parts: Vec<&str> = f
        .subfields()
        .iter()
        .filter(|s| matches!(s.code, 'a' | 'b' | 'n' | 'p'))
        .map(|s| s.value.trim())
        .filter(|v| !v.is_empty())
        .collect();
    let joined = parts.join(" ");
    let nonfiling = f.ind2().to_digit(10).map_or(0, |d| d as u8);
    (trim_punctuation(&joined).to_owned(), nonfiling)
}

fn authors_of(record: &Record) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in ["100", "110", "111", "700", "710", "711"] {
        for f in record.fields(tag) {
            if let Some(a) = f.subfield('a') {
                let name = trim_punctuation(a);
                if !name.is_empty() && !out.iter().any(|n| n == name) {
                    out.push(name.to_owned());
                }
            }
        }
    }
    out
}

/// Cleans one 020 $a into an ISBN candidate ("0-19-852663-6 (pbk.)" → "0198526636").
#[must_use]
pub fn clean_isbn(raw: &str) -> Option<String> {
    let head = raw
        .trim()
        .split([' ', '(', '\t'])
        .next()
        .unwrap_or_default();
    let isbn: String = head
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, 'X' | 'x'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (!isbn.is_empty()).then_some(isbn)
}

fn isbns_of(record: &Record) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in record.fields("020") {
        for a in f.subfield_values('a') {
            if let Some(isbn) = clean_isbn(a)
                && !out.contains(&isbn)
            {
                out.push(isbn);
            }
        }
    }
    out
}

/// The first stand-alone 4-digit number ("c1965." → 1965, "p1999, c2001" → 1999).
#[must_use]
pub fn first_year(s: &str) -> Option<i32> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i).is_some_and(u8::is_ascii_digit) {
            let run = bytes
                .get(i..)
                .unwrap_or(&[])
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if run == 4 {
                return s.get(i..i + 4).and_then(|y| y.parse().ok());
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}

/// The field publisher and year come from: first 264 with ind2 '1', else first 260.
#[must_use]
pub fn imprint_field(record: &Record) -> Option<&Field> {
    record
        .fields("264")
        .find(|f| f.ind2() == '1')
        .or_else(|| record.field("260"))
}

fn holdings_of(record: &Record, warnings: &mut Vec<String>) -> Vec<Holding> {
    let mut out = Vec::new();
    let nonempty = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    for (tag, source) in [("952", HoldingTag::Koha952), ("852", HoldingTag::Marc852)] {
        for (i, f) in record.fields(tag).enumerate() {
            let Some(barcode) = nonempty(f.subfield('p')) else {
                warnings.push(format!(
                    "holding {} in field {tag} has no barcode ($p) and was skipped",
                    i + 1
                ));
                continue;
            };
            let (shelf_mark, collection) = match source {
                HoldingTag::Koha952 => (
                    nonempty(f.subfield('o')).unwrap_or_default(),
                    nonempty(f.subfield('a')).or_else(|| nonempty(f.subfield('b'))),
                ),
                HoldingTag::Marc852 => {
                    let parts: Vec<String> = [f.subfield('h'), f.subfield('i')]
                        .into_iter()
                        .filter_map(nonempty)
                        .collect();
                    (parts.join(" "), nonempty(f.subfield('b')))
                }
            };
            out.push(Holding {
                barcode,
                shelf_mark,
                collection,
                source,
            });
        }
    }
    out
}

/// Maps a record to what Shelfmark shows and edits.
#[must_use]
pub fn map_record(record: &Record) -> MappedBook {
    let (title, nonfiling) = title_of(record);
    let imprint = imprint_field(record);
    let publisher = imprint
        .and_then(|f| f.subfield('b'))
        .map(|b| trim_punctuation(b).to_owned())
        .unwrap_or_default();
    let year = imprint
        .and_then(|f| f.subfield_values('c').find_map(first_year))
        .or_else(|| {
            record
                .control_value("008")
                .and_then(|v| v.get(7..11))
                .filter(|y| y.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|y| y.parse().ok())
        });
    let mut warnings = Vec::new();
    let holdings = holdings_of(record, &mut warnings);
    MappedBook {
        title,
        authors: authors_of(record),
        isbn_candidates: isbns_of(record),
        publisher,
        year,
        nonfiling,
        control_number: record.control_number().map(str::to_owned),
        control_agency: record.agency().map(str::to_owned),
        holdings,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Leader, Subfield, Tag};
    use super::*;

    fn df(tag: &str, ind1: char, ind2: char, sfs: &[(char, &str)]) -> Field {
        Field::data(
            Tag::parse(tag).expect("tag"),
            ind1,
            ind2,
            sfs.iter().map(|(c, v)| Subfield::new(*c, *v)).collect(),
        )
    }

    fn rec(fields: Vec<Field>) -> Record {
        Record {
            leader: Leader::BRIEF_BOOK,
            fields,
        }
    }

    #[test]
    fn punctuation_table() {
        for (input, want) in [
            ("Title /", "Title"),
            ("Title :", "Title"),
            ("Title ;", "Title"),
            ("Title =", "Title"),
            ("Title.", "Title"),
            ("Smith, John,", "Smith, John"),
            ("Tolkien, J. R. R.", "Tolkien, J. R. R."),
            ("Penguin Books,", "Penguin Books"),
            ("  Spaced  /  ", "Spaced"),
            ("A.", "A."),
            ("", ""),
            (" / ", ""),
        ] {
            assert_eq!(trim_punctuation(input), want, "{input:?}");
        }
    }

    #[test]
    fn title_table() {
        for (sfs, ind2, want, nf) in [
            (
                vec![('a', "The hobbit /"), ('c', "Tolkien.")],
                '4',
                "The hobbit",
                4,
            ),
            (
                vec![('a', "Géode :"), ('b', "a study /"), ('c', "X.")],
                '0',
                "Géode : a study",
                0,
            ),
            (
                vec![('a', "Histoire."), ('n', "Tome 2,"), ('p', "La suite.")],
                ' ',
                "Histoire. Tome 2, La suite",
                0,
            ),
            (vec![('a', "Plain")], 'x', "Plain", 0),
        ] {
            let m = map_record(&rec(vec![df("245", '1', ind2, &sfs)]));
            assert_eq!(m.title, want);
            assert_eq!(m.nonfiling, nf);
        }
    }

    #[test]
    fn authors_isbn_imprint() {
        let r = rec(vec![
            Field::control(Tag::parse("001").expect("t"), "12345"),
            Field::control(Tag::parse("003").expect("t"), "DLC"),
            Field::control(
                Tag::parse("008").expect("t"),
                "850101s1984    nyu           000 0 eng d",
            ),
            df(
                "020",
                ' ',
                ' ',
                &[('a', "0-19-852663-6 (pbk.)"), ('c', "$10")],
            ),
            df("020", ' ', ' ', &[('z', "0198526644")]),
            df(
                "020",
                ' ',
                ' ',
                &[('a', "9780198526636 :"), ('q', "hardcover")],
            ),
            df("020", ' ', ' ', &[('a', "019852663X(cloth)")]),
            df("100", '1', ' ', &[('a', "Smith, John,"), ('d', "1950-")]),
            df("110", '2', ' ', &[('a', "Acme Corp.")]),
            df("700", '1', ' ', &[('a', "Doe, J."), ('e', "editor.")]),
            df("700", '1', ' ', &[('a', "Smith, John.")]),
            df(
                "260",
                ' ',
                ' ',
                &[('a', "London :"), ('b', "Old,"), ('c', "1970.")],
            ),
            df(
                "264",
                ' ',
                '1',
                &[('a', "New York :"), ('b', "Penguin,"), ('c', "[1899?]")],
            ),
        ]);
        let m = map_record(&r);
        assert_eq!(m.authors, ["Smith, John", "Acme Corp", "Doe, J."]);
        assert_eq!(
            m.isbn_candidates,
            ["0198526636", "9780198526636", "019852663X"]
        );
        assert_eq!(m.publisher, "Penguin");
        assert_eq!(m.year, Some(1899));
        assert_eq!(m.control_number.as_deref(), Some("12345"));
        assert_eq!(m.control_agency.as_deref(), Some("DLC"));
    }

    #[test]
    fn year_table() {
        for (c, want) in [
            ("c1965.", Some(1965)),
            ("[1899?]", Some(1899)),
            ("p1999, c2001", Some(1999)),
            ("19--", None),
            ("[199-]", None),
            ("12345", None),
            ("MCMLX [1960]", Some(1960)),
            ("", None),
        ] {
            assert_eq!(first_year(c), want, "{c:?}");
        }
        // 260 when no 264 _1; 008 fallback when $c has no year.
        let r = rec(vec![
            Field::control(
                Tag::parse("008").expect("t"),
                "850101s1984    nyu           000 0 eng d",
            ),
            df("264", ' ', '4', &[('c', "©2001")]),
            df("260", ' ', ' ', &[('b', "Old,"), ('c', "[n.d.]")]),
        ]);
        let m = map_record(&r);
        assert_eq!(m.publisher, "Old");
        assert_eq!(m.year, Some(1984));
    }

    #[test]
    fn holdings_table() {
        let r = rec(vec![
            df(
                "952",
                ' ',
                ' ',
                &[
                    ('a', "MAIN"),
                    ('b', "BR2"),
                    ('o', "823.912 TOL"),
                    ('p', "3900001"),
                ],
            ),
            df("952", ' ', ' ', &[('b', "BR2"), ('p', "3900002")]),
            df("952", ' ', ' ', &[('a', "MAIN"), ('o', "X")]),
            df(
                "852",
                ' ',
                ' ',
                &[
                    ('b', "Stacks"),
                    ('h', "PR6039.O32"),
                    ('i', "H6 1937"),
                    ('p', "B-1"),
                ],
            ),
            df("852", ' ', ' ', &[('h', "QA76")]),
        ]);
        let m = map_record(&r);
        assert_eq!(
            m.holdings,
            [
                Holding {
                    barcode: "3900001".into(),
                    shelf_mark: "823.912 TOL".into(),
                    collection: Some("MAIN".into()),
                    source: HoldingTag::Koha952
                },
                Holding {
                    barcode: "3900002".into(),
                    shelf_mark: String::new(),
                    collection: Some("BR2".into()),
                    source: HoldingTag::Koha952
                },
                Holding {
                    barcode: "B-1".into(),
                    shelf_mark: "PR6039.O32 H6 1937".into(),
                    collection: Some("Stacks".into()),
                    source: HoldingTag::Marc852
                },
            ]
        );
        assert_eq!(m.warnings.len(), 2);
        assert!(m.warnings[0].contains("952"), "{:?}", m.warnings);
        assert!(m.warnings[1].contains("852"), "{:?}", m.warnings);
    }
}
