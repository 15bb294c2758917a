//! MARCXML (Library of Congress slim schema, `http://www.loc.gov/MARC21/slim`) streaming reader
//! and writer.
//!
//! The reader accepts `<collection>` or a bare `<record>`, with or without a
//! namespace prefix (elements are matched by local name; other elements are
//! ignored). A record with MARC-level faults (bad leader, tag, indicator, code,
//! unknown entity) yields a [`RecordError`] and reading continues with the next
//! `<record>`. XML that is not well-formed yields one error and ends reading,
//! since the parser cannot find the next record reliably. Offsets are of the
//! `<` that opens each `<record>`. A `<record>` nested in another (OAI-PMH
//! wraps `marc:record` in its own `record`) replaces the outer one.

use std::io::{self, BufRead, BufReader, Read, Write};

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use super::error::{RecordError, RecordErrorKind, WriteError};
use super::iso2709::check_field;
use super::{Field, Leader, Record, Subfield, Tag, is_valid_indicator, nfc, nfc_string};

/// The MARC 21 slim namespace.
pub const NAMESPACE: &str = "http://www.loc.gov/MARC21/slim";

/// What the text being collected belongs to.
#[derive(Debug)]
enum Text {
    None,
    Leader,
    Control(Tag),
    Subfield(char),
}

/// The record being assembled.
#[derive(Debug)]
struct Partial {
    offset: u64,
    leader: Option<Leader>,
    fields: Vec<Field>,
    /// Open `<datafield>`.
    data: Option<(Tag, char, char, Vec<Subfield>)>,
    text: Text,
    buf: String,
    /// First MARC-level error; the record is skipped when set.
    error: Option<RecordErrorKind>,
    /// Depth of unknown elements being skipped inside the record.
    ignore_depth: usize,
}

/// Streaming MARCXML reader; an iterator of `Result<Record, RecordError>`.
pub struct MarcXmlReader<R> {
    xml: Reader<R>,
    buf: Vec<u8>,
    records: u64,
    done: bool,
}

impl<R> std::fmt::Debug for MarcXmlReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarcXmlReader")
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

impl<R: Read> MarcXmlReader<BufReader<R>> {
    /// A reader over any byte source (buffered internally).
    pub fn new(inner: R) -> Self {
        MarcXmlReader::from_buf_read(BufReader::with_capacity(64 * 1024, inner))
    }
}

impl<R: BufRead> MarcXmlReader<R> {
    /// A reader over an already-buffered source.
    pub fn from_buf_read(inner: R) -> Self {
        let mut xml = Reader::from_reader(inner);
        let config = xml.config_mut();
        config.expand_empty_elements = false;
        config.check_end_names = true;
        MarcXmlReader {
            xml,
            buf: Vec::with_capacity(4096),
            records: 0,
            done: false,
        }
    }

    fn err(&self, offset: u64, kind: RecordErrorKind) -> RecordError {
        RecordError {
            record: self.records,
            offset,
            kind,
        }
    }

    fn next_record(&mut self) -> Option<Result<Record, RecordError>> {
        let mut partial: Option<Partial> = None;
        loop {
            let before = self.xml.buffer_position();
            self.buf.clear();
            let event = match self.xml.read_event_into(&mut self.buf) {
                Ok(e) => e,
                Err(e) => {
                    self.done = true;
                    if partial.is_none() {
                        self.records += 1;
                    }
                    let offset = partial
                        .as_ref()
                        .map_or_else(|| self.xml.error_position(), |p| p.offset);
                    let kind = match e {
                        quick_xml::Error::Io(io) => {
                            RecordErrorKind::Io(io::Error::new(io.kind(), io.to_string()))
                        }
                        other => RecordErrorKind::Xml {
                            message: format!("{other} at byte {}", self.xml.error_position()),
                        },
                    };
                    return Some(Err(self.err(offset, kind)));
                }
            };
            match event {
                Event::Start(e) if partial.is_none() => {
                    if e.local_name().as_ref() == b"record" {
                        self.records += 1;
                        partial = Some(Partial::new(before));
                    }
                }
                Event::Empty(e) if partial.is_none() => {
                    if e.local_name().as_ref() == b"record" {
                        self.records += 1;
                        return Some(Err(self.err(before, RecordErrorKind::MissingLeader)));
                    }
                }
                Event::Start(e) => {
                    if e.local_name().as_ref() == b"record" {
                        // A <record> inside a <record> (e.g. OAI-PMH's wrapper record
                        // around marc:record): the inner one is the MARC record.
                        partial = Some(Partial::new(before));
                    } else if let Some(p) = partial.as_mut() {
                        start_element(p, &e, false);
                    }
                }
                Event::Empty(e) => {
                    if let Some(p) = partial.as_mut() {
                        start_element(p, &e, true);
                    }
                }
                Event::End(e) => {
                    if let Some(p) = partial.as_mut() {
                        if p.ignore_depth > 0 {
                            p.ignore_depth -= 1;
                        } else if e.local_name().as_ref() == b"record" {
                            return partial.take().map(|p| self.finish(p));
                        } else {
                            end_element(p, e.local_name().as_ref());
                        }
                    }
                }
                ev @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)) => {
                    if let Some(p) = partial.as_mut().filter(|p| !matches!(p.text, Text::None)) {
                        collect_text(p, &ev);
                    }
                }
                Event::Eof => {
                    self.done = true;
                    return partial.map(|p| {
                        Err(self.err(
                            p.offset,
                            RecordErrorKind::Xml {
                                message: "the file ends inside a <record>".to_owned(),
                            },
                        ))
                    });
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
    }

    fn finish(&self, p: Partial) -> Result<Record, RecordError> {
        if let Some(kind) = p.error {
            return Err(self.err(p.offset, kind));
        }
        match p.leader {
            Some(leader) => Ok(Record {
                leader,
                fields: p.fields,
            }),
            None => Err(self.err(p.offset, RecordErrorKind::MissingLeader)),
        }
    }
}

impl Partial {
    fn new(offset: u64) -> Partial {
        Partial {
            offset,
            leader: None,
            fields: Vec::new(),
            data: None,
            text: Text::None,
            buf: String::new(),
            error: None,
            ignore_depth: 0,
        }
    }
}

/// Appends character data (text, CDATA, entity and character references).
fn collect_text(p: &mut Partial, ev: &Event<'_>) {
    let decoded = match ev {
        Event::Text(t) => t.xml10_content(),
        Event::CData(t) => t.xml10_content(),
        Event::GeneralRef(r) => {
            let name = r
                .decode()
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default();
            match r.resolve_char_ref() {
                Ok(Some(c)) => p.buf.push(c),
                Ok(None) => match resolve_predefined_entity(&name) {
                    Some(s) => p.buf.push_str(s),
                    None => set_error(p, RecordErrorKind::UnknownEntity { name }),
                },
                Err(_) => set_error(p, RecordErrorKind::UnknownEntity { name }),
            }
            return;
        }
        _ => return,
    };
    if let Ok(s) = decoded {
        p.buf.push_str(&s);
    } else {
        let what = match (&p.text, &p.data) {
            (Text::Leader, _) => "the leader".to_owned(),
            (Text::Control(tag), _) => format!("field {tag}"),
            (Text::Subfield(code), Some(d)) => format!("field {} ${code}", d.0),
            _ => "text".to_owned(),
        };
        set_error(p, RecordErrorKind::XmlInvalidUtf8 { what });
    }
}

fn set_error(p: &mut Partial, kind: RecordErrorKind) {
    if p.error.is_none() {
        p.error = Some(kind);
    }
}

/// The value of attribute `name` (unescaped), if present.
fn attr(e: &BytesStart<'_>, name: &[u8]) -> Result<Option<String>, RecordErrorKind> {
    for a in e.attributes() {
        let a = a.map_err(|err| RecordErrorKind::Xml {
            message: err.to_string(),
        })?;
        if a.key.local_name().as_ref() == name {
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| RecordErrorKind::Xml {
                    message: err.to_string(),
                })?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn tag_attr(e: &BytesStart<'_>, element: &'static str) -> Result<Tag, RecordErrorKind> {
    let tag = attr(e, b"tag")?.ok_or(RecordErrorKind::MissingAttribute {
        element,
        attribute: "tag",
    })?;
    Tag::parse(&tag).ok_or(RecordErrorKind::InvalidTag { tag })
}

fn indicator_attr(e: &BytesStart<'_>, name: &[u8], tag: Tag) -> Result<char, RecordErrorKind> {
    // A missing indicator attribute is read as blank.
    let value = attr(e, name)?.unwrap_or_else(|| " ".to_owned());
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if is_valid_indicator(c) => Ok(c),
        _ => Err(RecordErrorKind::InvalidIndicator {
            tag: tag.to_string(),
            found: value,
        }),
    }
}

fn start_element(p: &mut Partial, e: &BytesStart<'_>, empty: bool) {
    if p.ignore_depth > 0 {
        if !empty {
            p.ignore_depth += 1;
        }
        return;
    }
    let name = e.local_name();
    let result = match name.as_ref() {
        b"leader" => {
            p.text = Text::Leader;
            p.buf.clear();
            Ok(())
        }
        b"controlfield" => tag_attr(e, "controlfield").and_then(|tag| {
            if tag.is_control() {
                p.text = Text::Control(tag);
                p.buf.clear();
                Ok(())
            } else {
                Err(RecordErrorKind::WrongFieldKind {
                    tag: tag.to_string(),
                    found: "control field",
                    expected: "data field",
                })
            }
        }),
        b"datafield" => tag_attr(e, "datafield").and_then(|tag| {
            if tag.is_control() {
                return Err(RecordErrorKind::WrongFieldKind {
                    tag: tag.to_string(),
                    found: "data field",
                    expected: "control field",
                });
            }
            let ind1 = indicator_attr(e, b"ind1", tag)?;
            let ind2 = indicator_attr(e, b"ind2", tag)?;
            p.data = Some((tag, ind1, ind2, Vec::new()));
            Ok(())
        }),
        b"subfield" if p.data.is_some() => attr(e, b"code").and_then(|code| {
            let tag = p.data.as_ref().map(|d| d.0.to_string()).unwrap_or_default();
            let code = code.ok_or(RecordErrorKind::MissingAttribute {
                element: "subfield",
                attribute: "code",
            })?;
            let mut chars = code.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_graphic() => {
                    p.text = Text::Subfield(c);
                    p.buf.clear();
                    Ok(())
                }
                _ => Err(RecordErrorKind::InvalidSubfieldCode { tag, found: code }),
            }
        }),
        _ => {
            if !empty {
                p.ignore_depth = 1;
            }
            Ok(())
        }
    };
    if let Err(kind) = result {
        set_error(p, kind);
    }
    if empty {
        // `<subfield code="a"/>` etc.: close at once.
        end_element(p, name.as_ref());
    }
}

fn end_element(p: &mut Partial, name: &[u8]) {
    let text = std::mem::replace(&mut p.text, Text::None);
    let value = nfc_string(std::mem::take(&mut p.buf));
    match (name, text) {
        (b"leader", Text::Leader) => match Leader::parse(&value) {
            Some(mut leader) => {
                leader.set(9, 'a');
                p.leader = Some(leader);
            }
            None => set_error(p, RecordErrorKind::BadXmlLeader { found: value }),
        },
        (b"controlfield", Text::Control(tag)) => p.fields.push(Field::Control { tag, value }),
        (b"subfield", Text::Subfield(code)) => {
            if let Some(d) = p.data.as_mut() {
                d.3.push(Subfield { code, value });
            }
        }
        (b"datafield", _) => {
            if let Some((tag, ind1, ind2, subfields)) = p.data.take() {
                p.fields.push(Field::Data {
                    tag,
                    ind1,
                    ind2,
                    subfields,
                });
            }
        }
        _ => {}
    }
}

impl<R: BufRead> Iterator for MarcXmlReader<R> {
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

/// Writes `<collection xmlns="http://www.loc.gov/MARC21/slim">` documents.
pub struct MarcXmlWriter<W: Write> {
    inner: W,
    buf: String,
}

impl<W: Write> std::fmt::Debug for MarcXmlWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarcXmlWriter").finish_non_exhaustive()
    }
}

impl<W: Write> MarcXmlWriter<W> {
    /// Writes the XML declaration and opens the collection.
    ///
    /// # Errors
    /// I/O errors.
    pub fn new(mut inner: W) -> Result<Self, WriteError> {
        inner.write_all(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n",
        )?;
        Ok(MarcXmlWriter {
            inner,
            buf: String::with_capacity(4096),
        })
    }

    /// Writes one `<record>`. Nothing is written for a record that fails.
    ///
    /// # Errors
    /// Wrong field kinds, invalid indicators or codes, characters XML 1.0
    /// cannot carry, I/O errors.
    pub fn write(&mut self, record: &Record) -> Result<(), WriteError> {
        self.buf.clear();
        let out = &mut self.buf;
        out.push_str("  <record>\n    <leader>");
        let mut leader = record.leader;
        leader.set(9, 'a');
        escape_into(out, leader.as_str(), "leader")?;
        out.push_str("</leader>\n");
        for field in &record.fields {
            check_field(field)?;
            let tag = field.tag();
            match field {
                Field::Control { value, .. } => {
                    out.push_str("    <controlfield tag=\"");
                    out.push_str(tag.as_str());
                    out.push_str("\">");
                    escape_into(out, &nfc(value), tag.as_str())?;
                    out.push_str("</controlfield>\n");
                }
                Field::Data {
                    ind1,
                    ind2,
                    subfields,
                    ..
                } => {
                    out.push_str("    <datafield tag=\"");
                    out.push_str(tag.as_str());
                    out.push_str("\" ind1=\"");
                    out.push(*ind1);
                    out.push_str("\" ind2=\"");
                    out.push(*ind2);
                    out.push_str("\">\n");
                    for sf in subfields {
                        out.push_str("      <subfield code=\"");
                        let mut code = [0u8; 4];
                        escape_into(out, sf.code.encode_utf8(&mut code), tag.as_str())?;
                        out.push_str("\">");
                        escape_into(out, &nfc(&sf.value), tag.as_str())?;
                        out.push_str("</subfield>\n");
                    }
                    out.push_str("    </datafield>\n");
                }
            }
        }
        out.push_str("  </record>\n");
        self.inner.write_all(self.buf.as_bytes())?;
        Ok(())
    }

    /// Closes the collection and returns the inner writer.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.inner.write_all(b"</collection>\n")?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

/// Writes a whole collection to `w`.
///
/// # Errors
/// The first record that cannot be written (see [`MarcXmlWriter::write`]).
pub fn write_collection<'a, W: Write>(
    w: W,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<W, WriteError> {
    let mut writer = MarcXmlWriter::new(w)?;
    for r in records {
        writer.write(r)?;
    }
    writer.finish()
}

/// Escapes text for element content or a double-quoted attribute.
fn escape_into(out: &mut String, text: &str, tag: &str) -> Result<(), WriteError> {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Kept through XML end-of-line and attribute normalisation.
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => {
                return Err(WriteError::InvalidXmlChar {
                    tag: tag.to_owned(),
                    code: u32::from(c),
                });
            }
            _ => out.push(c),
        }
    }
    Ok(())
}
