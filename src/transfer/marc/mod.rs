//! MARC 21 record model: [`Record`], [`Leader`], [`Field`], [`Subfield`] and [`Tag`],
//! plus the submodules that read, write, decode, map and generate records.
//!
//! All text held in these types is Unicode in NFC. The constructors normalise;
//! the readers normalise what they decode; the writers normalise again on the
//! way out, so a value pushed directly into a public field cannot leak out
//! un-normalised.

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::cast_lossless,
    clippy::module_name_repetitions
)]

pub mod detect;
pub mod error;
pub mod export;
pub mod r#gen;
pub mod iso2709;
pub mod map;
pub mod marc8;
mod marc8_tables;
pub mod marcxml;

use std::borrow::Cow;
use std::fmt;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

pub use detect::{Format, detect};
pub use error::{RecordError, RecordErrorKind, WriteError};
pub use export::{ExportBook, ExportHolding, export_record};
pub use r#gen::{GenStats, Generator, generate};
pub use iso2709::{Encoding, Iso2709Reader, write_record, write_record_marc8};
pub use map::{Holding, HoldingTag, MappedBook, map_record};
pub use marcxml::{MarcXmlReader, MarcXmlWriter};

/// A three-character MARC tag: ASCII letters or digits (`245`, `001`, `FMT`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag([u8; 3]);

impl Tag {
    /// Builds a tag from three bytes; `None` unless all are ASCII alphanumeric.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 3]) -> Option<Tag> {
        if bytes[0].is_ascii_alphanumeric()
            && bytes[1].is_ascii_alphanumeric()
            && bytes[2].is_ascii_alphanumeric()
        {
            Some(Tag(bytes))
        } else {
            None
        }
    }

    /// Parses `"245"`; `None` unless exactly three ASCII letters or digits.
    #[must_use]
    pub fn parse(s: &str) -> Option<Tag> {
        match s.as_bytes() {
            &[a, b, c] => Tag::from_bytes([a, b, c]),
            _ => None,
        }
    }

    /// The raw bytes of the tag.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 3] {
        &self.0
    }

    /// The tag as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Invariant: always three ASCII alphanumerics.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// True for control-field tags (`00X`: 001–009), which carry no indicators or subfields.
    #[must_use]
    pub const fn is_control(&self) -> bool {
        self.0[0] == b'0' && self.0[1] == b'0'
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({})", self.as_str())
    }
}

/// The 24-byte record leader. Always printable ASCII (0x20–0x7E).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Leader([u8; 24]);

impl Leader {
    /// Leader of a brief new record for a printed book (type `a`, level `m`,
    /// UTF-8, encoding level 7 = minimal, ISBD punctuation omitted).
    pub const BRIEF_BOOK: Leader = Leader(*b"00000nam a22000007c 4500");

    /// Builds a leader from raw bytes; `Err(position)` at the first byte that is
    /// not printable ASCII.
    ///
    /// # Errors
    /// The index of the first offending byte.
    pub fn from_bytes(bytes: [u8; 24]) -> Result<Leader, usize> {
        match bytes.iter().position(|b| !(0x20..=0x7E).contains(b)) {
            Some(pos) => Err(pos),
            None => Ok(Leader(bytes)),
        }
    }

    /// Parses leader text; `None` unless exactly 24 printable ASCII characters.
    #[must_use]
    pub fn parse(s: &str) -> Option<Leader> {
        let bytes: [u8; 24] = s.as_bytes().try_into().ok()?;
        Leader::from_bytes(bytes).ok()
    }

    /// The raw bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 24] {
        &self.0
    }

    /// The leader as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The byte at `pos` (0-based) as a char; `' '` when out of range.
    #[must_use]
    pub fn get(&self, pos: usize) -> char {
        self.0.get(pos).map_or(' ', |&b| char::from(b))
    }

    /// Sets position `pos` to `value`; returns false (and changes nothing) when
    /// `pos` is out of range or `value` is not printable ASCII.
    pub fn set(&mut self, pos: usize, value: char) -> bool {
        match (self.0.get_mut(pos), u8::try_from(value)) {
            (Some(slot), Ok(b)) if (0x20..=0x7E).contains(&b) => {
                *slot = b;
                true
            }
            _ => false,
        }
    }

    /// Leader/05 record status (`n` new, `c` corrected, `d` deleted, ...).
    #[must_use]
    pub fn record_status(&self) -> char {
        self.get(5)
    }

    /// Leader/06 type of record (`a` language material, ...).
    #[must_use]
    pub fn record_type(&self) -> char {
        self.get(6)
    }

    /// Leader/07 bibliographic level (`m` monograph, `s` serial, ...).
    #[must_use]
    pub fn bibliographic_level(&self) -> char {
        self.get(7)
    }

    /// Leader/09 character coding scheme: `' '` MARC-8, `'a'` UCS/Unicode.
    #[must_use]
    pub fn character_coding(&self) -> char {
        self.get(9)
    }

    /// Overwrites `len` positions starting at `start` with a zero-padded number
    /// (used by the writer for record length and base address).
    pub(crate) fn set_number(&mut self, start: usize, len: usize, value: usize) {
        let text = format!("{value:0len$}");
        if text.len() == len
            && let Some(slot) = self.0.get_mut(start..start + len)
        {
            slot.copy_from_slice(text.as_bytes());
        }
    }
}

impl Default for Leader {
    fn default() -> Self {
        Leader::BRIEF_BOOK
    }
}

impl fmt::Debug for Leader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Leader({:?})", self.as_str())
    }
}

impl fmt::Display for Leader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One subfield of a data field: a code (`a`, `b`, ...) and its text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Subfield {
    /// The subfield code, normally a lowercase letter or digit.
    pub code: char,
    /// The subfield text (NFC).
    pub value: String,
}

impl Subfield {
    /// A subfield with its value normalised to NFC.
    #[must_use]
    pub fn new(code: char, value: impl Into<String>) -> Subfield {
        Subfield {
            code,
            value: nfc_string(value.into()),
        }
    }
}

/// A variable field: a control field (tags 001–009) or a data field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// Control field (`00X`): a tag and a plain value.
    Control {
        /// The tag (001–009).
        tag: Tag,
        /// The value (NFC).
        value: String,
    },
    /// Data field: tag, two indicators and subfields.
    Data {
        /// The tag.
        tag: Tag,
        /// First indicator (`' '` when blank).
        ind1: char,
        /// Second indicator (`' '` when blank).
        ind2: char,
        /// The subfields in order.
        subfields: Vec<Subfield>,
    },
}

impl Field {
    /// A control field with its value normalised to NFC.
    #[must_use]
    pub fn control(tag: Tag, value: impl Into<String>) -> Field {
        Field::Control {
            tag,
            value: nfc_string(value.into()),
        }
    }

    /// A data field; the subfields are taken as given (use [`Subfield::new`] to normalise).
    #[must_use]
    pub fn data(tag: Tag, ind1: char, ind2: char, subfields: Vec<Subfield>) -> Field {
        Field::Data {
            tag,
            ind1,
            ind2,
            subfields,
        }
    }

    /// The field's tag.
    #[must_use]
    pub fn tag(&self) -> Tag {
        match self {
            Field::Control { tag, .. } | Field::Data { tag, .. } => *tag,
        }
    }

    /// The value of a control field; `None` for a data field.
    #[must_use]
    pub fn value(&self) -> Option<&str> {
        match self {
            Field::Control { value, .. } => Some(value),
            Field::Data { .. } => None,
        }
    }

    /// The subfields of a data field (empty for a control field).
    #[must_use]
    pub fn subfields(&self) -> &[Subfield] {
        match self {
            Field::Control { .. } => &[],
            Field::Data { subfields, .. } => subfields,
        }
    }

    /// First indicator (`' '` for a control field).
    #[must_use]
    pub fn ind1(&self) -> char {
        match self {
            Field::Control { .. } => ' ',
            Field::Data { ind1, .. } => *ind1,
        }
    }

    /// Second indicator (`' '` for a control field).
    #[must_use]
    pub fn ind2(&self) -> char {
        match self {
            Field::Control { .. } => ' ',
            Field::Data { ind2, .. } => *ind2,
        }
    }

    /// The value of the first subfield with this code.
    #[must_use]
    pub fn subfield(&self, code: char) -> Option<&str> {
        self.subfields()
            .iter()
            .find(|s| s.code == code)
            .map(|s| s.value.as_str())
    }

    /// The values of all subfields with this code, in order.
    pub fn subfield_values(&self, code: char) -> impl Iterator<Item = &str> {
        self.subfields()
            .iter()
            .filter(move |s| s.code == code)
            .map(|s| s.value.as_str())
    }
}

/// A MARC 21 record: a leader and its variable fields in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Record {
    /// The leader. Length, base address and leader/09 are recomputed by the writers.
    pub leader: Leader,
    /// The fields, in record order.
    pub fields: Vec<Field>,
}

impl Record {
    /// An empty record with this leader.
    #[must_use]
    pub fn new(leader: Leader) -> Record {
        Record {
            leader,
            fields: Vec::new(),
        }
    }

    /// All fields with this tag (e.g. `"650"`), in order.
    pub fn fields<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Field> + 'a {
        self.fields.iter().filter(move |f| f.tag().as_str() == tag)
    }

    /// The first field with this tag.
    #[must_use]
    pub fn field(&self, tag: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.tag().as_str() == tag)
    }

    /// The value of the first control field with this tag.
    #[must_use]
    pub fn control_value(&self, tag: &str) -> Option<&str> {
        self.fields
            .iter()
            .filter(|f| f.tag().as_str() == tag)
            .find_map(Field::value)
    }

    /// 001 control number.
    #[must_use]
    pub fn control_number(&self) -> Option<&str> {
        self.control_value("001")
    }

    /// 003 control number identifier (the agency that assigned 001).
    #[must_use]
    pub fn agency(&self) -> Option<&str> {
        self.control_value("003")
    }

    /// Inserts a field after the last field whose tag is not greater than its own,
    /// keeping tag order in an ordered record.
    pub fn insert_in_order(&mut self, field: Field) {
        let tag = field.tag();
        let pos = self
            .fields
            .iter()
            .rposition(|f| f.tag() <= tag)
            .map_or(0, |p| p + 1);
        self.fields.insert(pos, field);
    }

    /// Removes every field with this tag; returns how many were removed.
    pub fn remove_fields(&mut self, tag: &str) -> usize {
        let before = self.fields.len();
        self.fields.retain(|f| f.tag().as_str() != tag);
        before - self.fields.len()
    }

    /// Sets (replaces the first, or inserts in order) a control field.
    pub fn set_control(&mut self, tag: Tag, value: impl Into<String>) {
        let field = Field::control(tag, value);
        if let Some(slot) = self.fields.iter_mut().find(|f| f.tag() == tag) {
            *slot = field;
        } else {
            self.insert_in_order(field);
        }
    }
}

/// True for a valid MARC 21 indicator: blank, ASCII digit or ASCII letter.
#[must_use]
pub fn is_valid_indicator(c: char) -> bool {
    c == ' ' || c.is_ascii_alphanumeric()
}

/// True for a subfield code this module can write: printable ASCII other than blank.
#[must_use]
pub fn is_valid_subfield_code(c: char) -> bool {
    c.is_ascii_graphic()
}

/// Normalises to NFC, without allocating when the text already is.
#[must_use]
pub fn nfc(s: &str) -> Cow<'_, str> {
    if s.is_ascii() || is_nfc_quick(s.chars()) == IsNormalized::Yes {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfc().collect())
    }
}

/// Normalises an owned string to NFC in place of the original.
#[must_use]
pub fn nfc_string(s: String) -> String {
    match nfc(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(n) => n,
    }
}

/// Well-known tags as constants.
pub mod tags {
    use super::Tag;

    /// Compile-time tag from a 3-character literal.
    const fn lit(s: &str) -> Tag {
        let b = s.as_bytes();
        assert!(b.len() == 3, "a tag has three characters");
        match Tag::from_bytes([b[0], b[1], b[2]]) {
            Some(t) => t,
            None => panic!("bad tag constant"),
        }
    }

    macro_rules! tag {
        ($name:ident, $s:literal) => {
            #[doc = concat!("Tag ", $s, ".")]
            pub const $name: Tag = lit($s);
        };
    }
    tag!(T001, "001");
    tag!(T003, "003");
    tag!(T005, "005");
    tag!(T008, "008");
    tag!(T020, "020");
    tag!(T035, "035");
    tag!(T100, "100");
    tag!(T110, "110");
    tag!(T111, "111");
    tag!(T245, "245");
    tag!(T260, "260");
    tag!(T264, "264");
    tag!(T300, "300");
    tag!(T500, "500");
    tag!(T504, "504");
    tag!(T520, "520");
    tag!(T650, "650");
    tag!(T700, "700");
    tag!(T710, "710");
    tag!(T711, "711");
    tag!(T852, "852");
    tag!(T952, "952");
}
