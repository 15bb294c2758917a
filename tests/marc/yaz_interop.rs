//! Interoperability with yaz-marcdump (Debian package `yaz`): what we write,
//! yaz reads cleanly with the same records; what yaz writes (ISO 2709 from
//! MARCXML, MARC-8 ⇄ UTF-8 conversions), we read to the same fields.
//! A missing yaz-marcdump fails these tests with instructions.

use super::common;
use std::path::{Path, PathBuf};

use super::common::{
    assert_same_records, generated, iso_bytes, marc8_safe, read_iso_ok, read_xml_ok, run_yaz_clean,
    tricky,
};
use shelfmark::transfer::marc::iso2709::Encoding;
use shelfmark::transfer::marc::marcxml::write_collection;
use shelfmark::transfer::marc::{Iso2709Reader, Record};

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write temp file");
    p
}

fn corpus() -> Vec<Record> {
    let mut r = tricky();
    r.extend(generated(400, 21));
    r
}

fn count_records(xml: &[u8]) -> usize {
    String::from_utf8_lossy(xml).matches("<record").count()
}

#[test]
fn helper_finds_yaz() {
    let path = common::yaz_marcdump();
    assert!(path.is_file());
}

#[test]
fn yaz_reads_our_iso2709() {
    let dir = tempfile::tempdir().expect("tempdir");
    let records = corpus();
    let file = write_file(dir.path(), "ours.mrc", &iso_bytes(&records, Encoding::Utf8));
    let xml = run_yaz_clean(&["-o", "marcxml"], &file);
    assert_eq!(count_records(&xml), records.len());
    assert_same_records(&read_xml_ok(&xml), &records);
    // yaz's own line format also sees every record.
    let text = run_yaz_clean(&[], &file);
    let leaders = String::from_utf8_lossy(&text)
        .lines()
        .filter(|l| l.len() == 24 && l.ends_with("4500"))
        .count();
    assert_eq!(leaders, records.len());
}

#[test]
fn yaz_reads_our_marcxml_and_we_read_its_iso2709() {
    let dir = tempfile::tempdir().expect("tempdir");
    let records = corpus();
    let xml = write_collection(Vec::new(), &records).expect("writes");
    let file = write_file(dir.path(), "ours.xml", &xml);
    let iso = run_yaz_clean(&["-i", "marcxml", "-o", "marc"], &file);
    assert_same_records(&read_iso_ok(&iso), &records);
}

#[test]
fn yaz_utf8_to_marc8_we_decode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut records = marc8_safe();
    records.extend(generated(300, 22));
    // yaz-marcdump quirk: its UTF-8 -> MARC-8 conversion silently drops
    // precomposed letters outside Latin-1 (ř, š, ő, Ż, ...), exit 0 and nothing
    // on stderr; decomposed (NFD) input converts fully. So yaz is fed NFD here.
    let nfd = common::iso_bytes_nfd(&records);
    assert_same_records(&read_iso_ok(&nfd), &records);
    let file = write_file(dir.path(), "utf8.mrc", &nfd);
    // yaz-marcdump quirk: converting the character set does not touch leader/09;
    // `-l 9=32` marks the output as MARC-8.
    let marc8 = run_yaz_clean(
        &["-f", "UTF-8", "-t", "MARC-8", "-l", "9=32", "-o", "marc"],
        &file,
    );
    assert!(
        marc8
            .split_inclusive(|&b| b == 0x1D)
            .all(|r| r.get(9) == Some(&b' '))
    );
    assert!(marc8.contains(&0x1B), "escape sequences used");
    assert_same_records(&read_iso_ok(&marc8), &records);
    // Without -l the leader still says 'a'; the encoding override reads it.
    let unmarked = run_yaz_clean(&["-f", "UTF-8", "-t", "MARC-8", "-o", "marc"], &file);
    assert!(
        unmarked
            .split_inclusive(|&b| b == 0x1D)
            .all(|r| r.get(9) == Some(&b'a'))
    );
    let forced: Vec<Record> = Iso2709Reader::with_encoding(&unmarked[..], Encoding::Marc8)
        .map(|r| r.expect("reads as MARC-8"))
        .collect();
    assert_same_records(&forced, &records);
}

#[test]
fn yaz_marc8_to_utf8_reads_as_ours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut records = marc8_safe();
    records.extend(generated(300, 23));
    let ours = iso_bytes(&records, Encoding::Marc8);
    let file = write_file(dir.path(), "marc8.mrc", &ours);
    let utf8 = run_yaz_clean(
        &["-f", "MARC-8", "-t", "UTF-8", "-l", "9=97", "-o", "marc"],
        &file,
    );
    assert!(
        utf8.split_inclusive(|&b| b == 0x1D)
            .all(|r| r.get(9) == Some(&b'a'))
    );
    let theirs = read_iso_ok(&utf8);
    assert_same_records(&theirs, &read_iso_ok(&ours));
    assert_same_records(&theirs, &records);
    // And to MARCXML directly.
    let xml = run_yaz_clean(&["-f", "MARC-8", "-t", "UTF-8", "-o", "marcxml"], &file);
    assert_same_records(&read_xml_ok(&xml), &records);
}

#[test]
fn yaz_and_we_agree_on_marc8_diacritic_placement() {
    // Hand-made MARC-8 bytes (not produced by our encoder): acute before e,
    // multiple marks, ANSEL specials, Greek and Cyrillic via escapes.
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = common::raw_iso(
        b' ',
        &[
            ("001", b"m8"),
            ("245", b"10\x1FaG\xE2eode \xE8uber \xF2\xE5r \xA1\xB1\xB2\xC7 \x1B(Sabd\x1B(B \x1B(NMOSKWA\x1B(B"),
            ("500", b"  \x1FaH\x1Bb2\x1BsO x\x1Bp2\x1Bs"),
        ],
    );
    let file = write_file(dir.path(), "hand.mrc", &raw);
    let utf8 = run_yaz_clean(
        &["-f", "MARC-8", "-t", "UTF-8", "-l", "9=97", "-o", "marc"],
        &file,
    );
    // yaz writes decomposed UTF-8 (e + U+0301); our reader composes to NFC.
    assert!(
        utf8.windows(2).any(|w| w == b"\xCC\x81"),
        "yaz output is NFD"
    );
    assert_same_records(&read_iso_ok(&utf8), &read_iso_ok(&raw));
    let ours = read_iso_ok(&raw);
    assert_eq!(
        ours[0].field("245").and_then(|f| f.subfield('a')),
        Some("Géode über \u{1E5D} Łłøß αβγ москва")
    );
}

#[test]
fn yaz_marcxml_without_conversion_keeps_marc8_bytes_and_we_report_it() {
    // yaz-marcdump quirk: `-o marcxml` on a MARC-8 record without `-f/-t`
    // copies the MARC-8 bytes into the XML (not UTF-8) yet writes leader/09 'a'.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut file_bytes = iso_bytes(&[common::simple(1)], Encoding::Utf8);
    file_bytes.extend(common::raw_iso(
        b' ',
        &[("001", b"m8"), ("245", b"10\x1FaG\xE2eode")],
    ));
    file_bytes.extend(iso_bytes(&[common::simple(3)], Encoding::Utf8));
    let file = write_file(dir.path(), "m8.mrc", &file_bytes);
    let xml = run_yaz_clean(&["-o", "marcxml"], &file);
    assert!(
        xml.windows(2).any(|w| w == b"G\xE2"),
        "raw MARC-8 byte in XML"
    );
    let results: Vec<_> = shelfmark::transfer::marc::MarcXmlReader::new(&xml[..]).collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[2].is_ok());
    let e = results[1].as_ref().expect_err("broken UTF-8");
    assert_eq!(e.record, 2);
    assert!(
        matches!(&e.kind, shelfmark::transfer::marc::RecordErrorKind::XmlInvalidUtf8 { what } if what == "field 245 $a"),
        "{e}"
    );
}
