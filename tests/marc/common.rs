//! Shared test helpers: sample records, reading helpers, and locating and
//! running `yaz-marcdump` (a missing yaz fails the test; nothing is skipped).

use std::path::{Path, PathBuf};
use std::process::Command;

use shelfmark::transfer::marc::iso2709::{Encoding, to_bytes};
use shelfmark::transfer::marc::{
    Field, Generator, Iso2709Reader, Leader, MarcXmlReader, Record, RecordError, Subfield, Tag,
};

pub fn tag(s: &str) -> Tag {
    Tag::parse(s).expect("valid tag")
}

pub fn cf(t: &str, v: &str) -> Field {
    Field::control(tag(t), v)
}

pub fn df(t: &str, i1: char, i2: char, sfs: &[(char, &str)]) -> Field {
    Field::data(
        tag(t),
        i1,
        i2,
        sfs.iter().map(|(c, v)| Subfield::new(*c, *v)).collect(),
    )
}

/// A plain record with number `n` in 001.
pub fn simple(n: u32) -> Record {
    Record {
        leader: Leader::parse("00000cam a2200000 a 4500").expect("leader"),
        fields: vec![
            cf("001", &format!("rec{n}")),
            cf("003", "DLC"),
            cf("008", "850101s1984    nyu           000 0 eng  "),
            df("020", ' ', ' ', &[('a', "0198526636 (pbk.)")]),
            df("100", '1', ' ', &[('a', "Smith, John,"), ('d', "1950-")]),
            df(
                "245",
                '1',
                '0',
                &[('a', "Géode :"), ('b', "a study /"), ('c', "John Smith.")],
            ),
            df(
                "260",
                ' ',
                ' ',
                &[('a', "New York :"), ('b', "Penguin,"), ('c', "c1965.")],
            ),
            df("650", ' ', '0', &[('a', "Cats"), ('x', "History.")]),
        ],
    }
}

/// Records with content that is awkward for writers: XML specials, scripts,
/// combining marks, empty values.
pub fn tricky() -> Vec<Record> {
    let mut out = Vec::new();
    let mut r = simple(1);
    r.fields.push(df(
        "500",
        ' ',
        ' ',
        &[('a', "AT&T <b>bold</b> \"quoted\" 'single' > end")],
    ));
    r.fields.push(df(
        "505",
        '0',
        ' ',
        &[('a', ""), ('t', "Part one --"), ('t', "Part two.")],
    ));
    out.push(r);
    let mut r = simple(2);
    r.fields
        .push(df("246", '3', ' ', &[('a', "Ελληνικά και Русский текст")]));
    r.fields
        .push(df("880", '0', '0', &[('6', "245-01"), ('a', "שלום עולם")]));
    r.fields
        .push(df("880", '1', ' ', &[('6', "100-01"), ('a', "人民")]));
    out.push(r);
    let mut r = simple(3);
    r.fields.push(df(
        "700",
        '1',
        ' ',
        &[('a', "Dvořák, Antonín,"), ('d', "1841-1904.")],
    ));
    r.fields
        .push(df("700", '1', ' ', &[('a', "Łukasiewicz, Jan.")]));
    r.fields.push(df(
        "740",
        '0',
        ' ',
        &[('a', "Øster Ångström ß Straße ñ ç ő")],
    ));
    out.push(r);
    out
}

/// Records that survive conversion to MARC-8 (Latin with diacritics, Greek, Cyrillic).
pub fn marc8_safe() -> Vec<Record> {
    let mut out = Vec::new();
    let mut r = simple(10);
    r.fields.push(df(
        "700",
        '1',
        ' ',
        &[('a', "Dvořák, Antonín,"), ('d', "1841-1904.")],
    ));
    r.fields.push(df(
        "740",
        '0',
        ' ',
        &[('a', "Øster Ångström Straße ñ ç ő ł")],
    ));
    out.push(r);
    let mut r = simple(11);
    r.fields
        .push(df("246", '3', ' ', &[('a', "Русский текст")]));
    r.fields.push(df("246", '3', ' ', &[('a', "Ελληνικά")]));
    out.push(r);
    let mut r = simple(12);
    r.fields.push(df(
        "880",
        '0',
        '0',
        &[('6', "245-01/(2/r"), ('a', "שלום עולם")],
    ));
    r.fields
        .push(df("880", '0', '0', &[('6', "245-02/(3/r"), ('a', "كتاب")]));
    r.fields.push(df(
        "880",
        '1',
        ' ',
        &[('6', "100-01/$1"), ('a', "人民 日本")],
    ));
    r.fields
        .push(df("500", ' ', ' ', &[('a', "H₂O x² ©1999 ℗ £5 °C")]));
    out.push(r);
    out
}

/// Assembles an ISO 2709 record from raw field contents (without their field
/// terminators), with leader/09 = `coding`. Lengths and directory are correct.
pub fn raw_iso(coding: u8, fields: &[(&str, &[u8])]) -> Vec<u8> {
    let mut dir = Vec::new();
    let mut data = Vec::new();
    for (t, content) in fields {
        let start = data.len();
        data.extend_from_slice(content);
        data.push(0x1E);
        dir.extend_from_slice(t.as_bytes());
        dir.extend_from_slice(format!("{:04}{:05}", data.len() - start, start).as_bytes());
    }
    let base = 24 + dir.len() + 1;
    let total = base + data.len() + 1;
    let mut out = format!("{total:05}nam {}22{base:05} a 4500", char::from(coding)).into_bytes();
    out.extend_from_slice(&dir);
    out.push(0x1E);
    out.extend_from_slice(&data);
    out.push(0x1D);
    out
}

/// UTF-8 ISO 2709 with every value in NFD (our writer always writes NFC),
/// built by hand; leaders are the records' own, with lengths filled in.
pub fn iso_bytes_nfd(records: &[Record]) -> Vec<u8> {
    use unicode_normalization::UnicodeNormalization;
    let mut out = Vec::new();
    for r in records {
        let mut dir = Vec::new();
        let mut data = Vec::new();
        for f in &r.fields {
            let start = data.len();
            match f {
                Field::Control { value, .. } => {
                    data.extend(value.nfd().collect::<String>().bytes());
                }
                Field::Data {
                    ind1,
                    ind2,
                    subfields,
                    ..
                } => {
                    data.push(*ind1 as u8);
                    data.push(*ind2 as u8);
                    for sf in subfields {
                        data.push(0x1F);
                        data.push(sf.code as u8);
                        data.extend(sf.value.nfd().collect::<String>().bytes());
                    }
                }
            }
            data.push(0x1E);
            dir.extend_from_slice(f.tag().as_bytes());
            dir.extend_from_slice(format!("{:04}{:05}", data.len() - start, start).as_bytes());
        }
        let base = 24 + dir.len() + 1;
        let total = base + data.len() + 1;
        let mut leader = r.leader.as_bytes().to_vec();
        leader[..5].copy_from_slice(format!("{total:05}").as_bytes());
        leader[9] = b'a';
        leader[12..17].copy_from_slice(format!("{base:05}").as_bytes());
        out.extend_from_slice(&leader);
        out.extend_from_slice(&dir);
        out.push(0x1E);
        out.extend_from_slice(&data);
        out.push(0x1D);
    }
    out
}

/// `count` generated records, all meant to be written as UTF-8.
pub fn generated(count: usize, seed: u64) -> Vec<Record> {
    let mut g = Generator::new(seed);
    (0..count).map(|_| g.next_record().0).collect()
}

pub fn iso_bytes(records: &[Record], encoding: Encoding) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        out.extend_from_slice(&to_bytes(r, encoding).expect("writes"));
    }
    out
}

pub fn read_iso(bytes: &[u8]) -> Vec<Result<Record, RecordError>> {
    Iso2709Reader::new(bytes).collect()
}

pub fn read_iso_ok(bytes: &[u8]) -> Vec<Record> {
    read_iso(bytes)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("unexpected error: {e}")))
        .collect()
}

pub fn read_xml_ok(bytes: &[u8]) -> Vec<Record> {
    MarcXmlReader::new(bytes)
        .map(|r| r.unwrap_or_else(|e| panic!("unexpected error: {e}")))
        .collect()
}

/// Asserts two record lists have the same fields (leaders are compared on the
/// positions that carry meaning rather than lengths: 5-8 and 17-19).
pub fn assert_same_records(got: &[Record], want: &[Record]) {
    assert_eq!(got.len(), want.len(), "record count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.leader.as_str().get(5..9),
            w.leader.as_str().get(5..9),
            "record {i} leader/05-08"
        );
        assert_eq!(
            g.leader.as_str().get(17..20),
            w.leader.as_str().get(17..20),
            "record {i} leader/17-19"
        );
        assert_eq!(g.fields.len(), w.fields.len(), "record {i} field count");
        for (j, (gf, wf)) in g.fields.iter().zip(&w.fields).enumerate() {
            assert_eq!(gf, wf, "record {i} field {j}");
        }
    }
}

/// Path of `yaz-marcdump`, installing Debian's `yaz` package (once per run) when it is missing;
/// panics, saying why, if it cannot be had. These tests never skip.
pub fn yaz_marcdump() -> PathBuf {
    static FOUND: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let found = FOUND.get_or_init(|| {
        find_yaz_marcdump().map_or_else(
            || {
                crate::util::pg::apt_install(
                    "yaz",
                    "yaz-marcdump is not on PATH",
                    Path::new("apt-get"),
                )?;
                find_yaz_marcdump().ok_or_else(|| {
                    "apt-get install yaz succeeded but yaz-marcdump is still not on PATH"
                        .to_string()
                })
            },
            Ok,
        )
    });
    match found {
        Ok(path) => path.clone(),
        Err(why) => panic!(
            "The MARC interoperability tests need yaz-marcdump and do not skip: {why} \
             (install the Debian package `yaz`, or run .ci/test)"
        ),
    }
}

fn find_yaz_marcdump() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("yaz-marcdump"))
        .find(|candidate| candidate.is_file())
}

/// Output of one yaz-marcdump run.
pub struct YazRun {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

pub fn run_yaz(args: &[&str], file: &Path) -> YazRun {
    let out = Command::new(yaz_marcdump())
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("could not run yaz-marcdump: {e}"));
    YazRun {
        status: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs yaz and asserts exit 0 with nothing on stderr.
pub fn run_yaz_clean(args: &[&str], file: &Path) -> Vec<u8> {
    let run = run_yaz(args, file);
    assert_eq!(
        run.status, 0,
        "yaz-marcdump {args:?} failed: {}",
        run.stderr
    );
    assert!(
        run.stderr.is_empty(),
        "yaz-marcdump {args:?} wrote to stderr: {}",
        run.stderr
    );
    run.stdout
}
