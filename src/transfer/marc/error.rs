//! Error types shared by the readers ([`RecordError`], [`RecordErrorKind`]) and the
//! writers ([`WriteError`]). Every message is written for a librarian to read.

use std::io;

use thiserror::Error;

use super::marc8::Marc8Error;

/// A record that could not be read. Reading goes on with the next record.
#[derive(Debug, Error)]
#[error("record {record} (starting at byte {offset}): {kind}")]
pub struct RecordError {
    /// 1-based number of the record in the file (counting bad records too).
    pub record: u64,
    /// Byte offset in the file where the record starts.
    pub offset: u64,
    /// What is wrong.
    pub kind: RecordErrorKind,
}

/// What is wrong with a record.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RecordErrorKind {
    /// The first five bytes are not the record length in digits.
    #[error("the record length {found:?} at the start of the record is not five digits")]
    BadLength {
        /// The five bytes found (lossy text).
        found: String,
    },
    /// The record length in the leader does not match where the record terminator is.
    #[error(
        "the record length says {declared} bytes, but the record terminator (hex 1D) \
         ends the record after {actual} bytes"
    )]
    LengthMismatch {
        /// Length written in the leader.
        declared: usize,
        /// Actual length up to and including the first record terminator.
        actual: usize,
    },
    /// No record terminator within the longest possible record.
    #[error(
        "no record terminator (hex 1D) within 99999 bytes; {skipped} bytes were \
         skipped up to the next terminator"
    )]
    NoTerminator {
        /// Bytes skipped.
        skipped: u64,
    },
    /// Too short to hold a leader and a directory terminator.
    #[error("the record is only {length} bytes long, too short to hold a 24-byte leader")]
    TooShort {
        /// Record length.
        length: usize,
    },
    /// The leader contains a byte that is not printable ASCII.
    #[error("the leader has a byte that is not printable ASCII at position {position}")]
    BadLeader {
        /// 0-based position.
        position: usize,
    },
    /// The base address of data (leader/12-16) is not where the directory ends.
    #[error("the base address of data {found:?} (leader positions 12-16) is wrong: {reason}")]
    BadBaseAddress {
        /// The five characters found.
        found: String,
        /// Why it is wrong.
        reason: &'static str,
    },
    /// A directory entry is not tag + 4 digits + 5 digits.
    #[error(
        "directory entry {index} ({entry:?}) is not a tag followed by a 4-digit \
         length and a 5-digit starting position"
    )]
    BadDirectoryEntry {
        /// 1-based entry number.
        index: usize,
        /// The 12 bytes (lossy text).
        entry: String,
    },
    /// A directory entry points past the end of the record.
    #[error(
        "the directory entry for field {tag} points past the end of the record \
         (field starts at {start} with length {length}, but the data area is only \
         {data_len} bytes)"
    )]
    DirectoryPastEnd {
        /// Field tag.
        tag: String,
        /// Starting position relative to the base address.
        start: usize,
        /// Field length.
        length: usize,
        /// Length of the data area, without the record terminator.
        data_len: usize,
    },
    /// A field does not end with the field terminator.
    #[error("field {tag} does not end with a field terminator (hex 1E)")]
    MissingFieldTerminator {
        /// Field tag.
        tag: String,
    },
    /// A tag is not three ASCII letters or digits.
    #[error("the tag {tag:?} is not valid: a tag is three ASCII letters or digits")]
    InvalidTag {
        /// The tag found (lossy text).
        tag: String,
    },
    /// An indicator is not a blank, digit or letter (or is missing).
    #[error(
        "field {tag} has an invalid indicator {found:?}: indicators are a blank, a digit or a letter"
    )]
    InvalidIndicator {
        /// Field tag.
        tag: String,
        /// What was found (lossy text, or "(missing)").
        found: String,
    },
    /// A subfield code is not printable ASCII.
    #[error("field {tag} has an invalid subfield code {found:?}")]
    InvalidSubfieldCode {
        /// Field tag.
        tag: String,
        /// What was found (lossy text, or "(missing)").
        found: String,
    },
    /// A data field has text between its indicators and its first subfield delimiter.
    #[error("field {tag} has text before its first subfield delimiter (hex 1F)")]
    DataBeforeFirstSubfield {
        /// Field tag.
        tag: String,
    },
    /// Broken UTF-8 in a record that says (leader/09 = 'a') it is UTF-8.
    #[error("field {tag}{} is not valid UTF-8, although leader/09 = 'a' says the record is Unicode", subfield_suffix(*subfield))]
    InvalidUtf8 {
        /// Field tag.
        tag: String,
        /// Subfield code, for a data field.
        subfield: Option<char>,
    },
    /// Broken UTF-8 in MARCXML text (MARCXML is read as UTF-8).
    #[error("{what} in the MARCXML is not valid UTF-8")]
    XmlInvalidUtf8 {
        /// "field 245 $a", "the leader", ...
        what: String,
    },
    /// MARC-8 text that cannot be decoded (bad escape sequence, unmappable byte).
    #[error("field {tag}{}: {error}", subfield_suffix(*subfield))]
    Marc8 {
        /// Field tag.
        tag: String,
        /// Subfield code, for a data field.
        subfield: Option<char>,
        /// What is wrong with the MARC-8 bytes.
        error: Marc8Error,
    },
    /// A control field tag used for a data field or vice versa (MARCXML).
    #[error("tag {tag} is used for a {found}, but it is a {expected} tag")]
    WrongFieldKind {
        /// Field tag.
        tag: String,
        /// "control field" or "data field".
        found: &'static str,
        /// "control field" or "data field".
        expected: &'static str,
    },
    /// The file ends in the middle of a record.
    #[error("the file ends in the middle of this record, after {got} bytes of it{}", declared_suffix(*declared))]
    Truncated {
        /// Bytes present.
        got: usize,
        /// Length declared in the leader, when readable.
        declared: Option<usize>,
    },
    /// MARCXML record without a `<leader>`.
    #[error("the MARCXML record has no <leader>")]
    MissingLeader,
    /// MARCXML leader that is not 24 printable ASCII characters.
    #[error("the MARCXML leader {found:?} is not 24 printable ASCII characters")]
    BadXmlLeader {
        /// The leader text found.
        found: String,
    },
    /// MARCXML element without a required attribute.
    #[error("a <{element}> element has no {attribute} attribute")]
    MissingAttribute {
        /// Element name.
        element: &'static str,
        /// Attribute name.
        attribute: &'static str,
    },
    /// An XML entity other than the five predefined ones or a character reference.
    #[error("unknown XML entity &{name};")]
    UnknownEntity {
        /// Entity name.
        name: String,
    },
    /// The XML is not well-formed; reading stops here.
    #[error("the XML is not well-formed ({message}); reading stops here")]
    Xml {
        /// Parser message.
        message: String,
    },
    /// The underlying reader failed; reading stops here.
    #[error("the file could not be read ({0}); reading stops here")]
    Io(#[source] io::Error),
}

fn subfield_suffix(code: Option<char>) -> String {
    code.map_or_else(String::new, |c| format!(" ${c}"))
}

fn declared_suffix(declared: Option<usize>) -> String {
    declared.map_or_else(String::new, |d| format!(" (its leader says {d} bytes)"))
}

/// A record that could not be written. Nothing is written for it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WriteError {
    /// ISO 2709 record over 99999 bytes.
    #[error("the record would be {length} bytes long; ISO 2709 allows at most 99999")]
    RecordTooLong {
        /// Length the record would have.
        length: usize,
    },
    /// ISO 2709 field over 9999 bytes.
    #[error("field {tag} would be {length} bytes long; ISO 2709 allows at most 9999 per field")]
    FieldTooLong {
        /// Field tag.
        tag: String,
        /// Length the field would have.
        length: usize,
    },
    /// Data contains 0x1D, 0x1E or 0x1F.
    #[error("field {tag} contains a MARC delimiter character (hex 1D, 1E or 1F) in its text")]
    DelimiterInData {
        /// Field tag.
        tag: String,
    },
    /// Indicator that is not blank, digit or letter.
    #[error(
        "field {tag} has an invalid indicator {found:?}: indicators are a blank, a digit or a letter"
    )]
    InvalidIndicator {
        /// Field tag.
        tag: String,
        /// The indicator.
        found: char,
    },
    /// Subfield code that is not printable ASCII.
    #[error("field {tag} has an invalid subfield code {found:?}")]
    InvalidSubfieldCode {
        /// Field tag.
        tag: String,
        /// The code.
        found: char,
    },
    /// Control tag holding subfields, or a data tag holding a plain value.
    #[error("tag {tag} is used for a {found}, but it is a {expected} tag")]
    WrongFieldKind {
        /// Field tag.
        tag: String,
        /// "control field" or "data field".
        found: &'static str,
        /// "control field" or "data field".
        expected: &'static str,
    },
    /// A character XML 1.0 cannot carry.
    #[error("field {tag} contains the character U+{code:04X}, which XML 1.0 cannot represent")]
    InvalidXmlChar {
        /// Field tag, or "leader".
        tag: String,
        /// The code point.
        code: u32,
    },
    /// A character MARC-8 cannot represent.
    #[error("field {tag} contains {ch:?} (U+{code:04X}), which MARC-8 cannot represent", code = u32::from(*ch))]
    NotMarc8 {
        /// Field tag.
        tag: String,
        /// The character.
        ch: char,
    },
    /// The underlying writer failed.
    #[error("the file could not be written ({0})")]
    Io(#[from] io::Error),
}
