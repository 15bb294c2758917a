//! Opening files: a fresh one, an up-to-date one, and files this build must refuse untouched.

use std::path::Path;

use shelfmark::db::{APPLICATION_ID, LATEST_VERSION, Library, OpenError, OpenOptions};

use crate::util;

fn version_of(path: &Path) -> (i64, i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let v = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let a = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    (v, a)
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

fn sidecars(path: &Path) -> Vec<String> {
    ["-wal", "-shm", "-journal", "-writer"]
        .iter()
        .filter(|s| {
            let mut p = path.as_os_str().to_owned();
            p.push(s);
            Path::new(&p).exists()
        })
        .map(|s| (*s).to_owned())
        .collect()
}

#[test]
fn fresh_file_gets_the_latest_schema() {
    let s = util::scratch();
    drop(util::open(&s.path));
    assert_eq!(version_of(&s.path), (LATEST_VERSION, APPLICATION_ID));
    let conn = rusqlite::Connection::open(&s.path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let indexes: Vec<String> = conn
        .prepare("SELECT sql FROM sqlite_schema WHERE type = 'index' AND sql LIKE '%UNIQUE%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(indexes.len(), 4);
    assert!(
        indexes
            .iter()
            .all(|sql| sql.contains("WHERE deleted_at IS NULL"))
    );
}

#[test]
fn reopening_an_up_to_date_file_changes_nothing() {
    let s = util::scratch();
    let client = util::Client::new(&s.path);
    client.collection("Rare Books");
    drop(client);
    let before = bytes(&s.path);
    drop(util::open(&s.path));
    assert_eq!(bytes(&s.path), before);
    assert_eq!(version_of(&s.path), (LATEST_VERSION, APPLICATION_ID));
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let s = util::scratch();
    {
        let conn = rusqlite::Connection::open(&s.path).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 99;
             CREATE TABLE future (x);"
        ))
        .unwrap();
    }
    let before = bytes(&s.path);
    let err = Library::open(&s.path, &OpenOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::NewerSchema {
                found: 99,
                supported: LATEST_VERSION,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("schema version 99"), "{message}");
    assert!(
        message.contains(&format!("up to {LATEST_VERSION}")),
        "{message}"
    );
    assert_eq!(bytes(&s.path), before, "not a byte changed");
    assert_eq!(
        sidecars(&s.path),
        Vec::<String>::new(),
        "no WAL or lock file made"
    );
    // The command line says the same and exits non-zero.
    let (ok, text) = util::check(&s.path);
    assert!(!ok);
    assert!(text.contains("newer Shelfmark"), "{text}");
}

#[test]
fn another_programs_database_is_refused() {
    let s = util::scratch();
    {
        let conn = rusqlite::Connection::open(&s.path).unwrap();
        conn.execute_batch("CREATE TABLE moz_places (id INTEGER PRIMARY KEY);")
            .unwrap();
    }
    let before = bytes(&s.path);
    let err = Library::open(&s.path, &OpenOptions::default()).unwrap_err();
    assert!(err.to_string().contains("another program"), "{err}");
    assert_eq!(bytes(&s.path), before);
}

/// Several programs opening one new file at the same moment: one creates the schema, the others
/// wait for it, and none mistakes the half-seen file for another program's database.
#[test]
fn many_first_opens_at_once_all_succeed() {
    for round in 0..100 {
        let s = util::scratch();
        let gate = std::sync::Barrier::new(8);
        let results: Vec<Result<(), String>> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    sc.spawn(|| {
                        gate.wait();
                        Library::open(&s.path, &OpenOptions::default())
                            .map(drop)
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in results {
            assert!(r.is_ok(), "round {round}: {r:?}");
        }
        assert_eq!(version_of(&s.path), (LATEST_VERSION, APPLICATION_ID));
    }
}
