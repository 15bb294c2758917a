//! Content sniffing: tells ISO 2709 from MARCXML by the first bytes of a file,
//! never by its name.

/// A MARC serialisation this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ISO 2709 binary (`.mrc`).
    Iso2709,
    /// MARCXML (Library of Congress slim schema).
    MarcXml,
}

/// Guesses the format from the first bytes of a file (a few hundred are plenty).
///
/// MARCXML: after an optional UTF-8 byte-order mark and whitespace, `<?xml`,
/// a comment or doctype, or a `<collection` / `<record` element, with or
/// without a namespace prefix. ISO 2709: five ASCII digits and, when at least
/// 24 bytes are available, a leader shape (indicator and subfield-code counts
/// and base address digits, entry map digits). `None` when neither fits.
#[must_use]
pub fn detect(prefix: &[u8]) -> Option<Format> {
    let p = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let skip = p
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .count();
    let p = p.get(skip..).unwrap_or(&[]);
    if let Some(rest) = p.strip_prefix(b"<") {
        if rest.starts_with(b"?xml") || rest.starts_with(b"!--") || rest.starts_with(b"!DOCTYPE") {
            return Some(Format::MarcXml);
        }
        let name_len = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.'))
            .count();
        let name = rest.get(..name_len).unwrap_or(&[]);
        let local = name
            .iter()
            .rposition(|&b| b == b':')
            .map_or(name, |i| name.get(i + 1..).unwrap_or(&[]));
        let after = rest.get(name_len).copied();
        let ends_name =
            after.is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/'));
        if (local == b"collection" || local == b"record") && ends_name {
            return Some(Format::MarcXml);
        }
        return None;
    }
    // ISO 2709 is judged on the raw prefix: a record starts with its length.
    let digits = |r: std::ops::Range<usize>| {
        prefix
            .get(r)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    if !digits(0..5) {
        return None;
    }
    if prefix.len() < 24 {
        return Some(Format::Iso2709);
    }
    if digits(10..12) && digits(12..17) && digits(20..22) {
        Some(Format::Iso2709)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_forms() {
        for s in [
            "<?xml version=\"1.0\"?><collection>",
            "\u{FEFF}  \n<collection xmlns=\"http://www.loc.gov/MARC21/slim\">",
            "<marc:collection xmlns:marc=\"http://www.loc.gov/MARC21/slim\">",
            "<record>",
            "<marc:record/>",
            "<!-- export --><collection>",
        ] {
            assert_eq!(detect(s.as_bytes()), Some(Format::MarcXml), "{s}");
        }
        assert_eq!(detect(b"<html><body>"), None);
        assert_eq!(detect(b"<recordset>"), None);
    }

    #[test]
    fn iso_forms() {
        assert_eq!(
            detect(b"00714cam a2200205 a 4500001001300000"),
            Some(Format::Iso2709)
        );
        assert_eq!(detect(b"01234"), Some(Format::Iso2709));
        assert_eq!(detect(b"00714cam a22xx205 a 4500"), None);
        assert_eq!(detect(b"0071"), None);
        assert_eq!(detect(b""), None);
        assert_eq!(detect(b"%PDF-1.4"), None);
    }
}
