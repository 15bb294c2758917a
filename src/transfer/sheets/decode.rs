//! Turning the bytes of a spreadsheet file into text.
//!
//! Order of decisions in [`decode`]:
//!
//! 1. A byte-order mark wins: UTF-8 (`EF BB BF`), UTF-16LE (`FF FE`),
//!    UTF-16BE (`FE FF`). The mark is removed from the text.
//! 2. No mark, but NUL bytes in (nearly) every other byte: UTF-16 without a
//!    mark, little- or big-endian depending on which half of each pair is NUL.
//!    This check comes before the UTF-8 one because such bytes are also valid
//!    UTF-8 (NUL is a valid character).
//! 3. Valid UTF-8: taken as UTF-8.
//! 4. Anything else is **not** silently converted: [`DecodeError::NotUtf8`]
//!    says so, where the first bad byte is, and carries the text decoded with
//!    the best guess (Windows-1252, what Excel writes as "CSV" on Western
//!    European Windows) so the UI can show a preview and let the user confirm
//!    it or pick another encoding with [`decode_as`].
//!
//! All conversions are done by `encoding_rs`.

use std::fmt;
use std::io::{self, BufRead};
use std::path::Path;

/// A text encoding a spreadsheet file may be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 starting with the byte-order mark `EF BB BF` (Excel's "CSV UTF-8", calibre).
    Utf8Bom,
    /// UTF-16, little-endian (with or without the mark `FF FE`).
    Utf16Le,
    /// UTF-16, big-endian (with or without the mark `FE FF`).
    Utf16Be,
    /// Windows-1252 ("ANSI" on Western European Windows).
    Windows1252,
    /// ISO-8859-1 proper: like Windows-1252 except that bytes `80`–`9F` are
    /// C1 control characters instead of `€`, `‚`, `…`, `Œ`, `™` and so on.
    Latin1,
}

impl Encoding {
    /// Every encoding, in the order a chooser would list them.
    pub const ALL: [Encoding; 6] = [
        Encoding::Utf8,
        Encoding::Utf8Bom,
        Encoding::Utf16Le,
        Encoding::Utf16Be,
        Encoding::Windows1252,
        Encoding::Latin1,
    ];

    /// A short human-readable name, e.g. for an encoding chooser.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 with BOM",
            Encoding::Utf16Le => "UTF-16 LE",
            Encoding::Utf16Be => "UTF-16 BE",
            Encoding::Windows1252 => "Windows-1252",
            Encoding::Latin1 => "ISO-8859-1 (Latin-1)",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Text decoded from a file, and the encoding it was decoded from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The text, without any byte-order mark.
    pub text: String,
    /// The encoding that was detected or chosen.
    pub encoding: Encoding,
}

/// Why bytes could not be turned into text without guessing or loss.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The file has no byte-order mark, does not look like UTF-16 and is not
    /// valid UTF-8. `guessed` holds the whole text decoded with `guess` so
    /// the UI can preview it and ask the user to confirm or choose another
    /// encoding (then call [`decode_as`]).
    #[error(
        "the file is not UTF-8 (first invalid byte at offset {valid_up_to}, line {line}); \
         it looks like {guess}"
    )]
    NotUtf8 {
        /// Byte offset of the first byte that is not valid UTF-8.
        valid_up_to: usize,
        /// 1-based line of that byte.
        line: usize,
        /// The best guess.
        guess: Encoding,
        /// The text decoded with `guess`.
        guessed: String,
    },
    /// The bytes are not valid in `encoding` (declared by a byte-order mark,
    /// detected, or chosen by the user). `lossy` is the text with each bad
    /// sequence replaced by U+FFFD, for display only.
    #[error("the file is not valid {encoding}: some bytes cannot be decoded")]
    Malformed {
        /// The encoding that was tried.
        encoding: Encoding,
        /// The text with replacement characters, for display only.
        lossy: String,
    },
}

/// Detects the encoding of `bytes` and decodes them.
///
/// See the module documentation for the order of decisions. Empty input is
/// valid UTF-8.
///
/// # Errors
///
/// [`DecodeError::NotUtf8`] when there is no byte-order mark, no sign of
/// UTF-16 and the bytes are not valid UTF-8; [`DecodeError::Malformed`] when
/// a byte-order mark or the UTF-16 heuristic named an encoding the bytes are
/// not valid in.
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if let Some(encoding) = bom_encoding(bytes) {
        return decode_as(bytes, encoding);
    }
    if let Some(encoding) = sniff_utf16(bytes) {
        return decode_as(bytes, encoding);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Decoded {
            text: text.to_owned(),
            encoding: Encoding::Utf8,
        }),
        Err(err) => {
            let valid_up_to = err.valid_up_to();
            let line = 1 + bytes
                .get(..valid_up_to)
                .map_or(0, |head| head.split(|&b| b == b'\n').count() - 1);
            let guess = Encoding::Windows1252;
            let guessed = decode_single_byte(bytes, guess);
            Err(DecodeError::NotUtf8 {
                valid_up_to,
                line,
                guess,
                guessed,
            })
        }
    }
}

/// Decodes `bytes` as `encoding`, as chosen by the user.
///
/// A byte-order mark matching the encoding's family is removed: for
/// [`Encoding::Utf8`] and [`Encoding::Utf8Bom`] a UTF-8 mark, for the UTF-16
/// variants their own mark. The returned [`Decoded::encoding`] says whether a
/// UTF-8 mark was actually there. Windows-1252 and Latin-1 accept every byte.
///
/// # Errors
///
/// [`DecodeError::Malformed`] when the bytes are not valid in `encoding`
/// (invalid UTF-8, an odd number of bytes or an unpaired surrogate in UTF-16).
pub fn decode_as(bytes: &[u8], encoding: Encoding) -> Result<Decoded, DecodeError> {
    match encoding {
        Encoding::Utf8 | Encoding::Utf8Bom => {
            let (body, found) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
                Some(rest) => (rest, Encoding::Utf8Bom),
                None => (bytes, Encoding::Utf8),
            };
            with_encoding_rs(body, encoding_rs::UTF_8, found)
        }
        Encoding::Utf16Le => with_encoding_rs(
            bytes.strip_prefix(b"\xFF\xFE").unwrap_or(bytes),
            encoding_rs::UTF_16LE,
            encoding,
        ),
        Encoding::Utf16Be => with_encoding_rs(
            bytes.strip_prefix(b"\xFE\xFF").unwrap_or(bytes),
            encoding_rs::UTF_16BE,
            encoding,
        ),
        Encoding::Windows1252 | Encoding::Latin1 => Ok(Decoded {
            text: decode_single_byte(bytes, encoding),
            encoding,
        }),
    }
}

fn with_encoding_rs(
    body: &[u8],
    codec: &'static encoding_rs::Encoding,
    reported: Encoding,
) -> Result<Decoded, DecodeError> {
    let (text, had_errors) = codec.decode_without_bom_handling(body);
    if had_errors {
        Err(DecodeError::Malformed {
            encoding: reported,
            lossy: text.into_owned(),
        })
    } else {
        Ok(Decoded {
            text: text.into_owned(),
            encoding: reported,
        })
    }
}

/// The encoding of a file that starts with `start`, as [`decode`] (or [`decode_as`] with
/// `chosen`) would report it if the whole file is valid in it.
#[must_use]
pub fn encoding_of(start: &[u8], chosen: Option<Encoding>) -> Encoding {
    let utf8 = if start.starts_with(UTF8_BOM) {
        Encoding::Utf8Bom
    } else {
        Encoding::Utf8
    };
    match chosen {
        Some(Encoding::Utf8 | Encoding::Utf8Bom) => utf8,
        Some(e) => e,
        None => bom_encoding(start)
            .or_else(|| sniff_utf16(start))
            .unwrap_or(utf8),
    }
}

/// The text of the file at `path` in `encoding` as a stream of UTF-8 from its start (its
/// byte-order mark left out), decoded as it is read: a sheet too big to hold is read this
/// way. Bytes not valid in the encoding are an error of kind
/// [`InvalidData`](std::io::ErrorKind::InvalidData).
///
/// # Errors
///
/// When the file cannot be opened.
pub fn open_decoded(path: &Path, encoding: Encoding) -> io::Result<Box<dyn BufRead>> {
    let mut file = io::BufReader::with_capacity(STREAM_BUFFER, std::fs::File::open(path)?);
    let mark: &[u8] = match encoding {
        Encoding::Utf8 | Encoding::Utf8Bom => UTF8_BOM,
        Encoding::Utf16Le => b"\xFF\xFE",
        Encoding::Utf16Be => b"\xFE\xFF",
        Encoding::Windows1252 | Encoding::Latin1 => b"",
    };
    if !mark.is_empty() && file.fill_buf()?.starts_with(mark) {
        file.consume(mark.len());
    }
    let codec = match encoding {
        Encoding::Utf8 | Encoding::Utf8Bom => Codec::Whatwg(encoding_rs::UTF_8),
        Encoding::Utf16Le => Codec::Whatwg(encoding_rs::UTF_16LE),
        Encoding::Utf16Be => Codec::Whatwg(encoding_rs::UTF_16BE),
        Encoding::Windows1252 => Codec::Whatwg(encoding_rs::WINDOWS_1252),
        Encoding::Latin1 => Codec::Latin1,
    };
    Ok(Box::new(io::BufReader::with_capacity(
        STREAM_BUFFER,
        Decoding {
            bytes: file,
            decoder: match codec {
                Codec::Whatwg(e) => Some(e.new_decoder_without_bom_handling()),
                Codec::Latin1 => None,
            },
            encoding,
            out: Vec::new(),
            at: 0,
            done: false,
        },
    )))
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How much of a file a stream reads at once.
const STREAM_BUFFER: usize = 64 * 1024;

enum Codec {
    Whatwg(&'static encoding_rs::Encoding),
    Latin1,
}

/// Bytes in an encoding, read as UTF-8 (see [`open_decoded`]).
struct Decoding<R> {
    bytes: R,
    /// `None`: Latin-1, byte for code point (`encoding_rs` reads the label as Windows-1252).
    decoder: Option<encoding_rs::Decoder>,
    encoding: Encoding,
    /// Decoded and not yet read: `out[at..]`.
    out: Vec<u8>,
    at: usize,
    done: bool,
}

impl<R: BufRead> io::Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.out.clear();
            self.at = 0;
            let src = self.bytes.fill_buf()?;
            let last = src.is_empty();
            let used = match &mut self.decoder {
                None => {
                    self.out
                        .extend_from_slice(encoding_rs::mem::decode_latin1(src).as_bytes());
                    src.len()
                }
                Some(decoder) => {
                    let room = decoder
                        .max_utf8_buffer_length(src.len())
                        .ok_or_else(|| io::Error::other("the file is too big to decode"))?;
                    self.out.resize(room, 0);
                    let (_, read, written, had_errors) =
                        decoder.decode_to_utf8(src, &mut self.out, last);
                    self.out.truncate(written);
                    if had_errors {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("the file is not valid {}", self.encoding),
                        ));
                    }
                    read
                }
            };
            self.bytes.consume(used);
            self.done = last;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn decode_single_byte(bytes: &[u8], encoding: Encoding) -> String {
    if encoding == Encoding::Latin1 {
        encoding_rs::mem::decode_latin1(bytes).into_owned()
    } else {
        // WHATWG Windows-1252 maps every byte, so this never reports errors.
        encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned()
    }
}

fn bom_encoding(bytes: &[u8]) -> Option<Encoding> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        Some(Encoding::Utf8Bom)
    } else if bytes.starts_with(b"\xFF\xFE") {
        Some(Encoding::Utf16Le)
    } else if bytes.starts_with(b"\xFE\xFF") {
        Some(Encoding::Utf16Be)
    } else {
        None
    }
}

/// How many leading bytes the UTF-16 heuristic looks at.
const UTF16_SAMPLE: usize = 4096;

/// UTF-16 without a mark: in text that is mostly ASCII (and spreadsheet
/// files always have ASCII separators, digits and line breaks), one byte of
/// each pair is NUL. Demands that at least 70 % of the pairs have a NUL in
/// one half and at most 5 % in the other.
fn sniff_utf16(bytes: &[u8]) -> Option<Encoding> {
    let sample = &bytes[..bytes.len().min(UTF16_SAMPLE)];
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return None;
    }
    let (mut nul_even, mut nul_odd) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        if pair[0] == 0 {
            nul_even += 1;
        }
        if pair[1] == 0 {
            nul_odd += 1;
        }
    }
    let mostly = |n: usize| n * 10 >= pairs * 7;
    let rarely = |n: usize| n * 20 <= pairs;
    if mostly(nul_odd) && rarely(nul_even) {
        Some(Encoding::Utf16Le)
    } else if mostly(nul_even) && rarely(nul_odd) {
        Some(Encoding::Utf16Be)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn utf16be(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    #[test]
    fn plain_utf8() {
        let d = decode("Gödel\n".as_bytes()).unwrap();
        assert_eq!(d.encoding, Encoding::Utf8);
        assert_eq!(d.text, "Gödel\n");
    }

    #[test]
    fn empty_is_utf8() {
        assert_eq!(decode(b"").unwrap().encoding, Encoding::Utf8);
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let d = decode(b"\xEF\xBB\xBFtitle\n").unwrap();
        assert_eq!(d.encoding, Encoding::Utf8Bom);
        assert_eq!(d.text, "title\n");
    }

    #[test]
    fn utf16_with_boms() {
        let mut le = vec![0xFF, 0xFE];
        le.extend(utf16le("Tïtle\tISBN\n"));
        let d = decode(&le).unwrap();
        assert_eq!(
            (d.encoding, d.text.as_str()),
            (Encoding::Utf16Le, "Tïtle\tISBN\n")
        );

        let mut be = vec![0xFE, 0xFF];
        be.extend(utf16be("Tïtle\tISBN\n"));
        let d = decode(&be).unwrap();
        assert_eq!(
            (d.encoding, d.text.as_str()),
            (Encoding::Utf16Be, "Tïtle\tISBN\n")
        );
    }

    #[test]
    fn utf16_without_bom_by_heuristic() {
        let d = decode(&utf16le("Title\tAuthor\nDune\tHerbert\n")).unwrap();
        assert_eq!(d.encoding, Encoding::Utf16Le);
        assert_eq!(d.text, "Title\tAuthor\nDune\tHerbert\n");
        let d = decode(&utf16be("Title,Author\n")).unwrap();
        assert_eq!(d.encoding, Encoding::Utf16Be);
    }

    #[test]
    fn odd_length_utf16_is_malformed_not_mangled() {
        let mut le = vec![0xFF, 0xFE];
        le.extend(utf16le("ab"));
        le.push(b'c');
        assert!(matches!(
            decode(&le),
            Err(DecodeError::Malformed {
                encoding: Encoding::Utf16Le,
                ..
            })
        ));
    }

    #[test]
    fn windows_1252_is_reported_not_guessed_silently() {
        let bytes = b"Titel;Autor\nCaf\xE9;G\xF6del\n12 \x80\n";
        let Err(DecodeError::NotUtf8 {
            valid_up_to,
            line,
            guess,
            guessed,
        }) = decode(bytes)
        else {
            panic!("expected NotUtf8");
        };
        assert_eq!((valid_up_to, line, guess), (15, 2, Encoding::Windows1252));
        assert_eq!(guessed, "Titel;Autor\nCafé;Gödel\n12 €\n");
        let chosen = decode_as(bytes, Encoding::Windows1252).unwrap();
        assert_eq!(chosen.text, guessed);
        let latin1 = decode_as(bytes, Encoding::Latin1).unwrap();
        assert_eq!(latin1.text, "Titel;Autor\nCafé;Gödel\n12 \u{80}\n");
    }

    #[test]
    fn decode_as_utf8_rejects_invalid() {
        assert!(matches!(
            decode_as(b"Caf\xE9", Encoding::Utf8),
            Err(DecodeError::Malformed {
                encoding: Encoding::Utf8,
                ..
            })
        ));
        let d = decode_as(b"\xEF\xBB\xBFok", Encoding::Utf8).unwrap();
        assert_eq!((d.encoding, d.text.as_str()), (Encoding::Utf8Bom, "ok"));
    }
}
