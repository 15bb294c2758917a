//! Character folding and the order-preserving number encoding shared by the keys.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Feeds `sink` the folded form of `c`: compatibility decomposition (NFKD),
/// combining marks removed, full Unicode lower case, and the letters that
/// NFKD leaves whole spelled out as in NACO normalization (`ß` → `ss`,
/// `æ` → `ae`, `œ` → `oe`, `ø` → `o`, `đ`/`ð` → `d`, `ł` → `l`, `þ` → `th`,
/// `ı` → `i`, `ħ` → `h`, `ŧ` → `t`, final `ς` → `σ`).
///
/// Canonical reordering is not needed: it only reorders combining marks,
/// which are dropped anyway.
pub(super) fn fold_char(c: char, sink: &mut impl FnMut(char)) {
    if c.is_ascii() {
        sink(c.to_ascii_lowercase());
        return;
    }
    decompose_compatible(c, |d| {
        if is_combining_mark(d) {
            return;
        }
        for l in d.to_lowercase() {
            if is_combining_mark(l) {
                continue;
            }
            match spelled_out(l) {
                Some(s) => s.chars().for_each(&mut *sink),
                None => sink(l),
            }
        }
    });
}

fn spelled_out(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'đ' | 'ð' => "d",
        'ł' => "l",
        'þ' => "th",
        'ı' => "i",
        'ħ' => "h",
        'ŧ' => "t",
        'ς' => "σ",
        _ => return None,
    })
}

/// Apostrophes and invisible format characters: deleted without breaking the
/// word (`O'Brien` files as `obrien`, a soft hyphen is ignored). Includes the
/// modifier letters used by romanization (ʹ ʺ ʻ ʼ), as NACO does.
pub(super) fn is_deleted(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2018}'
            | '\u{2019}'
            | '\u{201B}'
            | '\u{02B9}'
            | '\u{02BA}'
            | '\u{02BB}'
            | '\u{02BC}'
            | '\u{00AD}'
            | '\u{200B}'
            | '\u{200C}'
            | '\u{200D}'
            | '\u{2060}'
            | '\u{FEFF}'
    )
}

/// Appends the order-preserving encoding of the decimal number written by
/// `digits` (ASCII digits only): leading zeros dropped, then a length prefix,
/// then the significant digits. Byte order of encodings = numeric order, and
/// no encoding is a prefix of another, so whatever follows compares only
/// between equal numbers.
///
/// The length prefix is `'1'..='8'` for 1–8 digits; longer numbers get `'9'`
/// followed by the encoding of their length (recursively), e.g. 12 digits →
/// `"9212"` then the digits. Prefix bytes are ASCII digits, so numbers file
/// before letters and after spaces.
pub(super) fn push_number(out: &mut String, digits: &str) {
    let significant = digits.trim_start_matches('0');
    let significant = if significant.is_empty() {
        "0"
    } else {
        significant
    };
    push_length(out, significant.len());
    out.push_str(significant);
}

fn push_length(out: &mut String, n: usize) {
    if let Ok(small @ 0..=8) = u32::try_from(n) {
        out.push(char::from_digit(small, 10).unwrap_or('0'));
    } else {
        out.push('9');
        let len = n.to_string();
        push_length(out, len.len());
        out.push_str(&len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            fold_char(c, &mut |d| out.push(d));
        }
        out
    }

    fn number(digits: &str) -> String {
        let mut out = String::new();
        push_number(&mut out, digits);
        out
    }

    #[test]
    fn folding_table() {
        for (input, expected) in [
            ("Hobbit", "hobbit"),
            ("Éléphant", "elephant"),
            ("Straße", "strasse"),
            ("ẞ", "ss"),
            ("Æsop Œuvre", "aesop oeuvre"),
            ("Øresund Łódź", "oresund lodz"),
            ("Þór", "thor"),
            ("ﬁnal ｆｕｌｌ", "final full"),
            ("İstanbul", "istanbul"),
            ("ΟΔΥΣΣΕΙΑ", "οδυσσεια"),
            ("Ⅻ ²", "xii 2"),
            ("e\u{301}", "e"),
        ] {
            assert_eq!(folded(input), expected, "{input:?}");
        }
    }

    #[test]
    fn numbers_table() {
        for (digits, expected) in [
            ("0", "10"),
            ("000", "10"),
            ("7", "17"),
            ("007", "17"),
            ("10", "210"),
            ("12345678", "812345678"),
            ("123456789", "919123456789"),
            ("123456789012", "9212123456789012"),
        ] {
            assert_eq!(number(digits), expected, "{digits:?}");
        }
        let long = "1".repeat(12_345);
        assert!(number(&long).starts_with("95"));
    }

    #[test]
    fn number_encoding_is_monotonic() {
        let mut values: Vec<u128> = vec![0, 1, 8, 9, 10, 99, 100, 12_345_678, 99_999_999];
        values.extend([
            100_000_000,
            999_999_999,
            1_000_000_000,
            u128::from(u64::MAX),
        ]);
        values.push(u128::MAX);
        for pair in values.windows(2) {
            let (a, b) = (number(&pair[0].to_string()), number(&pair[1].to_string()));
            assert!(a < b, "{} -> {a} !< {} -> {b}", pair[0], pair[1]);
        }
    }
}
