//! Search as you type over the catalog: by word in title, authors, ISBN and publisher
//! (`books_fts`: every word must match, the last one as a prefix since it may still be being
//! typed; diacritics folded), by prefix in a copy's barcode and in shelf marks (ordinary
//! indexes, so scanning never pays for search), and collection names.

use rusqlite::{Connection, params};

use crate::model::BookRow;
use crate::model::isbn;

/// Turns what the user typed into one FTS5 phrase per word, or `None` if nothing searchable is
/// left. The last word is matched as a prefix unless the text ends with a space (a finished
/// word): prefix matches of common words are the expensive ones, and only the word being typed
/// needs one. Words are split where the tokenizer splits (at anything that is
/// not a letter or digit), so "R-0001" finds the barcode R-0001; an ISBN typed with hyphens is
/// searched as the digits it is stored as.
pub fn fts_terms(text: &str) -> Option<Vec<String>> {
    let mut terms = Vec::new();
    let words: Vec<&str> = text.split_whitespace().collect();
    let typing = !text.ends_with(char::is_whitespace);
    for (i, word) in words.iter().enumerate() {
        let star = if typing && i + 1 == words.len() {
            "*"
        } else {
            ""
        };
        let digits: String = word
            .chars()
            .filter(|c| !matches!(c, '-' | '\u{2010}'))
            .collect();
        let isbn_like = digits.len() >= 4
            && digits
                .chars()
                .all(|c| c.is_ascii_digit() || c == 'x' || c == 'X')
            && word.chars().any(|c| c.is_ascii_digit());
        if isbn_like {
            // A whole ISBN-10 is stored as its ISBN-13.
            let stored = isbn::parse(&digits).unwrap_or(digits);
            terms.push(format!("\"{}\"{star}", stored.to_lowercase()));
            continue;
        }
        let parts: Vec<String> = word
            .split(|c: char| !c.is_alphanumeric())
            .filter(|p| !p.is_empty())
            .map(str::to_lowercase)
            .collect();
        if parts.is_empty() {
            continue;
        }
        // Quoted, so nothing the user types is FTS5 syntax.
        terms.push(format!("\"{}\"{star}", parts.join(" ")));
    }
    (!terms.is_empty()).then_some(terms)
}

/// How many matches each index contributes at most. A prefix that matches more (a shelf mark
/// class holding half the library) still answers at once; typing more narrows it.
pub const MATCH_CAP: usize = 2000;

/// The smallest text greater than every text that starts with `prefix` (for index ranges).
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// Live books whose record matches every word of `text`, or with a live copy whose barcode, or
/// a live placement whose shelf mark, starts with `text`; by title, at most `limit`.
pub(crate) fn books(conn: &Connection, text: &str, limit: usize) -> rusqlite::Result<Vec<BookRow>> {
    let typed = text.trim();
    if typed.is_empty() {
        return super::views::books(conn, "", limit);
    }
    // A query with nothing the word index can use matches no words (the empty phrase).
    let words = fts_terms(text).map_or_else(|| "\"\"".to_owned(), |t| t.join(" AND "));
    // Barcodes are stored upper-case and normalised; a query that cannot be one matches none.
    let code = crate::model::normalize_barcode(typed).unwrap_or_default();
    let cols = super::views::book_row_columns();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {cols}
         FROM books b
         WHERE b.deleted_at IS NULL AND b.id IN (
             SELECT id FROM (SELECT rowid AS id FROM books_fts WHERE books_fts MATCH ?1 LIMIT ?2)
             UNION
             SELECT book_id FROM (SELECT book_id FROM copies
                 WHERE ?3 <> '' AND barcode >= ?3 AND barcode < ?4 AND deleted_at IS NULL
                 LIMIT ?2)
             UNION
             SELECT c.book_id FROM
                 (SELECT copy_id FROM placements
                  WHERE shelf_mark COLLATE NOCASE >= ?5 AND shelf_mark COLLATE NOCASE < ?6
                    AND deleted_at IS NULL
                  LIMIT ?2) AS p
                 JOIN copies c ON c.id = p.copy_id)
         ORDER BY b.title_key, b.id
         LIMIT ?7"
    ))?;
    stmt.query_map(
        params![
            words,
            MATCH_CAP as i64,
            code,
            prefix_end(&code),
            typed,
            prefix_end(typed),
            limit as i64
        ],
        super::views::book_row_of,
    )?
    .collect()
}

/// Live collections whose name holds every word of `text` (any case), by name; at most `limit`.
pub(crate) fn collections(
    conn: &Connection,
    text: &str,
    limit: usize,
) -> rusqlite::Result<Vec<crate::model::CollectionSummary>> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(crate::model::name_key)
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let mut all = super::views::collection_names(conn)?;
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

    fn check(input: &str, expected: Option<&[&str]>) {
        let got = fts_terms(input);
        let expected = expected.map(|e| e.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(got, expected, "{input:?}");
    }

    #[test]
    fn words_become_quoted_prefix_phrases() {
        check("dune", Some(&["\"dune\"*"]));
        check("dune ", Some(&["\"dune\""]));
        check("  Frank   HERB", Some(&["\"frank\"", "\"herb\"*"]));
        check("  Frank   HERBERT ", Some(&["\"frank\"", "\"herbert\""]));
        check("R-0001", Some(&["\"r 0001\"*"]));
        check("QA76.6", Some(&["\"qa76 6\"*"]));
        check("978-0-441", Some(&["\"9780441\"*"]));
        check("0-441-17271-7", Some(&["\"9780441172719\"*"]));
        check(
            "\"; DROP TABLE books",
            Some(&["\"drop\"", "\"table\"", "\"books\"*"]),
        );
        check("* - \"", None);
        check("", None);
        check("Márquez", Some(&["\"márquez\"*"]));
    }
}
