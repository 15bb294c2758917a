//! Property tests: random bytes and mutated valid records never panic either
//! reader, every item is a record or an error, errors carry increasing record
//! numbers, and whatever is read can be written and read back unchanged.

use super::common;
use proptest::prelude::*;
use shelfmark::transfer::marc::iso2709::{Encoding, to_bytes};
use shelfmark::transfer::marc::marcxml::write_collection;
use shelfmark::transfer::marc::{
    Iso2709Reader, MarcXmlReader, Record, RecordError, detect, map_record, marc8,
};

fn valid_iso() -> Vec<u8> {
    let mut records = common::tricky();
    records.extend(common::generated(6, 99));
    let mut out = common::iso_bytes(&records[..4], Encoding::Utf8);
    out.extend(common::iso_bytes(&records[4..], Encoding::Marc8));
    out
}

fn valid_xml() -> Vec<u8> {
    write_collection(Vec::new(), &common::generated(3, 98)).expect("writes")
}

/// Reads everything, checks numbering, and re-writes every good record.
fn exercise_results(results: Vec<Result<Record, RecordError>>) {
    let mut last = 0;
    for item in results {
        match item {
            Ok(record) => {
                last += 1;
                let _ = map_record(&record);
                if let Ok(bytes) = to_bytes(&record, Encoding::Utf8) {
                    let back: Vec<_> = Iso2709Reader::new(&bytes[..]).collect();
                    assert_eq!(back.len(), 1);
                    let back = back
                        .into_iter()
                        .next()
                        .and_then(Result::ok)
                        .expect("re-read");
                    assert_eq!(back.fields, record.fields);
                }
                let _ = write_collection(Vec::new(), [&record]);
            }
            Err(e) => {
                assert!(e.record > last, "record numbers increase");
                last = e.record;
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

fn read_iso_all(bytes: &[u8]) -> Vec<Result<Record, RecordError>> {
    // `take` guards against a reader that would never end.
    let results: Vec<_> = Iso2709Reader::new(bytes).take(bytes.len() + 2).collect();
    assert!(
        results.len() <= bytes.len() / 2 + 1,
        "more items than possible"
    );
    results
}

fn read_xml_all(bytes: &[u8]) -> Vec<Result<Record, RecordError>> {
    MarcXmlReader::new(bytes).take(bytes.len() + 2).collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (
            any::<usize>(),
            prop_oneof![
                Just(0x1Du8),
                Just(0x1E),
                Just(0x1F),
                Just(0x1B),
                any::<u8>()
            ]
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Set(i, b) => {
                if let Some(slot) = bytes.get_mut(i % len) {
                    *slot = b;
                }
            }
            Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Mutation::Remove(i) => {
                if !bytes.is_empty() {
                    bytes.remove(i % len);
                }
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = detect(&bytes);
        exercise_results(read_iso_all(&bytes));
        exercise_results(read_xml_all(&bytes));
        let _ = marc8::decode(&bytes);
    }

    #[test]
    fn leader_shaped_garbage_never_panics(
        len in 0usize..400,
        base in 0usize..400,
        tail in proptest::collection::vec(
            prop_oneof![Just(0x1Du8), Just(0x1E), Just(0x1F), Just(b'0'), Just(b'1'), any::<u8>()],
            0..600,
        ),
    ) {
        let mut bytes = format!("{len:05}nam a22{base:05} a 4500").into_bytes();
        bytes.extend(tail);
        exercise_results(read_iso_all(&bytes));
    }

    #[test]
    fn mutated_iso_never_panics(muts in proptest::collection::vec(mutation(), 1..8)) {
        let bytes = apply(valid_iso(), &muts);
        exercise_results(read_iso_all(&bytes));
    }

    #[test]
    fn mutated_xml_never_panics(muts in proptest::collection::vec(mutation(), 1..8)) {
        let bytes = apply(valid_xml(), &muts);
        exercise_results(read_xml_all(&bytes));
    }

    #[test]
    fn marc8_encode_decode(s in "\\PC{0,40}") {
        let s = shelfmark::transfer::marc::nfc(&s).into_owned();
        if let Ok(bytes) = marc8::encode(&s) {
            // Whatever the encoder accepts, the decoder gives back.
            let back = marc8::decode(&bytes);
            prop_assert_eq!(back.as_deref(), Ok(s.as_str()));
        }
    }

    #[test]
    fn marc8_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(s) = marc8::decode(&bytes) {
            let normalised = shelfmark::transfer::marc::nfc(&s).into_owned();
            prop_assert_eq!(normalised, s);
        }
    }
}
