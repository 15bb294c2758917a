//! Title filing keys (MARC 245 nonfiling characters, accent and case folding,
//! numbers in numeric order) and the default count of nonfiling characters.

use super::fold::{fold_char, is_deleted, push_number};

/// English initial articles used by [`default_nonfiling`] when the record has
/// no language-specific list.
pub const DEFAULT_ARTICLES: [&str; 3] = ["the", "a", "an"];

/// MARC "non-sort begin" (NSB): text from here to [`NSE`] is not filed.
const NSB: char = '\u{98}';
/// MARC "non-sort end" (NSE).
const NSE: char = '\u{9C}';

/// Returns the bytewise-comparable filing key of `title`.
///
/// Rules, in order:
/// 1. The first `nonfiling` characters (Unicode scalar values, as MARC 245
///    second indicator counts them) are skipped: `("The Hobbit", 4)` files as
///    `Hobbit`. A count beyond the end leaves an empty key. Text between the
///    MARC non-sort marks U+0098 and U+009C is skipped too.
/// 2. Each character is folded: NFKD, combining marks dropped, full Unicode
///    lower case, and `ß æ œ ø đ ð ł þ ı ħ ŧ` spelled out (`ss`, `ae`, …).
/// 3. Apostrophes (`'` `’` `‘` and romanization modifier letters ʹ ʺ ʻ ʼ)
///    and invisible format characters (soft hyphen, zero-width joiners) are
///    deleted without splitting the word: `O'Brien` = `OBrien`.
/// 4. Letters and digits are kept; every other character (space, punctuation,
///    symbols) separates words. Separators collapse to one space and are
///    dropped at both ends, so leading quotes and brackets do not file.
/// 5. A comma between a digit and exactly three digits separates thousands
///    and is dropped: `20,000` is one number.
/// 6. A run of ASCII digits is written as a length digit and the number
///    without leading zeros (`2` → `12`, `10` → `210`; 9 digits and more get
///    `9` and the length encoded the same way), so numbers file in numeric
///    order (`Book 2` < `Book 10`) and before letters; `007` files as `7`.
///
/// Word by word filing follows from the byte order: the space (0x20) sorts
/// below digits and letters, so `star wars` < `star wars a` < `starfish`.
#[must_use]
pub fn title_key(title: &str, nonfiling: u8) -> String {
    let rest = title
        .char_indices()
        .nth(usize::from(nonfiling))
        .and_then(|(at, _)| title.get(at..))
        .unwrap_or("");
    let mut key = TitleKey {
        out: String::with_capacity(rest.len() + 4),
        digits: String::new(),
        gap: false,
    };
    let mut non_sort = false;
    for (at, c) in rest.char_indices() {
        match c {
            NSB => non_sort = true,
            NSE => non_sort = false,
            _ if non_sort => {}
            ',' if !key.digits.is_empty() && thousands_follow(rest.get(at + 1..)) => {}
            _ => fold_char(c, &mut |d| key.push(d)),
        }
    }
    key.flush_digits();
    key.out
}

/// Whether `rest` starts with exactly three ASCII digits: then the comma
/// before it separates thousands (`20,000` files as 20000).
fn thousands_follow(rest: Option<&str>) -> bool {
    let b = rest.unwrap_or_default().as_bytes();
    b.len() >= 3
        && b.iter().take(3).all(u8::is_ascii_digit)
        && !b.get(3).is_some_and(u8::is_ascii_digit)
}

struct TitleKey {
    out: String,
    digits: String,
    gap: bool,
}

impl TitleKey {
    fn push(&mut self, c: char) {
        if c.is_ascii_digit() {
            if self.digits.is_empty() {
                self.separate();
            }
            self.digits.push(c);
        } else if !is_deleted(c) {
            self.flush_digits();
            if c.is_alphanumeric() {
                self.separate();
                self.out.push(c);
            } else {
                self.gap = true;
            }
        }
    }

    fn separate(&mut self) {
        if self.gap && !self.out.is_empty() {
            self.out.push(' ');
        }
        self.gap = false;
    }

    fn flush_digits(&mut self) {
        if !self.digits.is_empty() {
            push_number(&mut self.out, &self.digits);
            self.digits.clear();
        }
    }
}

/// Counts the nonfiling characters of `title` for an initial article, the way
/// a cataloguer sets the MARC 245 second indicator.
///
/// Rule: skip leading characters that are neither letters nor digits (quotes,
/// brackets, spaces); then, if the first word equals one of `articles`
/// (case-insensitively, after Unicode lower-casing) and is followed by white
/// space (after an optional `]` or `)`, as in `[The] `) and then more text, the count is everything up to and including
/// that white space: `The Hobbit` → 4, `"The Hobbit"` → 5, `An Essay` → 3.
/// An article ending in an apostrophe (`l'`, `l’`, with `'` and `’` alike)
/// needs no space, only a letter or digit after it: `L'Étranger` → 2.
/// No article, an article alone (`A`, `The`), an article only as the start of
/// a word (`Anatomy`, `Theory`), or a count above 9 (the indicator is one
/// digit) give 0.
#[must_use]
pub fn default_nonfiling(title: &str, articles: &[&str]) -> u8 {
    let chars: Vec<char> = title.chars().take(16).collect();
    let start = chars
        .iter()
        .position(|c| c.is_alphanumeric())
        .unwrap_or(chars.len());
    let tail = chars.get(start..).unwrap_or_default();
    let count = articles
        .iter()
        .filter_map(|article| article_len(tail, article))
        .max()
        .map_or(0, |len| start + len);
    u8::try_from(count).ok().filter(|&n| n <= 9).unwrap_or(0)
}

/// Length of `article` plus the white space after it at the start of `text`,
/// if `text` starts with it as a whole word followed by more text.
fn article_len(text: &[char], article: &str) -> Option<usize> {
    let want: Vec<char> = article
        .chars()
        .flat_map(char::to_lowercase)
        .map(unify_apostrophe)
        .collect();
    let last = *want.last()?;
    let (mut w, mut matched) = (0, 0);
    for &c in text {
        if w == want.len() {
            break;
        }
        // A character whose lower case is several chars (İ → i̇) must match them all.
        for l in c.to_lowercase().map(unify_apostrophe) {
            if want.get(w) != Some(&l) {
                return None;
            }
            w += 1;
        }
        matched += 1;
    }
    if w != want.len() {
        return None;
    }
    let after = text.get(matched..).unwrap_or_default();
    if last == '\'' {
        return after
            .first()
            .filter(|c| c.is_alphanumeric())
            .map(|_| matched);
    }
    let closing = after.iter().take_while(|&&c| c == ']' || c == ')').count();
    let after = after.get(closing..).unwrap_or_default();
    let spaces = after.iter().take_while(|c| c.is_whitespace()).count();
    let more = after.get(spaces).is_some_and(|c| !c.is_whitespace());
    (spaces > 0 && more).then_some(matched + closing + spaces)
}

fn unify_apostrophe(c: char) -> char {
    if c == '\u{2019}' { '\'' } else { c }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_order, check_same};
    use super::*;

    /// Titles in filing order, each given with its nonfiling count.
    fn check(expected: &[(&str, u8)]) {
        let titles: Vec<String> = expected
            .iter()
            .map(|(t, n)| format!("{n}\u{1}{t}"))
            .collect();
        let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
        check_order(
            |s| {
                let (n, t) = s.split_once('\u{1}').unwrap_or(("0", s));
                title_key(t, n.parse().unwrap_or(0))
            },
            &refs,
        );
    }

    #[test]
    fn keys_table() {
        for (title, nonfiling, key) in [
            ("The Hobbit", 4, "hobbit"),
            ("\"The Hobbit\"", 5, "hobbit"),
            ("The Hobbit", 0, "the hobbit"),
            ("[Untitled]", 0, "untitled"),
            ("  Book   2 ", 0, "book 12"),
            ("Book 10", 0, "book 210"),
            ("Book 007", 0, "book 17"),
            ("R2-D2", 0, "r12 d12"),
            ("Les Misérables", 4, "miserables"),
            ("Ærø", 0, "aero"),
            ("O'Brien’s ʻOkina", 0, "obriens okina"),
            ("co\u{AD}operate", 0, "cooperate"),
            ("Star Wars: A New Hope", 0, "star wars a new hope"),
            ("ΟΔΥΣΣΕΙΑ", 0, "οδυσσεια"),
            ("東京物語", 0, "東京物語"),
            ("\u{98}The \u{9C}Hobbit", 0, "hobbit"),
            ("Short", 200, ""),
            ("", 0, ""),
            ("?!…", 0, ""),
            ("１２ Ａngry Men", 0, "212 angry men"),
            ("Number 123456789", 0, "number 919123456789"),
            ("20,000 Leagues", 0, "520000 leagues"),
            ("1,000,000 Years", 0, "71000000 years"),
            ("1,2 and 1,2345", 0, "11 12 and 11 42345"),
        ] {
            assert_eq!(title_key(title, nonfiling), key, "{title:?} {nonfiling}");
        }
    }

    #[test]
    fn filing_order() {
        check(&[
            ("", 0),
            ("1984", 0),
            ("2001: A Space Odyssey", 0),
            ("20,000 Leagues Under the Sea", 0),
            ("Book 2", 0),
            ("Book 2a", 0),
            ("Book 10", 0),
            ("The Book of Dust", 4),
            ("Book2", 0),
            ("Élan", 0),
            ("Elements", 0),
            ("The Hobbit", 4),
            ("Hobbit 2", 0),
            ("Hobbits", 0),
            ("Star Wars", 0),
            ("Star Wars: A New Hope", 0),
            ("Starfish", 0),
            ("A Tale of Two Cities", 2),
            ("Zorba", 0),
            ("Ωmega", 0),
            ("東京物語", 0),
        ]);
    }

    #[test]
    fn equal_keys() {
        check_same(
            |t| title_key(t, 0),
            &["Élan", "elan", "ÉLAN", "E\u{301}lan", "  elan  "],
        );
        check_same(|t| title_key(t, 0), &["Book 7", "BOOK 007", "book\t7"]);
        check_same(|t| title_key(t, 0), &["O'Brien", "OBrien", "O’Brien"]);
        check_same(
            |t| title_key(t, default_nonfiling(t, &DEFAULT_ARTICLES)),
            &[
                "The Hobbit",
                "\"The Hobbit\"",
                "Hobbit",
                "(Hobbit)",
                "An  Hobbit",
            ],
        );
    }

    #[test]
    fn nonfiling_table() {
        let french = ["le", "la", "les", "l'", "un", "une"];
        for (title, articles, expected) in [
            ("The Hobbit", &DEFAULT_ARTICLES[..], 4),
            ("the hobbit", &DEFAULT_ARTICLES[..], 4),
            ("THE HOBBIT", &DEFAULT_ARTICLES[..], 4),
            ("A Tale of Two Cities", &DEFAULT_ARTICLES[..], 2),
            ("An Essay on Man", &DEFAULT_ARTICLES[..], 3),
            ("\"The Hobbit\"", &DEFAULT_ARTICLES[..], 5),
            ("“A Study in Scarlet”", &DEFAULT_ARTICLES[..], 3),
            ("[The] Lost Book", &DEFAULT_ARTICLES[..], 6),
            ("The\tEnd", &DEFAULT_ARTICLES[..], 4),
            ("The  Hobbit", &DEFAULT_ARTICLES[..], 5),
            ("A", &DEFAULT_ARTICLES[..], 0),
            ("A ", &DEFAULT_ARTICLES[..], 0),
            ("The", &DEFAULT_ARTICLES[..], 0),
            ("Anatomy of Melancholy", &DEFAULT_ARTICLES[..], 0),
            ("Theory of Everything", &DEFAULT_ARTICLES[..], 0),
            ("A-Z of Gardening", &DEFAULT_ARTICLES[..], 0),
            ("Hobbit", &DEFAULT_ARTICLES[..], 0),
            ("", &DEFAULT_ARTICLES[..], 0),
            ("\"\"\"\"\"\"\"The Hobbit", &DEFAULT_ARTICLES[..], 0),
            ("L'Étranger", &french[..], 2),
            ("L’Étranger", &french[..], 2),
            ("Les Misérables", &french[..], 4),
            ("L'", &french[..], 0),
            ("The Hobbit", &[][..], 0),
            ("The Hobbit", &[""][..], 0),
        ] {
            assert_eq!(default_nonfiling(title, articles), expected, "{title:?}");
        }
    }
}
