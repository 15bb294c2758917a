//! MARC-8 ⇄ Unicode conversion: a stateful decoder (G0/G1 designation by escape
//! sequences, combining marks moved after their base, NFC output) and an encoder
//! used to produce MARC-8 test data. Tables live in `marc8_tables.rs` (generated).
//!
//! Escape sequences recognised (Library of Congress, "MARC-8: accessing alternate graphic character sets"):
//! - technique 1 (G0, locking): `ESC g` Greek symbols, `ESC b` subscripts,
//!   `ESC p` superscripts, `ESC s` back to ASCII;
//! - technique 2 (ISO 2022): `ESC ( F` / `ESC , F` → G0, `ESC ) F` / `ESC - F` → G1,
//!   `ESC $ 1`, `ESC $ , 1` (also `ESC $ ( 1`) → EACC into G0, `ESC $ ) 1` /
//!   `ESC $ - 1` → EACC into G1, where F is `B` ASCII, `!E` (or bare `E`) ANSEL,
//!   `2` Hebrew, `N` basic Cyrillic, `Q` extended Cyrillic, `3` basic Arabic,
//!   `4` extended Arabic, `S` Greek, `1` EACC.
//!
//! Each field starts with G0 = ASCII and G1 = ANSEL; a [`Decoder`] keeps the
//! designations across the subfields of one field (subfield codes are ASCII and
//! are not passed through the decoder).

use std::fmt;

use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

use super::marc8_tables::{DECODE, ENCODE};

/// Character set final bytes.
const ASCII: u8 = 0x42;
const ANSEL: u8 = 0x45;
const EACC: u8 = 0x31;
const GREEK_SYMBOLS: u8 = 0x67;
const SUBSCRIPTS: u8 = 0x62;
const SUPERSCRIPTS: u8 = 0x70;
const C1: u8 = 0x00;
const ESC: u8 = 0x1B;

/// Why MARC-8 bytes could not be decoded. Positions are byte offsets in the
/// text that was being decoded (one subfield or control field).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Marc8Error {
    /// An escape sequence this decoder does not know.
    #[error("invalid MARC-8 escape sequence {bytes} at byte {at}")]
    InvalidEscape {
        /// Offset of the ESC byte.
        at: usize,
        /// The bytes of the sequence, in hex.
        bytes: Hex,
    },
    /// A byte (or 3-byte EACC code) with no mapping in the current character set.
    #[error("MARC-8 code {code} at byte {at} has no Unicode mapping in the {set} character set")]
    Unmappable {
        /// Offset of the code.
        at: usize,
        /// The code, in hex.
        code: Hex,
        /// The character set in use.
        set: SetName,
    },
    /// An EACC (3-byte) character cut short.
    #[error(
        "the East Asian (EACC) character at byte {at} is cut short: it needs 3 bytes \
         but only {have} remain"
    )]
    TruncatedMultibyte {
        /// Offset of the first byte.
        at: usize,
        /// Bytes available.
        have: usize,
    },
}

/// Bytes shown as hex in error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hex(pub Vec<u8>);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("hex")?;
        for b in &self.0 {
            write!(f, " {b:02X}")?;
        }
        Ok(())
    }
}

/// A MARC-8 character set, by its final byte, shown by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetName(pub u8);

impl fmt::Display for SetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            ASCII => "Basic Latin (ASCII)",
            ANSEL => "Extended Latin (ANSEL)",
            0x53 => "Basic Greek",
            0x4E => "Basic Cyrillic",
            0x51 => "Extended Cyrillic",
            0x32 => "Basic Hebrew",
            0x33 => "Basic Arabic",
            0x34 => "Extended Arabic",
            SUBSCRIPTS => "Subscripts",
            SUPERSCRIPTS => "Superscripts",
            GREEK_SYMBOLS => "Greek Symbols",
            EACC => "East Asian (EACC)",
            C1 => "control (C1)",
            _ => "unknown",
        })
    }
}

fn lookup(set: u8, code: u32) -> Option<(char, bool)> {
    let key = (u32::from(set) << 24) | code;
    DECODE
        .binary_search_by_key(&key, |e| e.0)
        .ok()
        .and_then(|i| DECODE.get(i))
        .map(|e| (e.1, e.2))
}

fn final_for_single(b: u8) -> Option<u8> {
    match b {
        ASCII | ANSEL | 0x32 | 0x33 | 0x34 | 0x4E | 0x51 | 0x53 | EACC => Some(b),
        _ => None,
    }
}

/// Stateful MARC-8 decoder for one field.
#[derive(Debug, Clone)]
pub struct Decoder {
    g0: u8,
    g1: u8,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder in the default state: G0 = ASCII, G1 = ANSEL.
    #[must_use]
    pub const fn new() -> Decoder {
        Decoder {
            g0: ASCII,
            g1: ANSEL,
        }
    }

    /// Back to the default state (call at the start of each field).
    pub fn reset(&mut self) {
        *self = Decoder::new();
    }

    /// Parses the escape sequence at `bytes[at]` (an ESC); returns its length.
    fn escape(&mut self, bytes: &[u8], at: usize) -> Result<usize, Marc8Error> {
        let rest = bytes.get(at..).unwrap_or(&[]);
        let bad = |n: usize| Marc8Error::InvalidEscape {
            at,
            bytes: Hex(rest.iter().take(n).copied().collect()),
        };
        let b1 = rest.get(1).copied();
        match b1 {
            Some(b's') => {
                self.g0 = ASCII;
                Ok(2)
            }
            Some(b @ (b'g' | b'b' | b'p')) => {
                self.g0 = b;
                Ok(2)
            }
            Some(inter @ (b'(' | b',' | b')' | b'-')) => {
                let to_g0 = matches!(inter, b'(' | b',');
                let (set, len) = match rest.get(2).copied() {
                    Some(b'!') => match rest.get(3).copied() {
                        Some(b'E') => (ANSEL, 4),
                        _ => return Err(bad(4)),
                    },
                    Some(f) => match final_for_single(f) {
                        Some(set) => (set, 3),
                        None => return Err(bad(3)),
                    },
                    None => return Err(bad(3)),
                };
                if to_g0 {
                    self.g0 = set;
                } else {
                    self.g1 = set;
                }
                Ok(len)
            }
            Some(b'$') => match (rest.get(2).copied(), rest.get(3).copied()) {
                (Some(EACC), _) => {
                    self.g0 = EACC;
                    Ok(3)
                }
                (Some(b',' | b'('), Some(EACC)) => {
                    self.g0 = EACC;
                    Ok(4)
                }
                (Some(b')' | b'-'), Some(EACC)) => {
                    self.g1 = EACC;
                    Ok(4)
                }
                _ => Err(bad(4)),
            },
            _ => Err(bad(2)),
        }
    }

    /// Decodes `bytes` (one subfield value or control field) and appends the
    /// Unicode text, in NFC, to `out`. Designations carry over to the next call.
    ///
    /// # Errors
    /// An unknown escape sequence, an unmappable code or a cut-short EACC character.
    pub fn decode_into(&mut self, bytes: &[u8], out: &mut String) -> Result<(), Marc8Error> {
        if bytes.iter().all(|&b| (0x20..0x7F).contains(&b)) && self.g0 == ASCII {
            // Fast path: plain ASCII.
            out.extend(bytes.iter().map(|&b| char::from(b)));
            return Ok(());
        }
        let mut raw = String::with_capacity(bytes.len() + 8);
        let mut pending: Vec<char> = Vec::new();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            let at = i;
            let (set, code, len) = match b {
                ESC => {
                    i += self.escape(bytes, i)?;
                    continue;
                }
                0x00..=0x20 => {
                    // Controls and space: the same in every set.
                    raw.push(char::from(b));
                    raw.extend(pending.drain(..));
                    i += 1;
                    continue;
                }
                0x21..=0x7F => {
                    if self.g0 == EACC {
                        (EACC, multibyte(bytes, i)?, 3)
                    } else {
                        (self.g0, u32::from(b), 1)
                    }
                }
                0x80..=0x9F => (C1, u32::from(b), 1),
                0xA0..=0xFF => {
                    if self.g1 == EACC {
                        (EACC, multibyte(bytes, i)?, 3)
                    } else {
                        (self.g1, u32::from(b & 0x7F), 1)
                    }
                }
            };
            let Some((ch, combining)) = lookup(set, code) else {
                return Err(Marc8Error::Unmappable {
                    at,
                    code: Hex(bytes.get(at..at + len).unwrap_or(&[]).to_vec()),
                    set: SetName(set),
                });
            };
            if combining {
                pending.push(ch);
            } else {
                raw.push(ch);
                raw.extend(pending.drain(..));
            }
            i += len;
        }
        // Marks with no base left at the end are kept, after whatever precedes them.
        raw.extend(pending.drain(..));
        if raw.is_ascii() {
            out.push_str(&raw);
        } else {
            out.extend(raw.nfc());
        }
        Ok(())
    }
}

/// The 7-bit EACC code of the 3 bytes at `at`.
fn multibyte(bytes: &[u8], at: usize) -> Result<u32, Marc8Error> {
    match bytes.get(at..at + 3) {
        Some(&[a, b, c]) => {
            Ok(((u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c)) & 0x007F_7F7F)
        }
        _ => Err(Marc8Error::TruncatedMultibyte {
            at,
            have: bytes.len().saturating_sub(at),
        }),
    }
}

/// Decodes one self-contained MARC-8 string (default designations) to NFC Unicode.
///
/// # Errors
/// See [`Decoder::decode_into`].
pub fn decode(bytes: &[u8]) -> Result<String, Marc8Error> {
    let mut out = String::with_capacity(bytes.len());
    Decoder::new().decode_into(bytes, &mut out)?;
    Ok(out)
}

/// A character MARC-8 cannot represent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{ch:?} (U+{code:04X}) cannot be written in MARC-8", code = u32::from(*ch))]
pub struct EncodeError {
    /// The character.
    pub ch: char,
}

fn encode_key(ch: char) -> Option<u32> {
    ENCODE
        .binary_search_by_key(&ch, |e| e.0)
        .ok()
        .and_then(|i| ENCODE.get(i))
        .map(|e| e.1)
}

fn is_combining_key(key: u32) -> bool {
    DECODE
        .binary_search_by_key(&key, |e| e.0)
        .ok()
        .and_then(|i| DECODE.get(i))
        .is_some_and(|e| e.2)
}

/// Encoder state while writing one string.
struct EncState {
    out: Vec<u8>,
    g0: u8,
    g1: u8,
}

impl EncState {
    fn emit(&mut self, key: u32) {
        let set = (key >> 24) as u8;
        let code = key & 0x00FF_FFFF;
        match set {
            C1 => self.out.push(code as u8),
            ASCII => {
                if code != 0x20 {
                    self.use_g0(ASCII);
                }
                self.out.push(code as u8);
            }
            GREEK_SYMBOLS | SUBSCRIPTS | SUPERSCRIPTS => {
                self.use_g0(set);
                self.out.push(code as u8);
            }
            EACC => {
                self.use_g0(EACC);
                self.out
                    .extend_from_slice(&[(code >> 16) as u8, (code >> 8) as u8, code as u8]);
            }
            // Extended Latin and the "extended" sets go to G1, the others to G0.
            ANSEL | 0x34 | 0x51 => {
                self.use_g1(set);
                self.out.push(code as u8 | 0x80);
            }
            _ => {
                self.use_g0(set);
                self.out.push(code as u8);
            }
        }
    }

    fn use_g0(&mut self, set: u8) {
        if self.g0 == set {
            return;
        }
        match set {
            ASCII if matches!(self.g0, GREEK_SYMBOLS | SUBSCRIPTS | SUPERSCRIPTS) => {
                self.out.extend_from_slice(&[ESC, b's']);
            }
            GREEK_SYMBOLS | SUBSCRIPTS | SUPERSCRIPTS => self.out.extend_from_slice(&[ESC, set]),
            EACC => self.out.extend_from_slice(&[ESC, b'$', EACC]),
            _ => self.out.extend_from_slice(&[ESC, b'(', set]),
        }
        self.g0 = set;
    }

    fn use_g1(&mut self, set: u8) {
        if self.g1 == set {
            return;
        }
        if set == ANSEL {
            self.out.extend_from_slice(&[ESC, b')', b'!', b'E']);
        } else {
            self.out.extend_from_slice(&[ESC, b')', set]);
        }
        self.g1 = set;
    }
}

/// Encodes Unicode text as MARC-8 (combining marks placed before their base,
/// designations returned to ASCII/ANSEL at the end).
///
/// # Errors
/// The first character that has no MARC-8 representation.
pub fn encode(text: &str) -> Result<Vec<u8>, EncodeError> {
    if text.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        return Ok(text.as_bytes().to_vec());
    }
    // Map every character to a table key, decomposing those with no direct entry.
    let mut keys: Vec<(u32, bool)> = Vec::with_capacity(text.len());
    for ch in text.chars() {
        if ch < ' ' && !matches!(ch, '\u{1B}' | '\u{1D}' | '\u{1E}' | '\u{1F}') {
            keys.push((u32::from(ch) | (u32::from(ASCII) << 24), false));
        } else if let Some(key) = encode_key(ch) {
            keys.push((key, is_combining_key(key)));
        } else {
            let mut decomposed = String::new();
            decomposed.extend(std::iter::once(ch).nfd());
            if decomposed.chars().eq(std::iter::once(ch)) {
                return Err(EncodeError { ch });
            }
            for d in decomposed.chars() {
                let key = encode_key(d).ok_or(EncodeError { ch })?;
                keys.push((key, is_combining_key(key)));
            }
        }
    }
    let mut st = EncState {
        out: Vec::with_capacity(text.len() + 8),
        g0: ASCII,
        g1: ANSEL,
    };
    let mut i = 0;
    while let Some(&(key, combining)) = keys.get(i) {
        if combining {
            // A mark with no base before it: write as is.
            st.emit(key);
            i += 1;
            continue;
        }
        let marks_end = keys
            .get(i + 1..)
            .unwrap_or(&[])
            .iter()
            .position(|k| !k.1)
            .map_or(keys.len(), |p| i + 1 + p);
        for &(mark, _) in keys.get(i + 1..marks_end).unwrap_or(&[]) {
            st.emit(mark);
        }
        st.emit(key);
        i = marks_end;
    }
    st.use_g0(ASCII);
    st.use_g1(ANSEL);
    Ok(st.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(bytes: &[u8]) -> String {
        decode(bytes).expect("decodes")
    }

    #[test]
    fn acute_before_base_is_moved_and_composed() {
        // The mark applies to the FOLLOWING letter: acute before e is "G\xE2eode".
        assert_eq!(d(b"G\xE2eode"), "Géode");
        assert_eq!(d(b"Ge\xE2ode"), "Geóde");
        assert_eq!(d(b"\xE8uber"), "über");
        assert_eq!(d(b"Dvo\xE9rak"), "Dvořak");
    }

    #[test]
    fn nfc_and_multiple_marks() {
        // macron + acute on a → ǡ? here: dot below + macron on r (ṝ).
        let s = d(b"\xF2\xE5r");
        assert_eq!(s, "\u{1E5D}");
        // marks with no precomposed form stay as combining sequence
        assert_eq!(d(b"\xE2\xF2x"), "x\u{323}\u{301}".nfc().collect::<String>());
    }

    #[test]
    fn special_ansel_letters() {
        assert_eq!(d(b"\xA1\xB1d\xB2"), "Łłdø");
        assert_eq!(d(b"\xC7"), "ß");
        assert_eq!(d(b"\xA5"), "Æ");
        assert_eq!(d(b"\x88The\x89 book"), "\u{98}The\u{9C} book");
    }

    #[test]
    fn greek_and_cyrillic_by_escape() {
        assert_eq!(d(b"\x1B(Sab\x1B(B x"), "αβ x");
        assert_eq!(d(b"\x1B(SAB"), "ΑΒ");
        assert_eq!(d(b"\x1B(NMOSKWA\x1B(B"), "москва");
        assert_eq!(d(b"\x1B(Nmoskwa\x1B(B"), "МОСКВА");
        // Extended Cyrillic into G1.
        assert_eq!(d(b"\x1B)Q\xE7"), "\u{407}");
        assert_eq!(d(b"\x1B-Q\xE7"), "\u{407}");
        assert_eq!(d(b"\x1B,N\x1B-Qa\xE7"), "А\u{407}");
    }

    #[test]
    fn hebrew_arabic_and_technique_one() {
        assert_eq!(d(b"\x1B(2`ab\x1B(B"), "אבג");
        assert_eq!(d(b"\x1B(3GD\x1B(B"), "\u{627}\u{624}");
        assert_eq!(d(b"H\x1Bb2\x1BsO"), "H₂O");
        assert_eq!(d(b"x\x1Bp2\x1Bs"), "x²");
        assert_eq!(d(b"\x1Bga\x1Bs"), "\u{3B1}");
    }

    #[test]
    fn eacc() {
        assert_eq!(d(b"\x1B$1!0d\x1B(B"), "人");
        assert_eq!(d(b"\x1B$,1!0d"), "人");
        // EACC designated into G1: high bytes.
        assert_eq!(d(b"\x1B$)1\xA1\xB0\xE4 x"), "人 x");
        assert_eq!(encode("人").expect("ok"), b"\x1B$1!0d\x1B(B");
    }

    #[test]
    fn errors() {
        assert!(matches!(
            decode(b"ab\x1B(Zc"),
            Err(Marc8Error::InvalidEscape { at: 2, .. })
        ));
        assert!(matches!(
            decode(b"ab\xFF"),
            Err(Marc8Error::Unmappable { at: 2, .. })
        ));
        assert!(matches!(
            decode(b"\x1B$1!0"),
            Err(Marc8Error::TruncatedMultibyte { at: 3, have: 2 })
        ));
        assert!(matches!(
            decode(b"\x1B"),
            Err(Marc8Error::InvalidEscape { .. })
        ));
    }

    #[test]
    fn encode_round_trip() {
        for s in [
            "Géode",
            "Dvořák, Antonín",
            "Łukasiewicz",
            "Øster Ångström",
            "Straße",
            "Ibáñez ‡",
            "H₂O x²",
            "Москва Ελλάδα",
            "שלום",
            "人",
        ] {
            let s: String = s.nfc().collect();
            match encode(&s) {
                Ok(bytes) => assert_eq!(d(&bytes), s, "{s}"),
                Err(e) => assert!(s.contains('‡'), "{s}: {e}"),
            }
        }
        assert_eq!(encode("Géode").expect("ok"), b"G\xE2eode");
    }
}
