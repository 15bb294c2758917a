//! Round trips: ISO 2709 (UTF-8 and MARC-8) and MARCXML, writer leader values,
//! MARCXML reader variants (prefix, bare record, entities), format detection
//! on real writer output, and files on disk.

use super::common;
use std::io::Write;

use super::common::{
    assert_same_records, cf, df, generated, iso_bytes, read_iso, read_iso_ok, read_xml_ok, simple,
    tricky,
};
use shelfmark::transfer::marc::iso2709::{Encoding, to_bytes};
use shelfmark::transfer::marc::marcxml::write_collection;
use shelfmark::transfer::marc::{
    Format, Iso2709Reader, MarcXmlReader, Record, RecordErrorKind, WriteError, detect, map_record,
    write_record,
};

#[test]
fn iso_round_trip_utf8() {
    let mut records = tricky();
    records.extend(generated(500, 11));
    let bytes = iso_bytes(&records, Encoding::Utf8);
    let back = read_iso_ok(&bytes);
    assert_same_records(&back, &records);
    // Writing what we read gives the same bytes.
    assert_eq!(iso_bytes(&back, Encoding::Utf8), bytes);
}

#[test]
fn iso_round_trip_marc8() {
    let mut records = common::marc8_safe();
    records.extend(generated(300, 12));
    let bytes = iso_bytes(&records, Encoding::Marc8);
    let back = read_iso_ok(&bytes);
    assert_same_records(&back, &records);
}

#[test]
fn generated_file_mixes_encodings_and_reads_back() {
    let mut bytes = Vec::new();
    let stats = shelfmark::transfer::marc::generate(&mut bytes, 1000, 5).expect("gen");
    assert!(stats.marc8_records > 50);
    let marc8_count = Iso2709Reader::new(&bytes[..]).filter(|_| true).count();
    assert_eq!(marc8_count, 1000);
    // Decoded records equal the generator's records.
    let mut g = shelfmark::transfer::marc::Generator::new(5);
    let want: Vec<Record> = (0..1000).map(|_| g.next_record().0).collect();
    assert_same_records(&read_iso_ok(&bytes), &want);
    // Every MARC-8 record holds a non-ASCII character once decoded.
    let mut raw = 0;
    for chunk in bytes.split_inclusive(|&b| b == 0x1D) {
        if chunk.get(9) == Some(&b' ') {
            raw += 1;
            assert!(
                chunk.iter().any(|&b| b >= 0x80),
                "MARC-8 record without diacritics"
            );
        }
    }
    assert_eq!(raw, stats.marc8_records);
}

#[test]
fn writer_leader_values() {
    let r = simple(1);
    let bytes = to_bytes(&r, Encoding::Utf8).expect("writes");
    let leader = std::str::from_utf8(&bytes[..24]).expect("ascii");
    assert_eq!(leader[..5].parse::<usize>().expect("digits"), bytes.len());
    assert_eq!(&leader[9..12], "a22");
    assert_eq!(&leader[20..24], "4500");
    let base: usize = leader[12..17].parse().expect("digits");
    assert_eq!(base, 24 + 12 * r.fields.len() + 1);
    assert_eq!(bytes[base - 1], 0x1E);
    assert_eq!(bytes.last(), Some(&0x1D));
    let m8 = to_bytes(&r, Encoding::Marc8).expect("writes");
    assert_eq!(m8[9], b' ');
}

#[test]
fn writer_refuses_oversized_and_broken_records() {
    let mut r = simple(1);
    for _ in 0..30 {
        r.fields
            .push(df("500", ' ', ' ', &[('a', &"x".repeat(4000))]));
    }
    let mut out = Vec::new();
    match write_record(&mut out, &r) {
        Err(WriteError::RecordTooLong { length }) => assert!(length > 99_999),
        other => panic!("expected RecordTooLong, got {other:?}"),
    }
    assert!(out.is_empty(), "nothing written for a refused record");
    let mut r = simple(1);
    r.fields
        .push(df("500", ' ', ' ', &[('a', &"x".repeat(10_000))]));
    assert!(matches!(
        write_record(&mut out, &r),
        Err(WriteError::FieldTooLong { .. })
    ));
    let mut r = simple(1);
    r.fields
        .push(df("500", ' ', ' ', &[('a', "bad\u{1E}delimiter")]));
    assert!(matches!(
        write_record(&mut out, &r),
        Err(WriteError::DelimiterInData { .. })
    ));
    let mut r = simple(1);
    r.fields.push(df("500", '#', ' ', &[('a', "x")]));
    assert!(matches!(
        write_record(&mut out, &r),
        Err(WriteError::InvalidIndicator { .. })
    ));
    let mut r = simple(1);
    r.fields.push(cf("245", "control value in a data tag"));
    assert!(matches!(
        write_record(&mut out, &r),
        Err(WriteError::WrongFieldKind { .. })
    ));
    assert!(out.is_empty());
    // MARC-8 cannot carry CJK-free Arabic presentation forms etc.: reported, not mangled.
    let mut r = simple(1);
    r.fields.push(df("500", ' ', ' ', &[('a', "emoji 🙂")]));
    assert!(matches!(
        shelfmark::transfer::marc::write_record_marc8(&mut out, &r),
        Err(WriteError::NotMarc8 { .. })
    ));
}

#[test]
fn writer_normalises_to_nfc() {
    let mut r = simple(1);
    // Push a decomposed value directly into the public field.
    r.fields.push(shelfmark::transfer::marc::Field::Data {
        tag: common::tag("500"),
        ind1: ' ',
        ind2: ' ',
        subfields: vec![shelfmark::transfer::marc::Subfield {
            code: 'a',
            value: "Ge\u{301}ode".into(),
        }],
    });
    let back = read_iso_ok(&to_bytes(&r, Encoding::Utf8).expect("writes"));
    assert_eq!(
        back[0].field("500").and_then(|f| f.subfield('a')),
        Some("Géode")
    );
}

#[test]
fn readers_normalise_decomposed_utf8() {
    let raw = common::raw_iso(b'a', &[("001", b"n1"), ("245", b"10\x1FaGe\xCC\x81ode")]);
    let recs = read_iso_ok(&raw);
    assert_eq!(
        recs[0].field("245").and_then(|f| f.subfield('a')),
        Some("Géode")
    );
    let xml = "<record><leader>00000nam a2200000 a 4500</leader>\
               <datafield tag=\"245\" ind1=\"0\" ind2=\"0\"><subfield code=\"a\">Ge\u{301}ode</subfield></datafield></record>";
    let recs = read_xml_ok(xml.as_bytes());
    assert_eq!(
        recs[0].field("245").and_then(|f| f.subfield('a')),
        Some("Géode")
    );
}

#[test]
fn marcxml_round_trip() {
    let mut records = tricky();
    records.extend(generated(300, 13));
    let xml = write_collection(Vec::new(), &records).expect("writes");
    let text = String::from_utf8(xml.clone()).expect("utf8");
    assert!(text.contains("<collection xmlns=\"http://www.loc.gov/MARC21/slim\">"));
    assert!(text.contains("AT&amp;T &lt;b&gt;bold&lt;/b&gt; &quot;quoted&quot;"));
    assert_same_records(&read_xml_ok(&xml), &records);
    assert_eq!(detect(&xml), Some(Format::MarcXml));
    assert_eq!(
        detect(&iso_bytes(&records, Encoding::Utf8)),
        Some(Format::Iso2709)
    );
}

#[test]
fn marcxml_variants() {
    let prefixed = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- comment -->
<marc:collection xmlns:marc="http://www.loc.gov/MARC21/slim">
 <marc:record type="Bibliographic">
  <marc:leader>00000nam a2200000 a 4500</marc:leader>
  <marc:controlfield tag="001">x1</marc:controlfield>
  <marc:datafield tag="245" ind1="1" ind2="4">
   <marc:subfield code="a">The &#x47;&#233;ode &amp; more <![CDATA[<raw>]]></marc:subfield>
   <marc:subfield code="c"/>
  </marc:datafield>
  <marc:unknown><marc:subfield code="z">ignored</marc:subfield></marc:unknown>
 </marc:record>
</marc:collection>"#;
    let recs = read_xml_ok(prefixed.as_bytes());
    assert_eq!(recs.len(), 1);
    let f = recs[0].field("245").expect("245");
    assert_eq!(f.subfield('a'), Some("The Géode & more <raw>"));
    assert_eq!(f.subfield('c'), Some(""));
    assert_eq!(f.subfields().len(), 2);
    assert_eq!(recs[0].control_number(), Some("x1"));
    assert_eq!(map_record(&recs[0]).nonfiling, 4);

    let bare = "<record xmlns=\"http://www.loc.gov/MARC21/slim\"><leader>00000nam a2200000 a 4500</leader><controlfield tag=\"001\">b</controlfield></record>";
    let recs = read_xml_ok(bare.as_bytes());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].control_number(), Some("b"));
    assert_eq!(detect(bare.as_bytes()), Some(Format::MarcXml));
}

#[test]
fn marcxml_inside_oai_pmh() {
    let oai = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>
<record><header><identifier>oai:x:1</identifier></header><metadata>
<marc:record xmlns:marc="http://www.loc.gov/MARC21/slim"><marc:leader>00000nam a2200000 a 4500</marc:leader>
<marc:controlfield tag="001">one</marc:controlfield></marc:record></metadata></record>
<record><header><identifier>oai:x:2</identifier></header><metadata>
<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500</leader>
<controlfield tag="001">two</controlfield></record></metadata></record>
</ListRecords></OAI-PMH>"#;
    let recs = read_xml_ok(oai.as_bytes());
    let ids: Vec<_> = recs.iter().map(|r| r.control_number()).collect();
    assert_eq!(ids, [Some("one"), Some("two")]);
}

#[test]
fn marcxml_offsets_point_at_record_start() {
    let records = vec![simple(1), simple(2)];
    let xml = write_collection(Vec::new(), &records).expect("writes");
    let text = String::from_utf8(xml).expect("utf8");
    let second = text.match_indices("<record>").nth(1).expect("two").0;
    let broken = format!(
        "{}{}",
        &text[..second],
        text[second..].replacen("tag=\"245\"", "tag=\"2 5\"", 1)
    );
    let results: Vec<_> = MarcXmlReader::new(broken.as_bytes()).collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    let err = results[1].as_ref().expect_err("second is bad");
    assert_eq!(err.record, 2);
    assert_eq!(err.offset, second as u64);
    assert!(
        matches!(err.kind, RecordErrorKind::InvalidTag { .. }),
        "{err}"
    );
}

#[test]
fn files_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out.mrc");
    let records = generated(200, 14);
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        for r in &records {
            write_record(&mut f, r).expect("write");
        }
        f.flush().expect("flush");
    }
    let f = std::fs::File::open(&path).expect("open");
    let back: Vec<Record> = Iso2709Reader::new(f).map(|r| r.expect("ok")).collect();
    assert_same_records(&back, &records);
    assert!(read_iso(b"").is_empty());
    assert!(read_iso(b"\r\n\r\n").is_empty());
}
