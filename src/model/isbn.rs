//! ISBN parsing: ISBN-10 and ISBN-13, with or without hyphens and spaces, check digit verified,
//! stored as the 13-digit form (an ISBN-10 becomes `978` + its first nine digits + a new check
//! digit).

use std::fmt;

/// Why a text is not an ISBN, in words for the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsbnError {
    /// Neither 10 nor 13 digits (after removing hyphens and spaces).
    Length(usize),
    /// A character that is not a digit, hyphen or space (or an X anywhere but at the end of an
    /// ISBN-10).
    Character(char),
    /// The digits are fine but the last one does not match.
    CheckDigit,
    /// 13 digits that do not start with 978 or 979.
    Prefix,
}

impl fmt::Display for IsbnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IsbnError::Length(n) => write!(f, "an ISBN has 10 or 13 digits, this has {n}"),
            IsbnError::Character('X' | 'x') => f.write_str(
                "an X may only stand last, as the check digit of an ISBN-10 (like 0-8044-2957-X)",
            ),
            IsbnError::Character(c) => write!(
                f,
                "'{c}' cannot appear in an ISBN (digits, hyphens, and an X as the last character of an ISBN-10)"
            ),
            IsbnError::CheckDigit => f.write_str("the check digit does not match (typing error?)"),
            IsbnError::Prefix => f.write_str("an ISBN-13 starts with 978 or 979"),
        }
    }
}

/// An ISBN as people read it: the stored 13 digits hyphenated by the ISBN agency's ranges
/// ("978-0-441-17271-9"), or as stored where the range is not known.
pub fn display(isbn13: &str) -> String {
    super::sortkey::isbn_hyphenated(isbn13).unwrap_or_else(|| isbn13.to_owned())
}

/// Parses an ISBN-10 or ISBN-13 and returns the normalised 13-digit form.
pub fn parse(text: &str) -> Result<String, IsbnError> {
    // 10 stands for the X that may end an ISBN-10.
    let mut digits: Vec<u8> = Vec::with_capacity(13);
    for c in text.chars() {
        match c {
            '-' | ' ' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' => {}
            '0'..='9' => digits.push(c as u8 - b'0'),
            'x' | 'X' => digits.push(10),
            other => return Err(IsbnError::Character(other)),
        }
    }
    let x_misplaced = match digits.len() {
        10 => digits[..9].contains(&10),
        _ => digits.contains(&10),
    };
    if x_misplaced {
        return Err(IsbnError::Character('X'));
    }
    match digits.len() {
        10 => {
            let sum: u32 = digits
                .iter()
                .enumerate()
                .map(|(i, &d)| (10 - i as u32) * u32::from(d))
                .sum();
            if !sum.is_multiple_of(11) {
                return Err(IsbnError::CheckDigit);
            }
            let mut thirteen = vec![9, 7, 8];
            thirteen.extend_from_slice(&digits[..9]);
            thirteen.push(check_digit_13(&thirteen));
            Ok(to_text(&thirteen))
        }
        13 => {
            if digits[..3] != [9, 7, 8] && digits[..3] != [9, 7, 9] {
                return Err(IsbnError::Prefix);
            }
            if check_digit_13(&digits[..12]) != digits[12] {
                return Err(IsbnError::CheckDigit);
            }
            Ok(to_text(&digits))
        }
        n => Err(IsbnError::Length(n)),
    }
}

/// The EAN-13 check digit of twelve digits.
pub fn check_digit_13(first12: &[u8]) -> u8 {
    let sum: u32 = first12
        .iter()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn to_text(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, IsbnError>) {
        assert_eq!(
            parse(input).as_deref().map_err(|e| *e),
            expected,
            "{input:?}"
        );
    }

    #[test]
    fn valid_numbers() {
        check("978-0-441-17271-9", Ok("9780441172719")); // Dune
        check("9780441172719", Ok("9780441172719"));
        check("0-441-17271-7", Ok("9780441172719")); // same book, ISBN-10
        check("0441172717", Ok("9780441172719"));
        check("0 8044 2957 X", Ok("9780804429573")); // X check digit
        check("080442957x", Ok("9780804429573"));
        check("979-10-90636-07-1", Ok("9791090636071"));
        check("  978 3 16 148410 0 ", Ok("9783161484100"));
    }

    #[test]
    fn invalid_numbers() {
        check("978-0-441-17271-8", Err(IsbnError::CheckDigit));
        check("0-441-17271-6", Err(IsbnError::CheckDigit));
        check("12345", Err(IsbnError::Length(5)));
        check("", Err(IsbnError::Length(0)));
        check("97804411727190", Err(IsbnError::Length(14)));
        check("978-0-44l-17271-9", Err(IsbnError::Character('l')));
        check("X804429570", Err(IsbnError::Character('X')));
        check("08044X2957", Err(IsbnError::Character('X')));
        check("1230441172719", Err(IsbnError::Prefix));
        check("978044117271X", Err(IsbnError::Character('X')));
        check("９７８0441172719", Err(IsbnError::Character('９')));
    }
}
