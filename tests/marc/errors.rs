//! Every bad-record class yields its error with the right 1-based record number
//! and byte offset, and the good records after it are still read (ISO 2709 and
//! MARCXML).

use super::common;
use super::common::{raw_iso, simple};
use shelfmark::transfer::marc::iso2709::{Encoding, to_bytes};
use shelfmark::transfer::marc::marc8::Marc8Error;
use shelfmark::transfer::marc::marcxml::write_collection;
use shelfmark::transfer::marc::{Iso2709Reader, MarcXmlReader, RecordErrorKind};

fn good(n: u32) -> Vec<u8> {
    to_bytes(&simple(n), Encoding::Utf8).expect("writes")
}

/// Byte range of field `tag`'s content (terminator included) in a record.
fn field_range(rec: &[u8], tag: &str) -> std::ops::Range<usize> {
    let base: usize = std::str::from_utf8(&rec[12..17])
        .expect("ascii")
        .parse()
        .expect("base");
    for entry in rec[24..base - 1].chunks(12) {
        if &entry[..3] == tag.as_bytes() {
            let len: usize = std::str::from_utf8(&entry[3..7])
                .expect("a")
                .parse()
                .expect("l");
            let start: usize = std::str::from_utf8(&entry[7..12])
                .expect("a")
                .parse()
                .expect("s");
            return base + start..base + start + len;
        }
    }
    panic!("no {tag}");
}

/// File = good 1, bad, good 3, good 4; checks the error is record 2 at the
/// offset just after record 1, and that records 3 and 4 are read.
fn check(bad: &[u8], want: impl Fn(&RecordErrorKind) -> bool) -> (u64, u64) {
    let g1 = good(1);
    let mut file = g1.clone();
    file.extend_from_slice(bad);
    file.extend_from_slice(&good(3));
    file.extend_from_slice(&good(4));
    let results: Vec<_> = Iso2709Reader::new(&file[..]).collect();
    assert_eq!(results.len(), 4, "{results:?}");
    assert_eq!(
        results[0]
            .as_ref()
            .map(|r| r.control_number())
            .ok()
            .flatten(),
        Some("rec1")
    );
    let err = match &results[1] {
        Err(e) => e,
        Ok(r) => panic!("expected an error, read {r:?}"),
    };
    assert_eq!(err.record, 2);
    assert_eq!(err.offset, g1.len() as u64);
    assert!(want(&err.kind), "unexpected kind: {err}");
    for (i, n) in [(2, "rec3"), (3, "rec4")] {
        let r = results[i]
            .as_ref()
            .unwrap_or_else(|e| panic!("record {} failed: {e}", i + 1));
        assert_eq!(r.control_number(), Some(n));
    }
    // Display is plain words with the numbers.
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("record 2 (starting at byte {})", g1.len())),
        "{text}"
    );
    (err.record, err.offset)
}

#[test]
fn record_length_not_digits() {
    let mut bad = good(2);
    bad[2] = b'x';
    check(
        &bad,
        |k| matches!(k, RecordErrorKind::BadLength { found } if *found == "00x".to_owned() + &String::from_utf8_lossy(&good(2)[3..5])),
    );
}

#[test]
fn record_length_that_lies() {
    for delta in [-7i64, 9] {
        let mut bad = good(2);
        let len = bad.len() as i64 + delta;
        bad[..5].copy_from_slice(format!("{len:05}").as_bytes());
        let actual = bad.len();
        check(&bad, |k| {
            matches!(k, RecordErrorKind::LengthMismatch { declared, actual: a }
                if *declared == len as usize && *a == actual)
        });
    }
}

#[test]
fn base_address_wrong() {
    let mut bad = good(2);
    bad[16] += 1;
    check(&bad, |k| {
        matches!(k, RecordErrorKind::BadBaseAddress { .. })
    });
    let mut bad = good(2);
    bad[12..17].copy_from_slice(b"0a000");
    check(&bad, |k| {
        matches!(k, RecordErrorKind::BadBaseAddress { .. })
    });
}

#[test]
fn directory_entry_past_end() {
    let mut bad = good(2);
    // Last directory entry (650): start position far out.
    let base: usize = std::str::from_utf8(&bad[12..17])
        .expect("a")
        .parse()
        .expect("b");
    let last = base - 1 - 12;
    assert_eq!(&bad[last..last + 3], b"650");
    bad[last + 7..last + 12].copy_from_slice(b"90000");
    check(
        &bad,
        |k| matches!(k, RecordErrorKind::DirectoryPastEnd { tag, .. } if tag == "650"),
    );
}

#[test]
fn missing_field_terminator() {
    let mut bad = good(2);
    let r = field_range(&bad, "245");
    bad[r.end - 1] = b'X';
    check(
        &bad,
        |k| matches!(k, RecordErrorKind::MissingFieldTerminator { tag } if tag == "245"),
    );
}

#[test]
fn invalid_tag() {
    let mut bad = good(2);
    bad[24 + 12 * 5..24 + 12 * 5 + 3].copy_from_slice(b"2 5");
    check(
        &bad,
        |k| matches!(k, RecordErrorKind::InvalidTag { tag } if tag == "2 5"),
    );
}

#[test]
fn invalid_indicator() {
    let mut bad = good(2);
    let r = field_range(&bad, "245");
    bad[r.start + 1] = b'#';
    check(
        &bad,
        |k| matches!(k, RecordErrorKind::InvalidIndicator { tag, found } if tag == "245" && found == "#"),
    );
}

#[test]
fn broken_utf8_names_the_field() {
    let bad = raw_iso(
        b'a',
        &[("001", b"x"), ("245", b"10\x1FaGood\x1FbBad \xC3\x28 here")],
    );
    let e = check(
        &bad,
        |k| matches!(k, RecordErrorKind::InvalidUtf8 { tag, subfield: Some('b') } if tag == "245"),
    );
    assert_eq!(e.0, 2);
    let bad = raw_iso(b'a', &[("001", b"\xFF")]);
    check(
        &bad,
        |k| matches!(k, RecordErrorKind::InvalidUtf8 { tag, subfield: None } if tag == "001"),
    );
}

#[test]
fn marc8_invalid_escape_and_unmappable_name_the_field() {
    let bad = raw_iso(b' ', &[("001", b"x"), ("245", b"10\x1FaGr\x1B(Zeek")]);
    check(
        &bad,
        |k| matches!(k, RecordErrorKind::Marc8 { tag, subfield: Some('a'), error: Marc8Error::InvalidEscape { at: 2, .. } } if tag == "245"),
    );
    let bad = raw_iso(b' ', &[("001", b"x"), ("500", b"  \x1FaBad \xFF byte")]);
    let kind_text = {
        let mut file = good(1);
        file.extend_from_slice(&bad);
        let results: Vec<_> = Iso2709Reader::new(&file[..]).collect();
        results[1].as_ref().expect_err("bad").to_string()
    };
    assert!(kind_text.contains("field 500 $a"), "{kind_text}");
    assert!(kind_text.contains("hex FF"), "{kind_text}");
    check(
        &bad,
        |k| matches!(k, RecordErrorKind::Marc8 { tag, error: Marc8Error::Unmappable { at: 4, .. }, .. } if tag == "500"),
    );
    // EACC is supported: a valid 3-byte code decodes.
    let ok = raw_iso(b' ', &[("001", b"x"), ("245", b"00\x1Fa\x1B$1!0d\x1B(B")]);
    let recs = common::read_iso_ok(&ok);
    assert_eq!(
        recs[0].field("245").and_then(|f| f.subfield('a')),
        Some("人")
    );
}

#[test]
fn truncated_final_record() {
    let g1 = good(1);
    let g2 = good(2);
    let mut file = g1.clone();
    file.extend_from_slice(&g2[..g2.len() / 2]);
    let results: Vec<_> = Iso2709Reader::new(&file[..]).collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    let e = results[1].as_ref().expect_err("truncated");
    assert_eq!((e.record, e.offset), (2, g1.len() as u64));
    assert!(
        matches!(e.kind, RecordErrorKind::Truncated { got, declared: Some(d) } if got == g2.len() / 2 && d == g2.len()),
        "{e}"
    );
}

#[test]
fn many_bad_records_all_reported() {
    // good, bad, bad, good, bad, good: every bad one reported with its number.
    let mut file = Vec::new();
    let mut offsets = Vec::new();
    let mut push = |b: Vec<u8>, file: &mut Vec<u8>| {
        offsets.push(file.len() as u64);
        file.extend_from_slice(&b);
    };
    let mut lie = good(2);
    lie[4] = b'9';
    let mut tag = good(3);
    tag[24] = b'#';
    let mut ind = good(5);
    let r = field_range(&ind, "100");
    ind[r.start] = 0x01;
    push(good(1), &mut file);
    push(lie, &mut file);
    push(tag, &mut file);
    push(good(4), &mut file);
    push(ind, &mut file);
    push(good(6), &mut file);
    let results: Vec<_> = Iso2709Reader::new(&file[..]).collect();
    assert_eq!(results.len(), 6);
    for (i, res) in results.iter().enumerate() {
        match res {
            Ok(r) => assert!(
                [0, 3, 5].contains(&i),
                "record {} should fail: {r:?}",
                i + 1
            ),
            Err(e) => {
                assert!([1, 2, 4].contains(&i), "record {} should be ok: {e}", i + 1);
                assert_eq!(e.record, i as u64 + 1);
                assert_eq!(e.offset, offsets[i]);
            }
        }
    }
}

#[test]
fn no_terminator_in_a_long_stretch() {
    let g1 = good(1);
    let mut file = g1.clone();
    file.extend(std::iter::repeat_n(b'7', 150_000));
    file.push(0x1D);
    file.extend_from_slice(&good(3));
    let results: Vec<_> = Iso2709Reader::new(&file[..]).collect();
    assert_eq!(results.len(), 3, "{results:?}");
    let e = results[1].as_ref().expect_err("garbage");
    assert_eq!((e.record, e.offset), (2, g1.len() as u64));
    assert!(
        matches!(e.kind, RecordErrorKind::NoTerminator { skipped: 150_001 }),
        "{e}"
    );
    assert!(results[2].is_ok());
}

#[test]
fn io_error_stops_reading() {
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            let bytes = good(1);
            let n = bytes.len().min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            self.0 -= 1;
            Ok(n)
        }
    }
    let results: Vec<_> = Iso2709Reader::new(Failing(1)).collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    assert!(matches!(
        results[1].as_ref().expect_err("io").kind,
        RecordErrorKind::Io(_)
    ));
}

#[test]
fn marcxml_bad_records_are_reported_and_skipped() {
    let records: Vec<_> = (1..=6).map(simple).collect();
    let xml = String::from_utf8(write_collection(Vec::new(), &records).expect("w")).expect("u");
    let starts: Vec<usize> = xml.match_indices("<record>").map(|m| m.0).collect();
    // Patch records 2..=5, each differently, from the end so the starts found
    // above stay valid while patching.
    let mut patched = xml.clone();
    let patch = |s: &mut String, rec: usize, from: &str, to: &str| {
        let start = starts[rec];
        let end = start + s[start..].find("</record>").expect("end");
        let new = s[start..end].replacen(from, to, 1);
        s.replace_range(start..end, &new);
    };
    patch(&mut patched, 4, "ind1=\"1\"", "ind1=\"##\"");
    patch(&mut patched, 3, "Géode", "G&eacute;ode");
    patch(&mut patched, 2, "00000cam a2200000 a 4500", "short");
    patch(
        &mut patched,
        1,
        "<leader>00000cam a2200000 a 4500</leader>",
        "",
    );
    let starts: Vec<usize> = patched.match_indices("<record>").map(|m| m.0).collect();
    let results: Vec<_> = MarcXmlReader::new(patched.as_bytes()).collect();
    assert_eq!(results.len(), 6);
    let kinds: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("{:?}", std::mem::discriminant(&e.kind)),
        })
        .collect();
    assert!(results[0].is_ok() && results[5].is_ok(), "{kinds:?}");
    for (i, res) in results.iter().enumerate().take(5).skip(1) {
        let e = res.as_ref().expect_err("bad");
        assert_eq!(e.record, i as u64 + 1);
        assert_eq!(e.offset, starts[i] as u64, "record {}", i + 1);
    }
    assert!(matches!(
        results[1].as_ref().expect_err("").kind,
        RecordErrorKind::MissingLeader
    ));
    assert!(matches!(
        results[2].as_ref().expect_err("").kind,
        RecordErrorKind::BadXmlLeader { .. }
    ));
    assert!(
        matches!(&results[3].as_ref().expect_err("").kind, RecordErrorKind::UnknownEntity { name } if name == "eacute")
    );
    assert!(matches!(
        results[4].as_ref().expect_err("").kind,
        RecordErrorKind::InvalidIndicator { .. }
    ));
}

#[test]
fn marcxml_not_well_formed_stops_with_one_error() {
    let xml = "<collection><record><leader>00000nam a2200000 a 4500</leader></record>\
               <record><leader>00000nam a2200000 a 4500</leader><datafield tag=\"245\"></record></collection>";
    let results: Vec<_> = MarcXmlReader::new(xml.as_bytes()).collect();
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(results[0].is_ok());
    let e = results[1].as_ref().expect_err("xml");
    assert_eq!(e.record, 2);
    assert!(matches!(e.kind, RecordErrorKind::Xml { .. }), "{e}");
    // Cut short inside a record.
    let cut = "<collection><record><leader>00000nam a2200000 a 4500</leader>";
    let results: Vec<_> = MarcXmlReader::new(cut.as_bytes()).collect();
    assert_eq!(results.len(), 1);
    assert!(results[0].is_err());
}
