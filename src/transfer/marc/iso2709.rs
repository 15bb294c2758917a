//! ISO 2709 ("MARC binary", `.mrc`) reading and writing.
//!
//! [`Iso2709Reader`] streams records from any [`Read`], holding at most one
//! record (≤ 99999 bytes) plus a 64 KiB read buffer, whatever the file size.
//! Records are delimited by the record terminator (hex 1D); each is then checked
//! against its leader. A bad record yields a [`RecordError`] and reading resumes
//! after its terminator, so every bad record in a file is reported.
//! Between records, CR, LF, NUL, blanks, tabs and hex 1A are skipped.
//!
//! Assumes MARC 21 structure (leader/10-11 = "22", leader/20-23 = "4500")
//! whatever the leader says. Leader/09 'a' = UTF-8; anything else = MARC-8
//! (unless [`Iso2709Reader::with_encoding`] overrides it). Decoded records hold
//! Unicode, so their leader/09 is set to 'a'.
//!
//! [`write_record`] writes UTF-8 records; [`write_record_marc8`] writes MARC-8
//! (for test data).

use std::io::{self, Read, Write};

use super::error::{RecordError, RecordErrorKind, WriteError};
use super::marc8::{self, Decoder};
use super::{Field, Leader, Record, Subfield, Tag, is_valid_indicator, nfc, nfc_string};

const RECORD_TERMINATOR: u8 = 0x1D;
const FIELD_TERMINATOR: u8 = 0x1E;
const SUBFIELD_DELIMITER: u8 = 0x1F;
/// Largest record ISO 2709 can describe.
pub const MAX_RECORD_LEN: usize = 99_999;
const CHUNK: usize = 64 * 1024;

/// Character encoding of a record's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UCS / Unicode in UTF-8 (leader/09 = 'a').
    Utf8,
    /// MARC-8 (leader/09 = ' ').
    Marc8,
}

/// Streaming ISO 2709 reader; an iterator of `Result<Record, RecordError>`.
pub struct Iso2709Reader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    records: u64,
    eof: bool,
    done: bool,
    encoding: Option<Encoding>,
}

impl<R> std::fmt::Debug for Iso2709Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iso2709Reader")
            .field("offset", &self.offset)
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Iso2709Reader<R> {
    /// A reader that takes each record's encoding from its leader/09.
    pub fn new(inner: R) -> Self {
        Iso2709Reader {
            inner,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            offset: 0,
            records: 0,
            eof: false,
            done: false,
            encoding: None,
        }
    }

    /// A reader that decodes every record as `encoding`, whatever leader/09 says
    /// (for files whose leaders are known to lie).
    pub fn with_encoding(inner: R, encoding: Encoding) -> Self {
        let mut r = Iso2709Reader::new(inner);
        r.encoding = Some(encoding);
        r
    }

    /// Number of records (good or bad) returned so far.
    pub fn records_read(&self) -> u64 {
        self.records
    }

    /// Reads more bytes after `end`, compacting or growing the buffer. Returns
    /// the number of bytes added (0 at end of file).
    fn fill(&mut self) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        if self.start > 0 && (self.start == self.end || self.buf.len() - self.end < CHUNK / 4) {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < CHUNK / 4 {
            let new_len = self.buf.len() + CHUNK;
            self.buf.resize(new_len, 0);
        }
        loop {
            let Some(space) = self.buf.get_mut(self.end..) else {
                return Ok(0);
            };
            match self.inner.read(space) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    fn error(&self, offset: u64, kind: RecordErrorKind) -> RecordError {
        RecordError {
            record: self.records,
            offset,
            kind,
        }
    }

    /// Skips to just after the next record terminator, not buffering the bytes.
    fn skip_past_terminator(&mut self) -> io::Result<u64> {
        let mut skipped = 0u64;
        loop {
            let window = self.buf.get(self.start..self.end).unwrap_or(&[]);
            if let Some(p) = window.iter().position(|&b| b == RECORD_TERMINATOR) {
                skipped += (p + 1) as u64;
                self.consume(p + 1);
                return Ok(skipped);
            }
            let n = window.len();
            skipped += n as u64;
            self.consume(n);
            if self.fill()? == 0 {
                return Ok(skipped);
            }
        }
    }

    fn next_record(&mut self) -> Option<Result<Record, RecordError>> {
        // Skip filler between records.
        loop {
            let window = self.buf.get(self.start..self.end).unwrap_or(&[]);
            let filler = window
                .iter()
                .take_while(|&&b| matches!(b, b'\r' | b'\n' | 0 | b' ' | b'\t' | 0x1A))
                .count();
            let all = filler == window.len();
            self.consume(filler);
            if !all {
                break;
            }
            match self.fill() {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(self.fatal(e))),
            }
        }
        self.records += 1;
        let record_offset = self.offset;
        // Find the terminator.
        let mut searched = 0;
        let len = loop {
            let window = self.buf.get(self.start..self.end).unwrap_or(&[]);
            if let Some(p) = window
                .get(searched..)
                .unwrap_or(&[])
                .iter()
                .position(|&b| b == RECORD_TERMINATOR)
            {
                break searched + p + 1;
            }
            searched = window.len();
            if searched > MAX_RECORD_LEN {
                return Some(match self.skip_past_terminator() {
                    Ok(skipped) => {
                        Err(self.error(record_offset, RecordErrorKind::NoTerminator { skipped }))
                    }
                    Err(e) => Err(self.fatal(e)),
                });
            }
            match self.fill() {
                Ok(0) => {
                    let window = self.buf.get(self.start..self.end).unwrap_or(&[]);
                    let got = window.len();
                    let declared = parse_digits(window.get(..5).unwrap_or(&[]));
                    self.consume(got);
                    self.done = true;
                    return Some(Err(
                        self.error(record_offset, RecordErrorKind::Truncated { got, declared })
                    ));
                }
                Ok(_) => {}
                Err(e) => return Some(Err(self.fatal(e))),
            }
        };
        let bytes = self.buf.get(self.start..self.start + len).unwrap_or(&[]);
        let result = parse_record(bytes, self.encoding);
        self.consume(len);
        Some(result.map_err(|kind| self.error(record_offset, kind)))
    }

    fn fatal(&mut self, e: io::Error) -> RecordError {
        self.done = true;
        let offset = self.offset;
        self.error(offset, RecordErrorKind::Io(e))
    }
}

impl<R: Read> Iterator for Iso2709Reader<R> {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_record();
        if item.is_none() {
            self.done = true;
        }
        item
    }
}

fn parse_digits(bytes: &[u8]) -> Option<usize> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0usize, |acc, &b| acc * 10 + usize::from(b - b'0')),
    )
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Parses one complete record (leader through record terminator).
///
/// # Errors
/// What is wrong with the record.
pub fn parse_record(bytes: &[u8], encoding: Option<Encoding>) -> Result<Record, RecordErrorKind> {
    let actual = bytes.len();
    let length_field = bytes.get(..5).unwrap_or(bytes);
    let Some(declared) = parse_digits(length_field).filter(|_| length_field.len() == 5) else {
        return Err(RecordErrorKind::BadLength {
            found: lossy(length_field),
        });
    };
    if declared != actual {
        return Err(RecordErrorKind::LengthMismatch { declared, actual });
    }
    let Some(leader_bytes) = bytes.get(..24).and_then(|l| <[u8; 24]>::try_from(l).ok()) else {
        return Err(RecordErrorKind::TooShort { length: actual });
    };
    let mut leader = Leader::from_bytes(leader_bytes)
        .map_err(|position| RecordErrorKind::BadLeader { position })?;
    let base_field = bytes.get(12..17).unwrap_or(&[]);
    let bad_base = |reason| RecordErrorKind::BadBaseAddress {
        found: lossy(base_field),
        reason,
    };
    let base = parse_digits(base_field).ok_or_else(|| bad_base("it is not five digits"))?;
    // The data area runs from base to the byte before the record terminator.
    let data_end = actual - 1;
    if base < 25 || base > data_end {
        return Err(bad_base("it lies outside the record"));
    }
    if bytes.get(base - 1) != Some(&FIELD_TERMINATOR) {
        return Err(bad_base(
            "the directory does not end (hex 1E) just before it",
        ));
    }
    let directory = bytes.get(24..base - 1).unwrap_or(&[]);
    if directory.len() % 12 != 0 {
        return Err(bad_base(
            "the directory is not a whole number of 12-byte entries",
        ));
    }
    let data = bytes.get(base..data_end).unwrap_or(&[]);
    let encoding = encoding.unwrap_or(if leader.character_coding() == 'a' {
        Encoding::Utf8
    } else {
        Encoding::Marc8
    });
    let mut fields = Vec::with_capacity(directory.len() / 12);
    let mut decoder = Decoder::new();
    for (index, entry) in directory.chunks_exact(12).enumerate() {
        let tag_bytes = entry.get(..3).unwrap_or(&[]);
        let tag = <[u8; 3]>::try_from(tag_bytes)
            .ok()
            .and_then(Tag::from_bytes)
            .ok_or_else(|| RecordErrorKind::InvalidTag {
                tag: lossy(tag_bytes),
            })?;
        let (Some(length), Some(start)) = (
            parse_digits(entry.get(3..7).unwrap_or(&[])),
            parse_digits(entry.get(7..12).unwrap_or(&[])),
        ) else {
            return Err(RecordErrorKind::BadDirectoryEntry {
                index: index + 1,
                entry: lossy(entry),
            });
        };
        let Some(content) = data.get(start..start + length) else {
            return Err(RecordErrorKind::DirectoryPastEnd {
                tag: tag.to_string(),
                start,
                length,
                data_len: data.len(),
            });
        };
        let Some((&FIELD_TERMINATOR, content)) = content.split_last() else {
            return Err(RecordErrorKind::MissingFieldTerminator {
                tag: tag.to_string(),
            });
        };
        decoder.reset();
        fields.push(parse_field(tag, content, encoding, &mut decoder)?);
    }
    leader.set(9, 'a');
    Ok(Record { leader, fields })
}

fn decode_text(
    bytes: &[u8],
    encoding: Encoding,
    decoder: &mut Decoder,
    tag: Tag,
    subfield: Option<char>,
) -> Result<String, RecordErrorKind> {
    match encoding {
        Encoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => Ok(nfc(s).into_owned()),
            Err(_) => Err(RecordErrorKind::InvalidUtf8 {
                tag: tag.to_string(),
                subfield,
            }),
        },
        Encoding::Marc8 => {
            let mut out = String::with_capacity(bytes.len());
            decoder
                .decode_into(bytes, &mut out)
                .map_err(|error| RecordErrorKind::Marc8 {
                    tag: tag.to_string(),
                    subfield,
                    error,
                })?;
            Ok(out)
        }
    }
}

fn parse_field(
    tag: Tag,
    content: &[u8],
    encoding: Encoding,
    decoder: &mut Decoder,
) -> Result<Field, RecordErrorKind> {
    if tag.is_control() {
        let value = decode_text(content, encoding, decoder, tag, None)?;
        return Ok(Field::Control { tag, value });
    }
    let indicator = |i: usize| -> Result<char, RecordErrorKind> {
        match content.get(i) {
            Some(&b) if is_valid_indicator(char::from(b)) => Ok(char::from(b)),
            Some(_) => Err(RecordErrorKind::InvalidIndicator {
                tag: tag.to_string(),
                found: lossy(content.get(i..=i).unwrap_or(&[])),
            }),
            None => Err(RecordErrorKind::InvalidIndicator {
                tag: tag.to_string(),
                found: "(missing)".to_owned(),
            }),
        }
    };
    let ind1 = indicator(0)?;
    let ind2 = indicator(1)?;
    let body = content.get(2..).unwrap_or(&[]);
    let mut parts = body.split(|&b| b == SUBFIELD_DELIMITER);
    if parts.next().is_some_and(|first| !first.is_empty()) {
        return Err(RecordErrorKind::DataBeforeFirstSubfield {
            tag: tag.to_string(),
        });
    }
    let mut subfields = Vec::new();
    for part in parts {
        let Some((&code, value)) = part.split_first() else {
            continue; // empty subfield (two delimiters in a row)
        };
        if !code.is_ascii_graphic() {
            return Err(RecordErrorKind::InvalidSubfieldCode {
                tag: tag.to_string(),
                found: lossy(&[code]),
            });
        }
        let code = char::from(code);
        let value = decode_text(value, encoding, decoder, tag, Some(code))?;
        subfields.push(Subfield { code, value });
    }
    Ok(Field::Data {
        tag,
        ind1,
        ind2,
        subfields,
    })
}

/// Checks a text for the ISO 2709 writer: no structural delimiters.
fn check_text(tag: Tag, text: &str) -> Result<(), WriteError> {
    if text
        .bytes()
        .any(|b| matches!(b, RECORD_TERMINATOR | FIELD_TERMINATOR | SUBFIELD_DELIMITER))
    {
        return Err(WriteError::DelimiterInData {
            tag: tag.to_string(),
        });
    }
    Ok(())
}

/// Checks that a field's kind matches its tag and its indicators and codes are writable.
pub(crate) fn check_field(field: &Field) -> Result<(), WriteError> {
    match field {
        Field::Control { tag, .. } if !tag.is_control() => Err(WriteError::WrongFieldKind {
            tag: tag.to_string(),
            found: "control field",
            expected: "data field",
        }),
        Field::Data { tag, .. } if tag.is_control() => Err(WriteError::WrongFieldKind {
            tag: tag.to_string(),
            found: "data field",
            expected: "control field",
        }),
        Field::Control { .. } => Ok(()),
        Field::Data {
            tag,
            ind1,
            ind2,
            subfields,
        } => {
            for ind in [*ind1, *ind2] {
                if !is_valid_indicator(ind) {
                    return Err(WriteError::InvalidIndicator {
                        tag: tag.to_string(),
                        found: ind,
                    });
                }
            }
            if let Some(sf) = subfields.iter().find(|s| !s.code.is_ascii_graphic()) {
                return Err(WriteError::InvalidSubfieldCode {
                    tag: tag.to_string(),
                    found: sf.code,
                });
            }
            Ok(())
        }
    }
}

fn encode_text(
    tag: Tag,
    text: &str,
    encoding: Encoding,
    out: &mut Vec<u8>,
) -> Result<(), WriteError> {
    check_text(tag, text)?;
    match encoding {
        Encoding::Utf8 => out.extend_from_slice(nfc(text).as_bytes()),
        Encoding::Marc8 => {
            let bytes =
                marc8::encode(&nfc_string(text.to_owned())).map_err(|e| WriteError::NotMarc8 {
                    tag: tag.to_string(),
                    ch: e.ch,
                })?;
            out.extend_from_slice(&bytes);
        }
    }
    Ok(())
}

/// Serialises a record as ISO 2709 bytes in the given encoding.
///
/// # Errors
/// See [`WriteError`]; nothing is produced for a record that cannot be written.
pub fn to_bytes(record: &Record, encoding: Encoding) -> Result<Vec<u8>, WriteError> {
    let mut data: Vec<u8> = Vec::with_capacity(1024);
    let mut directory: Vec<u8> = Vec::with_capacity(12 * record.fields.len());
    for field in &record.fields {
        check_field(field)?;
        let tag = field.tag();
        let start = data.len();
        match field {
            Field::Control { value, .. } => encode_text(tag, value, encoding, &mut data)?,
            Field::Data {
                ind1,
                ind2,
                subfields,
                ..
            } => {
                // Indicators are ASCII (checked above).
                data.push(*ind1 as u8);
                data.push(*ind2 as u8);
                for sf in subfields {
                    data.push(SUBFIELD_DELIMITER);
                    data.push(sf.code as u8);
                    encode_text(tag, &sf.value, encoding, &mut data)?;
                }
            }
        }
        data.push(FIELD_TERMINATOR);
        let length = data.len() - start;
        if length > 9999 {
            return Err(WriteError::FieldTooLong {
                tag: tag.to_string(),
                length,
            });
        }
        if start > MAX_RECORD_LEN {
            return Err(WriteError::RecordTooLong {
                length: 24 + directory.len() + data.len(),
            });
        }
        directory.extend_from_slice(tag.as_bytes());
        directory.extend_from_slice(format!("{length:04}{start:05}").as_bytes());
    }
    let base = 24 + directory.len() + 1;
    let total = base + data.len() + 1;
    if total > MAX_RECORD_LEN {
        return Err(WriteError::RecordTooLong { length: total });
    }
    let mut leader = record.leader;
    leader.set_number(0, 5, total);
    leader.set(
        9,
        match encoding {
            Encoding::Utf8 => 'a',
            Encoding::Marc8 => ' ',
        },
    );
    leader.set(10, '2');
    leader.set(11, '2');
    leader.set_number(12, 5, base);
    leader.set_number(20, 4, 4500);
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(leader.as_bytes());
    out.extend_from_slice(&directory);
    out.push(FIELD_TERMINATOR);
    out.extend_from_slice(&data);
    out.push(RECORD_TERMINATOR);
    Ok(out)
}

/// Writes one record as UTF-8 ISO 2709 (leader/09 = 'a'; length, base address,
/// directory and leader/10-11, 20-23 computed).
///
/// # Errors
/// See [`WriteError`]; nothing is written for a record that cannot be written.
pub fn write_record(w: &mut impl Write, record: &Record) -> Result<(), WriteError> {
    let bytes = to_bytes(record, Encoding::Utf8)?;
    w.write_all(&bytes)?;
    Ok(())
}

/// Writes one record as MARC-8 ISO 2709 (leader/09 = ' '), for test data.
///
/// # Errors
/// See [`WriteError`], including characters MARC-8 cannot represent.
pub fn write_record_marc8(w: &mut impl Write, record: &Record) -> Result<(), WriteError> {
    let bytes = to_bytes(record, Encoding::Marc8)?;
    w.write_all(&bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let mut r = Record::new(Leader::BRIEF_BOOK);
        r.fields
            .push(Field::control(Tag::parse("001").expect("tag"), "ocm123"));
        r.fields.push(Field::data(
            Tag::parse("245").expect("tag"),
            '1',
            '0',
            vec![Subfield::new('a', "Géode :"), Subfield::new('b', "ünd")],
        ));
        r
    }

    #[test]
    fn round_trip_both_encodings() {
        for enc in [Encoding::Utf8, Encoding::Marc8] {
            let bytes = to_bytes(&sample(), enc).expect("writes");
            let back = parse_record(&bytes, None).expect("reads");
            assert_eq!(back.fields, sample().fields);
            assert_eq!(back.leader.character_coding(), 'a');
        }
    }

    #[test]
    fn small_reads_are_fine() {
        struct OneByte(Vec<u8>, usize);
        impl Read for OneByte {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match (self.0.get(self.1), buf.first_mut()) {
                    (Some(&b), Some(slot)) => {
                        *slot = b;
                        self.1 += 1;
                        Ok(1)
                    }
                    _ => Ok(0),
                }
            }
        }
        let mut bytes = Vec::new();
        for _ in 0..3 {
            write_record(&mut bytes, &sample()).expect("writes");
        }
        let n = Iso2709Reader::new(OneByte(bytes, 0))
            .inspect(|r| assert!(r.is_ok(), "{r:?}"))
            .count();
        assert_eq!(n, 3);
    }
}
