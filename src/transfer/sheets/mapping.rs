//! Which column(s) of a sheet feed which neutral [`Field`].
//!
//! A [`Mapping`] holds, for each field, an optional [`Source`]: the columns
//! consulted (by 0-based index, in order of preference) and how their cells
//! are [`Combine`]d. Every cell is first trimmed and freed of an Excel
//! formula wrapper (`="…"`); ISBN cells also of LibraryThing's brackets.
//!
//! # Dialect tables
//!
//! Column names as the programs write them; "a → b" means the first
//! non-empty of a, then b.
//!
//! | field | Shelfmark | Goodreads | LibraryThing | Libib | calibre |
//! |---|---|---|---|---|---|
//! | title | `title` | `Title` | `Title` | `title` | `title` |
//! | authors | `authors` | `Author` + `Additional Authors` (split at `,`) | `Primary Author` + those `Secondary Author` entries (split at `\|`) whose `Secondary Author Roles` entry is empty or `Author` | `creators` (split at `,`) | `authors` (split at `&`) |
//! | isbn | `isbn` | `ISBN13` → `ISBN` (`="…"` removed) | `ISBN` → `ISBNs` (`[…]` removed, first of a list) | `ean_isbn13` → `upc_isbn10` | `isbn` |
//! | publisher | `publisher` | `Publisher` | `Publication`, text before `(year)` | `publisher` | `publisher` |
//! | year | `year` | `Year Published` → `Original Publication Year` | `Date` → the `(year)` in `Publication` | year of `publish_date` | year of `pubdate` (calibre's undefined `0101` → empty) |
//! | barcode | `barcode` | – | `Barcode` | `barcode` (if present) | – |
//! | collection | `collection` | – | `Collections` (split at `,`) | `collection` | – |
//! | shelf_mark | `shelf_mark` | – | `LC Classification` → `Dewey Decimal` → `Other Call Number` | `call_number` → `call_numbers` (if present) | – |
//! | note | `note` | `Private Notes` | `Comment` | `notes` | – |
//!
//! Lists are re-joined with `"; "`. Unmapped columns (Goodreads' shelves,
//! calibre's tags and comments, …) can be mapped by hand with
//! [`Mapping::parse_cli`] or [`Mapping::set_column`].

use std::fmt;

use super::dialect::Dialect;
use super::field::{Field, normalize_header};

/// How the cells of a [`Source`]'s columns make one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Combine {
    /// The first non-empty cell.
    First,
    /// The first non-empty cell; an ISO date (`2008-03-01…`) is cut to its year.
    YearOfDate,
    /// calibre `pubdate`: like [`Combine::YearOfDate`], and calibre's
    /// undefined date (year `0101`) becomes empty.
    CalibreYear,
    /// Every cell split at `,`, joined with `"; "` (Libib creators,
    /// LibraryThing collections).
    CommaList,
    /// Goodreads: the first column as it is, the others split at `,`; all
    /// joined with `"; "`.
    GoodreadsAuthors,
    /// calibre: split at `&`, joined with `"; "`.
    CalibreAuthors,
    /// LibraryThing: column 0 is Primary Author, column 1 (if any) Secondary
    /// Author (`|`-separated); a secondary name is kept when its entry in
    /// the `roles` column (also `|`-separated) is missing, empty or `Author`.
    LibraryThingAuthors {
        /// Index of the Secondary Author Roles column.
        roles: Option<usize>,
    },
    /// LibraryThing Publication: the text before its `(year)`.
    LibraryThingPublisher,
    /// LibraryThing: the first non-empty cell (Date), else the `(year)` in
    /// the `publication` column.
    LibraryThingYear {
        /// Index of the Publication column.
        publication: Option<usize>,
    },
}

/// The columns feeding one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// Column indices (0-based), in order of preference.
    pub columns: Vec<usize>,
    /// How their cells are combined.
    pub combine: Combine,
}

impl Source {
    /// A single column taken as it is.
    #[must_use]
    pub fn column(index: usize) -> Source {
        Source {
            columns: vec![index],
            combine: Combine::First,
        }
    }
}

/// Field → column(s) of one sheet.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Mapping {
    dialect: Option<Dialect>,
    sources: [Option<Source>; 9],
}

/// Why a `field=column` mapping could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// Nothing to map.
    #[error("the mapping is empty; write it as field=column pairs, e.g. title=Title,isbn=ISBN13")]
    Empty,
    /// An item is not `field=column`.
    #[error("\"{item}\" is not of the form field=column")]
    Syntax {
        /// The offending item.
        item: String,
    },
    /// The field name is not one of Shelfmark's.
    #[error("unknown field \"{field}\"; the fields are: {known}")]
    UnknownField {
        /// The name given.
        field: String,
        /// The valid names.
        known: String,
    },
    /// No header has that name.
    #[error(
        "there is no column named \"{column}\" (for field {field}); the columns are: {available}"
    )]
    UnknownColumn {
        /// The field being mapped.
        field: Field,
        /// The name given.
        column: String,
        /// The sheet's headers.
        available: String,
    },
    /// `#N` names a column the sheet does not have.
    #[error("column #{number} (for field {field}) does not exist; the sheet has {count} columns")]
    ColumnOutOfRange {
        /// The field being mapped.
        field: Field,
        /// The 1-based number given.
        number: usize,
        /// How many columns there are.
        count: usize,
    },
    /// The name matches several headers once case and spacing are ignored.
    #[error(
        "the column name \"{column}\" (for field {field}) matches several columns: {matches}; write it exactly"
    )]
    AmbiguousColumn {
        /// The field being mapped.
        field: Field,
        /// The name given.
        column: String,
        /// The headers it matches.
        matches: String,
    },
    /// The same field appears twice.
    #[error("field {field} is mapped twice")]
    DuplicateField {
        /// The field.
        field: Field,
    },
}

impl Mapping {
    /// A mapping with no field mapped.
    #[must_use]
    pub fn new() -> Mapping {
        Mapping::default()
    }

    /// Recognises the dialect of `headers` ([`Dialect::detect`]) and returns
    /// its table (see the module documentation). For [`Dialect::Unknown`]
    /// this is [`Mapping::guess`], whose [`Mapping::dialect`] stays `Unknown`
    /// so the UI knows to ask the user to check it.
    #[must_use]
    pub fn for_dialect<S: AsRef<str>>(headers: &[S]) -> Mapping {
        Mapping::of_dialect(Dialect::detect(headers), headers)
    }

    /// The table of `dialect` applied to `headers` (for when the user
    /// overrides detection). Columns the sheet lacks are left unmapped.
    #[must_use]
    pub fn of_dialect<S: AsRef<str>>(dialect: Dialect, headers: &[S]) -> Mapping {
        let h = Headers::new(headers);
        let mut m = Mapping {
            dialect: Some(dialect),
            sources: Default::default(),
        };
        match dialect {
            Dialect::Unknown => {
                let mut g = Mapping::guess(headers);
                g.dialect = Some(Dialect::Unknown);
                return g;
            }
            Dialect::Shelfmark => {
                for f in Field::ALL {
                    m.put(f, h.find(&[f.name()]), Combine::First);
                }
            }
            Dialect::Goodreads => {
                m.put(Field::Title, h.find(&["title"]), Combine::First);
                m.put(
                    Field::Authors,
                    h.find(&["author", "additional_authors"]),
                    Combine::GoodreadsAuthors,
                );
                m.put(Field::Isbn, h.find(&["isbn13", "isbn"]), Combine::First);
                m.put(Field::Publisher, h.find(&["publisher"]), Combine::First);
                m.put(
                    Field::Year,
                    h.find(&["year_published", "original_publication_year"]),
                    Combine::First,
                );
                m.put(Field::Note, h.find(&["private_notes"]), Combine::First);
            }
            Dialect::LibraryThing => {
                m.put(Field::Title, h.find(&["title"]), Combine::First);
                m.put(
                    Field::Authors,
                    h.find(&["primary_author", "secondary_author"]),
                    Combine::LibraryThingAuthors {
                        roles: h.one("secondary_author_roles"),
                    },
                );
                m.put(Field::Isbn, h.find(&["isbn", "isbns"]), Combine::First);
                m.put(
                    Field::Publisher,
                    h.find(&["publication"]),
                    Combine::LibraryThingPublisher,
                );
                let publication = h.one("publication");
                let mut year = h.find(&["date"]);
                if year.is_empty() {
                    year.extend(publication);
                }
                m.put(Field::Year, year, Combine::LibraryThingYear { publication });
                m.put(Field::Barcode, h.find(&["barcode"]), Combine::First);
                m.put(
                    Field::Collection,
                    h.find(&["collections"]),
                    Combine::CommaList,
                );
                m.put(
                    Field::ShelfMark,
                    h.find(&["lc_classification", "dewey_decimal", "other_call_number"]),
                    Combine::First,
                );
                m.put(Field::Note, h.find(&["comment"]), Combine::First);
            }
            Dialect::Libib => {
                m.put(Field::Title, h.find(&["title"]), Combine::First);
                m.put(Field::Authors, h.find(&["creators"]), Combine::CommaList);
                m.put(
                    Field::Isbn,
                    h.find(&["ean_isbn13", "upc_isbn10"]),
                    Combine::First,
                );
                m.put(Field::Publisher, h.find(&["publisher"]), Combine::First);
                m.put(Field::Year, h.find(&["publish_date"]), Combine::YearOfDate);
                m.put(Field::Barcode, h.find(&["barcode"]), Combine::First);
                m.put(Field::Collection, h.find(&["collection"]), Combine::First);
                m.put(
                    Field::ShelfMark,
                    h.find(&["call_number", "call_numbers"]),
                    Combine::First,
                );
                m.put(Field::Note, h.find(&["notes"]), Combine::First);
            }
            Dialect::Calibre => {
                m.put(Field::Title, h.find(&["title"]), Combine::First);
                m.put(
                    Field::Authors,
                    h.find(&["authors"]),
                    Combine::CalibreAuthors,
                );
                m.put(Field::Isbn, h.find(&["isbn"]), Combine::First);
                m.put(Field::Publisher, h.find(&["publisher"]), Combine::First);
                m.put(Field::Year, h.find(&["pubdate"]), Combine::CalibreYear);
            }
        }
        m
    }

    /// Proposes a mapping for a sheet of unknown origin from its header
    /// names: exact synonyms first (`Author(s)`, `Call number`, `Location`,
    /// `Signatur`, `Verlag`, …), then headers containing a keyword
    /// (`Item Barcode`, `Main author`). Each header feeds at most one field.
    /// `Location` maps to collection, `Call number`/`Shelf` to `shelf_mark`.
    #[must_use]
    pub fn guess<S: AsRef<str>>(headers: &[S]) -> Mapping {
        let keys: Vec<Vec<String>> = headers.iter().map(|h| guess_tokens(h.as_ref())).collect();
        let mut candidates: Vec<(u32, usize, Field)> = Vec::new();
        for (index, tokens) in keys.iter().enumerate() {
            if tokens.is_empty() {
                continue;
            }
            let joined = tokens.join(" ");
            for &(field, exact, keywords) in SYNONYMS {
                let mut best = 0u32;
                for &(phrase, score) in exact {
                    if guess_tokens(phrase).join(" ") == joined {
                        best = best.max(score);
                    }
                }
                for &(word, score) in keywords {
                    let want = guess_tokens(word);
                    if want.iter().all(|w| tokens.contains(w)) {
                        let extra = u32::try_from(tokens.len().saturating_sub(want.len()))
                            .unwrap_or(u32::MAX);
                        best = best.max(score.saturating_sub(extra));
                    }
                }
                if best > 0 {
                    candidates.push((best, index, field));
                }
            }
        }
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut m = Mapping {
            dialect: Some(Dialect::Unknown),
            sources: Default::default(),
        };
        let mut used = vec![false; headers.len()];
        for (_, index, field) in candidates {
            if m.sources[field.index()].is_none() && !used[index] {
                used[index] = true;
                m.sources[field.index()] = Some(Source::column(index));
            }
        }
        m
    }

    /// Builds a mapping from `field=column` pairs separated by commas, e.g.
    /// `title=Title,isbn=ISBN13,barcode=Item Barcode`. Fields are
    /// Shelfmark's names (any case; `author`, `shelfmark`, `notes` also
    /// accepted). A column is its header text, matched exactly or else
    /// ignoring case, spaces, hyphens and underscores; `#3` is the third
    /// column; a name with a comma can be written in double quotes
    /// (`note="Notes, private"`). Each column is taken as it is
    /// ([`Combine::First`]).
    ///
    /// # Errors
    ///
    /// A [`MappingError`] naming the unknown field or column, the malformed
    /// item, or the field given twice.
    pub fn parse_cli<S: AsRef<str>>(spec: &str, headers: &[S]) -> Result<Mapping, MappingError> {
        let mut m = Mapping {
            dialect: None,
            sources: Default::default(),
        };
        let mut any = false;
        for item in split_items(spec)? {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let Some((field_name, column)) = item.split_once('=') else {
                return Err(MappingError::Syntax {
                    item: item.to_owned(),
                });
            };
            let (field_name, column) = (field_name.trim(), unquote(column.trim()));
            if field_name.is_empty() || column.is_empty() {
                return Err(MappingError::Syntax {
                    item: item.to_owned(),
                });
            }
            let field = Field::from_name(field_name).ok_or_else(|| MappingError::UnknownField {
                field: field_name.to_owned(),
                known: Field::ALL.map(Field::name).join(", "),
            })?;
            if m.sources[field.index()].is_some() {
                return Err(MappingError::DuplicateField { field });
            }
            let index = resolve_column(field, column, headers)?;
            m.sources[field.index()] = Some(Source::column(index));
            any = true;
        }
        if any { Ok(m) } else { Err(MappingError::Empty) }
    }

    /// The dialect this mapping was made for: `None` for a hand-made one.
    #[must_use]
    pub fn dialect(&self) -> Option<Dialect> {
        self.dialect
    }

    /// The source of `field`, if mapped.
    #[must_use]
    pub fn source(&self, field: Field) -> Option<&Source> {
        self.sources[field.index()].as_ref()
    }

    /// The preferred column of `field`, if mapped (for a mapping dialog).
    #[must_use]
    pub fn column(&self, field: Field) -> Option<usize> {
        self.source(field).and_then(|s| s.columns.first().copied())
    }

    /// Maps `field` to one column taken as it is, or unmaps it with `None`.
    /// Marks the mapping as hand-made ([`Mapping::dialect`] becomes `None`).
    pub fn set_column(&mut self, field: Field, column: Option<usize>) {
        self.set_source(field, column.map(Source::column));
    }

    /// Sets the whole source of `field` (see [`Mapping::set_column`]).
    pub fn set_source(&mut self, field: Field, source: Option<Source>) {
        self.dialect = None;
        self.sources[field.index()] = source;
    }

    /// Writes the mapping back as `field=column` pairs (preferred columns
    /// only), the form [`Mapping::parse_cli`] reads.
    #[must_use]
    pub fn to_cli<S: AsRef<str>>(&self, headers: &[S]) -> String {
        let mut parts = Vec::new();
        for f in Field::ALL {
            if let Some(c) = self.column(f) {
                let name = headers.get(c).map_or("", AsRef::as_ref);
                let unique = headers.iter().filter(|h| h.as_ref() == name).count() == 1;
                let col = if name.trim().is_empty() || !unique || name.trim() != name {
                    format!("#{}", c.saturating_add(1))
                } else if name.contains([',', '"']) || name.starts_with('#') {
                    format!("\"{}\"", name.replace('"', ""))
                } else {
                    name.to_owned()
                };
                parts.push(format!("{f}={col}"));
            }
        }
        parts.join(",")
    }

    fn put(&mut self, field: Field, columns: Vec<usize>, combine: Combine) {
        if !columns.is_empty() {
            self.sources[field.index()] = Some(Source { columns, combine });
        }
    }
}

impl fmt::Display for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for field in Field::ALL {
            if let Some(s) = self.source(field) {
                if !first {
                    f.write_str(", ")?;
                }
                first = false;
                let cols: Vec<String> = s
                    .columns
                    .iter()
                    .map(|c| format!("#{}", c.saturating_add(1)))
                    .collect();
                write!(f, "{field}={}", cols.join("/"))?;
            }
        }
        Ok(())
    }
}

/// Normalised header names, for looking up a dialect's columns.
struct Headers(Vec<String>);

impl Headers {
    fn new<S: AsRef<str>>(headers: &[S]) -> Headers {
        Headers(
            headers
                .iter()
                .map(|h| normalize_header(h.as_ref()))
                .collect(),
        )
    }

    /// First column with this (normalised) name.
    fn one(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|h| h == name)
    }

    /// The columns present among `names`, in that order.
    fn find(&self, names: &[&str]) -> Vec<usize> {
        names.iter().filter_map(|n| self.one(n)).collect()
    }
}

/// Splits a CLI spec at commas outside double quotes.
fn split_items(spec: &str) -> Result<Vec<&str>, MappingError> {
    let mut items = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in spec.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(spec.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return Err(MappingError::Syntax {
            item: spec.get(start..).unwrap_or_default().trim().to_owned(),
        });
    }
    items.push(spec.get(start..).unwrap_or_default());
    Ok(items)
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s)
}

fn resolve_column<S: AsRef<str>>(
    field: Field,
    column: &str,
    headers: &[S],
) -> Result<usize, MappingError> {
    if let Some(i) = headers.iter().position(|h| h.as_ref().trim() == column) {
        return Ok(i);
    }
    let wanted = normalize_header(column);
    let matches: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| normalize_header(h.as_ref()) == wanted)
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [i] => return Ok(*i),
        [] => {}
        several => {
            return Err(MappingError::AmbiguousColumn {
                field,
                column: column.to_owned(),
                matches: several
                    .iter()
                    .map(|&i| format!("\"{}\" (#{})", headers[i].as_ref(), i + 1))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    if let Some(number) = column
        .strip_prefix('#')
        .and_then(|n| n.parse::<usize>().ok())
    {
        return if (1..=headers.len()).contains(&number) {
            Ok(number - 1)
        } else {
            Err(MappingError::ColumnOutOfRange {
                field,
                number,
                count: headers.len(),
            })
        };
    }
    Err(MappingError::UnknownColumn {
        field,
        column: column.to_owned(),
        available: headers
            .iter()
            .map(|h| format!("\"{}\"", h.as_ref()))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Lower-cased words of a header, `(s)`/`(en)` style suffixes dropped, a
/// plural `s` removed from words longer than three letters.
fn guess_tokens(header: &str) -> Vec<String> {
    let lower = header
        .to_lowercase()
        .replace("(s)", " ")
        .replace("(en)", " ");
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.chars().count() > 3 && w.ends_with('s') && !w.ends_with("ss") {
                w[..w.len() - 1].to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect()
}

type Synonyms = (
    Field,
    &'static [(&'static str, u32)],
    &'static [(&'static str, u32)],
);

/// Per field: exact header names with scores, then keywords with scores
/// (lowered by one per extra word in the header).
const SYNONYMS: &[Synonyms] = &[
    (
        Field::Title,
        &[
            ("title", 100),
            ("book title", 100),
            ("titel", 100),
            ("titre", 100),
            ("titolo", 100),
            ("título", 100),
            ("titulo", 100),
        ],
        &[("title", 60), ("titel", 60)],
    ),
    (
        Field::Authors,
        &[
            ("author", 100),
            ("autor", 100),
            ("auteur", 100),
            ("autore", 100),
            ("verfasser", 100),
            ("primary author", 100),
            ("author name", 100),
            ("creator", 95),
            ("writer", 95),
            ("by", 80),
        ],
        &[
            ("author", 60),
            ("autor", 60),
            ("auteur", 60),
            ("creator", 55),
            ("writer", 55),
            ("verfasser", 55),
        ],
    ),
    (
        Field::Isbn,
        &[
            ("isbn13", 100),
            ("isbn 13", 100),
            ("ean isbn13", 100),
            ("isbn", 95),
            ("isbn10", 90),
            ("isbn 10", 90),
            ("upc isbn10", 90),
            ("ean", 85),
        ],
        &[("isbn", 60), ("ean", 50)],
    ),
    (
        Field::Publisher,
        &[
            ("publisher", 100),
            ("publisher name", 100),
            ("publishing house", 100),
            ("verlag", 100),
            ("éditeur", 100),
            ("editeur", 100),
            ("editore", 100),
            ("editorial", 100),
            ("uitgever", 100),
            ("imprint", 90),
        ],
        &[("publisher", 60), ("verlag", 60), ("imprint", 50)],
    ),
    (
        Field::Year,
        &[
            ("year", 100),
            ("publication year", 100),
            ("year published", 100),
            ("year of publication", 100),
            ("pub year", 100),
            ("jahr", 100),
            ("erscheinungsjahr", 100),
            ("année", 100),
            ("anno", 100),
            ("año", 100),
            ("published", 90),
            ("publication date", 85),
            ("date published", 85),
            ("publish date", 85),
            ("pubdate", 85),
        ],
        &[("year", 55), ("jahr", 55), ("pubdate", 50)],
    ),
    (
        Field::Barcode,
        &[
            ("barcode", 100),
            ("bar code", 100),
            ("item barcode", 100),
            ("copy barcode", 100),
            ("accession number", 95),
            ("accession no", 95),
            ("accession", 90),
            ("inventory number", 90),
            ("inventory no", 90),
            ("inventarnummer", 90),
            ("mediennummer", 90),
            ("exemplarnummer", 90),
        ],
        &[("barcode", 60), ("accession", 55)],
    ),
    (
        Field::Collection,
        &[
            ("collection", 100),
            ("sammlung", 95),
            ("location", 90),
            ("standort", 90),
            ("section", 85),
            ("bestand", 85),
            ("branch", 80),
            ("fonds", 80),
        ],
        &[("collection", 60), ("location", 50), ("standort", 50)],
    ),
    (
        Field::ShelfMark,
        &[
            ("shelf mark", 100),
            ("shelfmark", 100),
            ("call number", 100),
            ("call no", 100),
            ("callnumber", 100),
            ("call num", 100),
            ("signatur", 100),
            ("cote", 100),
            ("segnatura", 100),
            ("signatura", 100),
            ("class mark", 95),
            ("classmark", 95),
            ("shelf number", 95),
            ("local call number", 95),
            ("signature", 90),
            ("shelf location", 90),
            ("classification", 85),
            ("lc classification", 85),
            ("call", 80),
            ("shelf", 80),
            ("dewey", 80),
            ("dewey decimal", 80),
            ("ddc", 80),
            ("lcc", 80),
        ],
        &[
            ("call", 55),
            ("signatur", 55),
            ("shelf", 50),
            ("dewey", 45),
            ("classification", 45),
        ],
    ),
    (
        Field::Note,
        &[
            ("note", 100),
            ("bemerkung", 100),
            ("comment", 95),
            ("remark", 95),
            ("anmerkung", 95),
            ("notiz", 95),
            ("remarque", 95),
            ("private note", 90),
            ("annotation", 90),
        ],
        &[
            ("note", 55),
            ("comment", 50),
            ("remark", 50),
            ("bemerkung", 50),
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(m: &Mapping) -> Vec<(Field, usize)> {
        Field::ALL
            .into_iter()
            .filter_map(|f| m.column(f).map(|c| (f, c)))
            .collect()
    }

    #[test]
    fn guess_fuzzy_headers() {
        let h = [
            "No.",
            "Title",
            "Author(s)",
            "ISBN-10",
            "ISBN-13",
            "Publisher",
            "Year",
            "Item Barcode",
            "Location",
            "Call number",
            "Notes",
        ];
        let m = Mapping::guess(&h);
        assert_eq!(m.dialect(), Some(Dialect::Unknown));
        assert_eq!(
            cols(&m),
            vec![
                (Field::Title, 1),
                (Field::Authors, 2),
                (Field::Isbn, 4),
                (Field::Publisher, 5),
                (Field::Year, 6),
                (Field::Barcode, 7),
                (Field::Collection, 8),
                (Field::ShelfMark, 9),
                (Field::Note, 10),
            ]
        );
    }

    #[test]
    fn guess_prefers_exact_over_keyword() {
        let h = [
            "Author l-f",
            "Author",
            "Original Publication Year",
            "Year Published",
        ];
        let m = Mapping::guess(&h);
        assert_eq!(m.column(Field::Authors), Some(1));
        assert_eq!(m.column(Field::Year), Some(3));
    }

    #[test]
    fn cli_parse() {
        let h = ["Title", "ISBN13", "Item Barcode", "Notes, private"];
        let m = Mapping::parse_cli("title=Title,isbn=ISBN13,barcode=Item Barcode", &h).unwrap();
        assert_eq!(
            cols(&m),
            vec![(Field::Title, 0), (Field::Isbn, 1), (Field::Barcode, 2)]
        );
        let m = Mapping::parse_cli(
            " Title = title , note=\"Notes, private\", Shelf Mark=#3",
            &h,
        )
        .unwrap();
        assert_eq!(
            cols(&m),
            vec![(Field::Title, 0), (Field::ShelfMark, 2), (Field::Note, 3)]
        );
        assert_eq!(
            m.to_cli(&h),
            "title=Title,shelf_mark=Item Barcode,note=\"Notes, private\""
        );
        assert_eq!(
            Mapping::parse_cli(&m.to_cli(&h), &h)
                .unwrap()
                .column(Field::Note),
            Some(3)
        );
    }

    #[test]
    fn cli_errors_in_words() {
        let h = ["Title", "ISBN13"];
        let e = Mapping::parse_cli("title=Title,barcode=Item Barcode", &h).unwrap_err();
        assert_eq!(
            e.to_string(),
            "there is no column named \"Item Barcode\" (for field barcode); \
             the columns are: \"Title\", \"ISBN13\""
        );
        let e = Mapping::parse_cli("titel=Title", &h).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown field \"titel\"; the fields are: title, authors, isbn, publisher, year, \
             barcode, collection, shelf_mark, note"
        );
        assert!(matches!(
            Mapping::parse_cli("title", &h),
            Err(MappingError::Syntax { .. })
        ));
        assert!(matches!(
            Mapping::parse_cli("title=Title,title=ISBN13", &h),
            Err(MappingError::DuplicateField {
                field: Field::Title
            })
        ));
        assert!(matches!(
            Mapping::parse_cli("isbn=#9", &h),
            Err(MappingError::ColumnOutOfRange { number: 9, .. })
        ));
        assert_eq!(Mapping::parse_cli(" , ", &h), Err(MappingError::Empty));
        assert!(matches!(
            Mapping::parse_cli("title=\"Title", &h),
            Err(MappingError::Syntax { .. })
        ));
        let dup = ["Title", "title"];
        assert!(matches!(
            Mapping::parse_cli("title=TITLE", &dup),
            Err(MappingError::AmbiguousColumn { .. })
        ));
    }

    #[test]
    fn dialect_tables() {
        let gr = [
            "Book Id",
            "Title",
            "Author",
            "Author l-f",
            "Additional Authors",
            "ISBN",
            "ISBN13",
        ];
        let m = Mapping::for_dialect(&gr);
        assert_eq!(m.dialect(), Some(Dialect::Goodreads));
        assert_eq!(
            m.source(Field::Isbn).map(|s| s.columns.clone()),
            Some(vec![6, 5])
        );
        assert_eq!(
            m.source(Field::Authors).map(|s| s.columns.clone()),
            Some(vec![2, 4])
        );
        assert_eq!(m.column(Field::Barcode), None);
        let mut m = m;
        m.set_column(Field::Barcode, Some(0));
        assert_eq!((m.dialect(), m.column(Field::Barcode)), (None, Some(0)));
    }
}
