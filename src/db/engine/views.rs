//! What the windows show, as queries: collections with their counts, a page of a collection's
//! placements in a chosen order, the catalog and its search, and the Trash. Reads only; each
//! call is its own short read transaction.

use super::{Dialect, Q, Row, Session, params, read};
use crate::db::DbError;
use crate::model::{
    BookId, BookRow, CollectionId, CollectionSummary, CopyId, CopyRow, Counts, Kind, OrderValue,
    PlacementId, PlacementRow, RecordRef, RowKey, SortKey, TrashRow, Window, WindowQuery,
    WindowStart, isbn,
};

fn collection_summary(r: &dyn Row) -> Result<CollectionSummary, DbError> {
    Ok(CollectionSummary {
        id: CollectionId(r.i64(0)?),
        name: r.string(1)?,
        description: r.string(2)?,
        version: r.i64(3)?,
        placements: r.i64(4)?,
    })
}

/// Live collections by name, with how many copies each holds.
pub(crate) fn collections<S: Session>(s: &S) -> Result<Vec<CollectionSummary>, DbError> {
    Ok(by_name(s.all(
        Q::CollectionsWithCounts,
        &[],
        collection_summary,
    )?))
}

/// Live collections by name, without counts (cheap; for matching names).
fn collection_names<S: Session>(s: &S) -> Result<Vec<CollectionSummary>, DbError> {
    Ok(by_name(s.all(
        Q::CollectionNames,
        &[],
        collection_summary,
    )?))
}

/// Collections in the order a librarian reads their names: as titles file (case and accents
/// folded, numbers by value), so "Branch 2" comes before "Branch 10". A library has hundreds
/// of collections, not millions: they are sorted here, from the order the query gives (by
/// the unique name key, which breaks the ties).
fn by_name(mut collections: Vec<CollectionSummary>) -> Vec<CollectionSummary> {
    collections.sort_by_cached_key(|c| crate::model::sortkey::title_key(&c.name, 0));
    collections
}

/// `LIKE` pattern matching `text` anywhere, in lower case (the queries compare it with lower-cased
/// columns), with `\` escaping the wildcards.
fn contains_pattern(text: &str) -> String {
    let escaped = text
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// How many live placements of `collection` match `filter` (empty: all).
pub(crate) fn placement_count<S: Session>(
    s: &S,
    collection: CollectionId,
    filter: &str,
) -> Result<usize, DbError> {
    let n = if filter.trim().is_empty() {
        s.value(
            Q::CountLivePlacements,
            params!(collection: collection.0),
            |r: &dyn Row| r.i64(0),
        )?
    } else {
        let pattern = contains_pattern(filter);
        s.value(
            Q::CountMatchingPlacements,
            params!(collection: collection.0, pattern: &pattern),
            |r: &dyn Row| r.i64(0),
        )?
    };
    Ok(n as usize)
}

fn placement_row(r: &dyn Row) -> Result<PlacementRow, DbError> {
    Ok(PlacementRow {
        id: PlacementId(r.i64(0)?),
        version: r.i64(1)?,
        copy_id: CopyId(r.i64(2)?),
        barcode: r.string(3)?,
        book_id: BookId(r.i64(4)?),
        title: r.string(5)?,
        authors: r.string(6)?,
        shelf_mark: r.string(7)?,
        note: r.string(8)?,
        added: r.stamp(9)?,
    })
}

/// A row of an order's index: its key, then the placement's id.
fn index_key(sort: SortKey) -> impl Fn(&dyn Row) -> Result<RowKey, DbError> {
    move |r: &dyn Row| {
        let key = match sort {
            SortKey::Added => OrderValue::Stamp(r.stamp(0)?),
            _ => OrderValue::Text(r.string(0)?),
        };
        Ok(RowKey {
            key,
            id: PlacementId(r.i64(1)?),
        })
    }
}

/// A row of a window query: the editor's columns, then the order's key.
fn window_row(sort: SortKey) -> impl Fn(&dyn Row) -> Result<(RowKey, PlacementRow), DbError> {
    move |r: &dyn Row| {
        let row = placement_row(r)?;
        let key = match sort {
            SortKey::Added => OrderValue::Stamp(r.stamp(10)?),
            _ => OrderValue::Text(r.string(10)?),
        };
        Ok((RowKey { key, id: row.id }, row))
    }
}

/// A window of `collection`'s live placements matching the filter, in the asked order (see
/// [`WindowQuery`]). Each part is one seek into the order's index and a short walk along it.
pub(crate) fn placement_window<S: Session>(s: &S, q: &WindowQuery) -> Result<Window, DbError> {
    let WindowQuery {
        collection,
        ref filter,
        sort,
        ascending,
        ref start,
        before,
        after,
    } = *q;
    let all = filter.trim().is_empty();
    let pattern = contains_pattern(filter);
    let row = window_row(sort);
    // Unfiltered, rows to step over are stepped over in the order's index alone (a join per
    // skipped row would cost far more); then the window is read from the row found.
    let resolved;
    let start = match start {
        WindowStart::Top { skip } | WindowStart::From { skip, .. } if all && *skip > 0 => {
            let found = match start {
                WindowStart::From { row, skip } => Seek {
                    collection,
                    sort,
                    ascending,
                    row,
                }
                .key(s, *skip)?,
                WindowStart::Top { skip } => s.one(
                    Q::OrderKeyFirst.ordered(sort, ascending),
                    params!(collection: collection.0, skip: *skip),
                    index_key(sort),
                )?,
            };
            let Some(found) = found else {
                // Past the end: the last rows, read backwards.
                let mut back = s.all(
                    Q::WindowRows.ordered(sort, !ascending),
                    params!(
                        collection: collection.0, all: true, pattern: &pattern,
                        limit: before.max(1) + 1, skip: 0usize,
                    ),
                    &row,
                )?;
                let at_start = back.len() <= before.max(1);
                back.truncate(before.max(1));
                back.reverse();
                return Ok(Window {
                    before: back.len(),
                    at_start,
                    at_end: true,
                    rows: back,
                });
            };
            resolved = WindowStart::From {
                row: found,
                skip: 0,
            };
            &resolved
        }
        other => other,
    };
    // One row more than asked for says whether the window reaches the end.
    let mut forward = match start {
        WindowStart::Top { skip } => s.all(
            Q::WindowRows.ordered(sort, ascending),
            params!(
                collection: collection.0, all: all, pattern: &pattern, limit: after + 1,
                skip: *skip,
            ),
            &row,
        )?,
        WindowStart::From { row: from, skip } => {
            let from = Seek {
                collection,
                sort,
                ascending,
                row: from,
            };
            from.rows(s, all, &pattern, *skip, after + 1)?
        }
    };
    // The rows just before the first one found (or before the start, if nothing is after it),
    // walking the index the other way.
    let back_from = match (forward.first(), start) {
        (Some((key, _)), _) => Some(key.clone()),
        (None, WindowStart::From { row, skip: 0 }) => Some(row.clone()),
        _ => None,
    };
    let top = matches!(start, WindowStart::Top { skip: 0 });
    let mut back = match back_from {
        Some(key) if before > 0 && !top => {
            let back = Seek {
                collection,
                sort,
                ascending: !ascending,
                row: &key.past(!ascending),
            };
            back.rows(s, all, &pattern, 0, before + 1)?
        }
        _ => Vec::new(),
    };
    let at_start = top || (before > 0 && back.len() <= before);
    back.truncate(before);
    back.reverse();
    let at_end = forward.len() <= after;
    forward.truncate(after);
    Ok(Window {
        before: back.len(),
        at_start,
        at_end,
        rows: back.into_iter().chain(forward).collect(),
    })
}

/// Marks for landing anywhere in a long collection: the key of every `every`th live placement
/// of `collection` in `sort`'s ascending order (the first, the `every`th, …), read from the
/// order's index alone, one short step at a time. Position `i * every` starts at mark `i`.
pub(crate) fn order_marks<S: Session>(
    s: &S,
    collection: CollectionId,
    sort: SortKey,
    every: usize,
) -> Result<Vec<RowKey>, DbError> {
    let key = index_key(sort);
    let mut marks = Vec::new();
    let mut last = s.one(
        Q::OrderKeyFirst.ordered(sort, true),
        params!(collection: collection.0, skip: 0usize),
        &key,
    )?;
    while let Some(mark) = last {
        last = Seek {
            collection,
            sort,
            ascending: true,
            row: &mark.past(true),
        }
        .key(s, every.max(1) - 1)?;
        marks.push(mark);
    }
    Ok(marks)
}

/// Where a window or a step starts: a row (or where it would be) of an order of a collection.
/// Each read from it is two seeks into the order's index, as `{seek}` in the statements: the
/// rows tied with the row on the key from its id on, then the rows past its key. (SQLite
/// seeks a row value on its first column alone, so one seek would walk every tie first; the
/// seeded titles tie by the thousand.)
struct Seek<'a> {
    collection: CollectionId,
    sort: SortKey,
    ascending: bool,
    row: &'a RowKey,
}

impl Seek<'_> {
    /// At most `limit` of the window's rows (with the filter unless `all`) from here on, the
    /// first `skip` stepped over.
    fn rows<S: Session>(
        &self,
        s: &S,
        all: bool,
        pattern: &str,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<(RowKey, PlacementRow)>, DbError> {
        let stmt = Q::WindowRowsFrom.ordered(self.sort, self.ascending);
        let (collection, key, id) = (self.collection.0, &self.row.key, self.row.id.0);
        // Every tie up to the skip and the window (a skip here is short: unfiltered ones are
        // stepped in the index alone), the skip dropped here.
        let mut rows = s.all(
            stmt.tied(),
            params!(
                collection: collection, all: all, pattern: pattern, key: key, id: id,
                limit: skip + limit, skip: 0usize,
            ),
            window_row(self.sort),
        )?;
        let tied = rows.len();
        rows.drain(..skip.min(tied));
        if tied < skip + limit {
            rows.extend(s.all(
                stmt,
                params!(
                    collection: collection, all: all, pattern: pattern, key: key,
                    limit: limit - rows.len(), skip: skip.saturating_sub(tied),
                ),
                window_row(self.sort),
            )?);
        }
        Ok(rows)
    }

    /// The key `skip` rows from here on, from the order's index alone.
    fn key<S: Session>(&self, s: &S, skip: usize) -> Result<Option<RowKey>, DbError> {
        let stmt = Q::OrderKeyFrom.ordered(self.sort, self.ascending);
        let (collection, key, id) = (self.collection.0, &self.row.key, self.row.id.0);
        let at = params!(collection: collection, key: key, id: id, skip: skip);
        if let Some(found) = s.one(stmt.tied(), at, index_key(self.sort))? {
            return Ok(Some(found));
        }
        let tied = if skip == 0 {
            0
        } else {
            let ties = Q::OrderTiesFrom.ordered(self.sort, self.ascending).tied();
            s.one(ties, at, |r: &dyn Row| r.i64(0))?.unwrap_or(0) as usize
        };
        s.one(
            stmt,
            params!(collection: collection, key: key, skip: skip.saturating_sub(tied)),
            index_key(self.sort),
        )
    }
}

/// A row of a query selecting a book's columns and then its live copies' barcodes, joined by
/// spaces, in order.
pub(crate) fn book_row_of(r: &dyn Row) -> Result<BookRow, DbError> {
    let book = read::book_row(r)?;
    let barcodes = r.opt_string(crate::db::engine::catalog::columns(Kind::Book).len())?;
    Ok(BookRow {
        book,
        barcodes: barcodes
            .map(|b| b.split(' ').map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

/// Live books matching `search` in title, authors, ISBN, publisher or a copy's barcode (empty:
/// all), by title; at most `limit`.
pub(crate) fn books<S: Session>(
    s: &S,
    search: &str,
    limit: usize,
) -> Result<Vec<BookRow>, DbError> {
    let pattern = contains_pattern(search);
    s.all(
        Q::BooksContaining,
        params!(all: search.trim().is_empty(), pattern: &pattern, limit: limit),
        book_row_of,
    )
}

/// The live copies of `book`, by barcode, with the collections each is placed in.
pub(crate) fn copies_of<S: Session>(s: &S, book: BookId) -> Result<Vec<CopyRow>, DbError> {
    let copies = s.all(Q::LiveCopiesOfBook, params!(book: book.0), read::copy_row)?;
    copies
        .into_iter()
        .map(|copy| {
            let mut collections = s.all(
                Q::CollectionsOfCopy,
                params!(copy: copy.id.0),
                |r: &dyn Row| r.string(0),
            )?;
            collections.sort_by_cached_key(|name| crate::model::sortkey::title_key(name, 0));
            Ok(CopyRow { copy, collections })
        })
        .collect()
}

/// The Trash, newest first, at most `limit` items. Rows that went to the Trash with their
/// parent are part of the parent's item.
pub(crate) fn trash<S: Session>(s: &S, limit: usize) -> Result<Vec<TrashRow>, DbError> {
    s.all(Q::Trash, params!(limit: limit), |r: &dyn Row| {
        let kind = r.string(0)?;
        let name = r.string(4)?;
        let parent = r.string(5)?;
        let children = r.i64(7)?;
        let (kind, description) = match kind.as_str() {
            "book" => (
                Kind::Book,
                with_children(format!("Book “{name}”"), children, "copy", "copies"),
            ),
            "copy" => (
                Kind::Copy,
                with_children(
                    format!("Copy {name} of “{parent}”"),
                    children,
                    "placement",
                    "placements",
                ),
            ),
            "collection" => (
                Kind::Collection,
                with_children(
                    format!("Collection “{name}”"),
                    children,
                    "placement",
                    "placements",
                ),
            ),
            _ => (
                Kind::Placement,
                format!("Copy {name} ({parent}) in {}", r.string(6)?),
            ),
        };
        Ok(TrashRow {
            record: RecordRef {
                kind,
                id: r.i64(1)?,
            },
            version: r.i64(2)?,
            description,
            deleted_at: r.stamp(3)?,
        })
    })
}

fn with_children(text: String, n: i64, one: &str, many: &str) -> String {
    match n {
        0 => text,
        1 => format!("{text} (with 1 {one})"),
        n => format!("{text} (with {n} {many})"),
    }
}

/// Whether the library holds anything at all (live or in the Trash).
pub(crate) fn is_empty<S: Session>(s: &S) -> Result<bool, DbError> {
    s.value(Q::IsEmpty, &[], |r: &dyn Row| r.bool(0))
}

/// Rows per table (live and in the Trash).
pub(crate) fn counts<S: Session>(s: &S) -> Result<Counts, DbError> {
    let count = |kind| s.value(Q::CountRows.on(kind), &[], |r: &dyn Row| r.i64(0));
    Ok(Counts {
        books: count(Kind::Book)?,
        copies: count(Kind::Copy)?,
        collections: count(Kind::Collection)?,
        placements: count(Kind::Placement)?,
    })
}

/// How many matches each source of a search contributes at most. A prefix that matches more (a
/// shelf-mark class holding half the library) still answers at once; typing more narrows it.
pub const MATCH_CAP: usize = 2000;

/// The smallest text greater than every text that starts with `prefix` (for index ranges).
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// What the user typed, as words: each one split where the word index splits (at anything
/// that is not a letter or digit), folded as the index folds, with whether the last one is
/// still being typed (a prefix). An ISBN typed with hyphens is one word: the digits it is
/// stored as.
pub fn search_terms(text: &str) -> (Vec<String>, bool) {
    let mut terms = Vec::new();
    let typing = !text.ends_with(char::is_whitespace);
    for word in text.split_whitespace() {
        if let Some(isbn) = isbn_digits(word, 4) {
            terms.push(isbn.to_lowercase());
            continue;
        }
        let parts: Vec<String> = word
            .split(|c: char| !c.is_alphanumeric())
            .filter(|p| !p.is_empty())
            .map(str::to_lowercase)
            .collect();
        if !parts.is_empty() {
            terms.push(parts.join(" "));
        }
    }
    (terms, typing)
}

/// A word typed as a number of at least `min` digits, hyphens left out (the last digit
/// perhaps the X of an ISBN-10), as an ISBN is stored: a whole ISBN-10 as its ISBN-13.
fn isbn_digits(word: &str, min: usize) -> Option<String> {
    let digits: String = word
        .chars()
        .filter(|c| !matches!(c, '-' | '\u{2010}'))
        .collect();
    let body = digits.strip_suffix(['x', 'X']).unwrap_or(&digits);
    (digits.len() >= min && body.chars().all(|c| c.is_ascii_digit()))
        .then(|| isbn::parse(&digits).unwrap_or(digits))
}

/// What a search for `typed` looks up in the ISBN index: one word of at least six digits, as
/// the start of an ISBN (see [`isbn_digits`]).
pub fn isbn_prefix(typed: &str) -> Option<String> {
    let word = typed.trim();
    if word.contains(char::is_whitespace) {
        return None;
    }
    isbn_digits(word, 6)
}

/// The terms as an FTS5 query: one quoted phrase per word (so nothing typed is FTS5 syntax),
/// the last one a prefix while it is being typed. Prefix matches of common words are the
/// expensive ones, and only the word being typed needs one.
pub fn fts5_query(text: &str) -> Option<String> {
    let (terms, typing) = search_terms(text);
    let n = terms.len();
    let phrases: Vec<String> = terms
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let star = if typing && i + 1 == n { "*" } else { "" };
            format!("\"{t}\"{star}")
        })
        .collect();
    (!phrases.is_empty()).then(|| phrases.join(" AND "))
}

/// The terms as a PostgreSQL `tsquery` over the folded search column: every word must match,
/// the words of a phrase in order, the last one a prefix while it is being typed. Each word is
/// quoted, so nothing typed is tsquery syntax.
pub fn tsquery(text: &str) -> Option<String> {
    let (terms, typing) = search_terms(text);
    let n = terms.len();
    let mut parts = Vec::new();
    for (i, term) in terms.into_iter().enumerate() {
        let words: Vec<String> = crate::model::sortkey::search_words(&[&term])
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(|w| format!("'{}'", w.replace('\'', "''")))
            .collect();
        if words.is_empty() {
            continue;
        }
        let last = words.len() - 1;
        let phrase: Vec<String> = words
            .into_iter()
            .enumerate()
            .map(|(j, w)| {
                if typing && i + 1 == n && j == last {
                    format!("{w}:*")
                } else {
                    w
                }
            })
            .collect();
        parts.push(format!("({})", phrase.join(" <-> ")));
    }
    (!parts.is_empty()).then(|| parts.join(" & "))
}

/// Search as you type: live books whose record matches every word of `text`, or with a live
/// copy whose barcode, or a live placement whose shelf mark, starts with `text`; by title, at
/// most `limit`.
pub(crate) fn search_books<S: Session>(
    s: &S,
    text: &str,
    limit: usize,
) -> Result<Vec<BookRow>, DbError> {
    let typed = text.trim();
    if typed.is_empty() {
        return books(s, "", limit);
    }
    // A long number is an ISBN (or a barcode): looked up in the ISBN index, not among the
    // words, where a prefix of an ISBN is one word per book. A query with nothing the word
    // index can use matches no words.
    let isbn = isbn_prefix(typed).unwrap_or_default();
    let (words, none) = match s.dialect() {
        Dialect::Sqlite => (fts5_query(text), "\"\""),
        Dialect::Postgres => (tsquery(text), ""),
    };
    let words = words
        .filter(|_| isbn.is_empty())
        .unwrap_or_else(|| none.to_owned());
    let isbn_end = prefix_end(&isbn);
    // Barcodes are stored upper-case and normalised; a query that cannot be one matches none.
    let code = crate::model::normalize_barcode(typed).unwrap_or_default();
    let (code_end, typed_end) = (prefix_end(&code), prefix_end(typed));
    let lower = typed.to_lowercase();
    let lower_end = prefix_end(&lower);
    s.all(
        Q::SearchBooks,
        params!(
            words: &words, cap: MATCH_CAP, isbn: &isbn, isbn_end: &isbn_end, code: &code,
            code_end: &code_end,
            typed: typed, typed_end: &typed_end, lower: &lower, lower_end: &lower_end,
            limit: limit,
        ),
        book_row_of,
    )
}

/// Live collections whose name holds every word of `text` (any case), by name; at most `limit`.
pub(crate) fn search_collections<S: Session>(
    s: &S,
    text: &str,
    limit: usize,
) -> Result<Vec<CollectionSummary>, DbError> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(crate::model::name_key)
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let mut all = collection_names(s)?;
    all.retain(|c| {
        let key = crate::model::name_key(&c.name);
        words.iter().all(|w| key.contains(w.as_str()))
    });
    all.truncate(limit);
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_quoted_fts5_prefix_phrases() {
        let check = |input: &str, expected: Option<&str>| {
            assert_eq!(fts5_query(input).as_deref(), expected, "{input:?}");
        };
        check("dune", Some("\"dune\"*"));
        check("dune ", Some("\"dune\""));
        check("  Frank   HERB", Some("\"frank\" AND \"herb\"*"));
        check("R-0001", Some("\"r 0001\"*"));
        check("QA76.6", Some("\"qa76 6\"*"));
        check("978-0-441", Some("\"9780441\"*"));
        check("0-441-17271-7", Some("\"9780441172719\"*"));
        check(
            "\"; DROP TABLE books",
            Some("\"drop\" AND \"table\" AND \"books\"*"),
        );
        check("* - \"", None);
        check("", None);
        check("Márquez", Some("\"márquez\"*"));
    }

    #[test]
    fn long_numbers_are_looked_up_as_isbn_prefixes() {
        let check = |input: &str, expected: Option<&str>| {
            assert_eq!(isbn_prefix(input).as_deref(), expected, "{input:?}");
        };
        check("978-1-00", Some("978100"));
        check(" 9781000 ", Some("9781000"));
        check("0-441-17271-7", Some("9780441172719"));
        check("044117271X", Some("044117271X"));
        check("300000004", Some("300000004"));
        check("2019", None);
        check("97810", None);
        check("978 100", None);
        check("QA76.6", None);
        check("X44117", None);
        check("café", None);
        check("12345é", None);
        check("", None);
    }

    #[test]
    fn words_become_quoted_tsquery_phrases_folded() {
        let check = |input: &str, expected: Option<&str>| {
            assert_eq!(tsquery(input).as_deref(), expected, "{input:?}");
        };
        check("dune", Some("('dune':*)"));
        check("dune ", Some("('dune')"));
        check("Frank HERB", Some("('frank') & ('herb':*)"));
        check("R-0001", Some("('r' <-> '0001':*)"));
        check("Márquez", Some("('marquez':*)"));
        check("O'Brien", Some("('o' <-> 'brien':*)"));
        check("'; DROP", Some("('drop':*)"));
        check("* - \"", None);
    }
}
