//! Shared helpers: temporary libraries, a blocking save client, the built binary, throwaway
//! PostgreSQL servers ([`pg`]) and a proxy that cuts connections on cue ([`proxy`]).

#![allow(dead_code)]

pub mod pg;
pub mod proxy;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use shelfmark::db::{Library, Location, OpenOptions, Reads};
use shelfmark::model::{
    BookDraft, BookId, CollectionDraft, CollectionId, CopyDraft, CopyId, Draft, Op, Outcome,
    PlacementDraft, PlacementId,
};
use shelfmark::tasks::{ChangeFeed, EditorId, Event, Mailbox, Reply, SaveTasks};

/// The `shelfmark` binary cargo built for these tests.
pub const EXE: &str = env!("CARGO_BIN_EXE_shelfmark");
/// The developers' tools binary (load generator, lock holder, seeding, benchmarks).
pub const BENCH: &str = env!("CARGO_BIN_EXE_shelfmark-bench");

/// The one-line JSON summary `shelfmark-bench load` prints last (the fields tests read).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct LoadSummary {
    pub requests: u64,
    pub saved: u64,
    pub conflicts: u64,
    pub stale: u64,
    pub deleted_elsewhere: u64,
    pub gone: u64,
    pub invalid: u64,
    pub failed: u64,
    pub waited: u64,
}

/// A temporary folder with a library path inside.
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn scratch() -> Scratch {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("library.sqlite3");
    Scratch { dir, path }
}

/// Where a test's library lives: a temporary file, or a fresh database (set up as a library)
/// on this test process's throwaway PostgreSQL server.
pub enum Where {
    File(Scratch),
    Server { db: String },
}

impl Where {
    pub fn file() -> Where {
        Where::File(scratch())
    }

    /// A fresh, set-up shared library on the test server (started on first use; installed
    /// with apt if missing). Panics with the reason if the server cannot be started.
    pub fn server() -> Where {
        let db = pg::shared().fresh_database();
        let w = Where::Server { db };
        drop(w.open_with(&OpenOptions {
            set_up: true,
            ..OpenOptions::default()
        }));
        w
    }

    /// What `--db` is given for this library.
    pub fn arg(&self) -> String {
        match self {
            Where::File(s) => s.path.display().to_string(),
            Where::Server { db } => pg::shared().url(db),
        }
    }

    pub fn location(&self) -> Location {
        Location::parse(&self.arg()).expect("a location").0
    }

    pub fn open_with(&self, options: &OpenOptions) -> Library {
        Library::open_at(&self.location(), None, options).expect("open library")
    }

    pub fn open(&self) -> Library {
        self.open_with(&OpenOptions {
            pool_size: 24,
            ..OpenOptions::default()
        })
    }

    /// An executor on this library.
    pub fn client(&self) -> Client {
        Client::on(self.open())
    }

    /// `shelfmark --db … check` passes.
    pub fn assert_healthy(&self) {
        let out = Command::new(EXE)
            .args(["--db", &self.arg(), "check"])
            .output()
            .expect("run check");
        assert!(
            out.status.success(),
            "check failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs each named test function (taking a `&Where`) once on a library file and once on a
/// shared library: `mod file { … }` and `mod server { … }` beside them.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod file {
            $(#[test] fn $name() { super::$name(&$crate::util::Where::file()) })*
        }
        mod server {
            $(#[test] fn $name() { super::$name(&$crate::util::Where::server()) })*
        }
    };
}
pub(crate) use on_both_backends;

pub fn open(path: &Path) -> Library {
    Library::open(
        path,
        &OpenOptions {
            pool_size: 24,
            ..OpenOptions::default()
        },
    )
    .expect("open library")
}

/// An executor and one editor's mailbox; `save` waits for the final outcome.
pub struct Client {
    pub tasks: SaveTasks,
    pub library: Library,
}

impl Client {
    pub fn new(path: &Path) -> Client {
        Client::on(open(path))
    }

    pub fn on(library: Library) -> Client {
        let tasks = SaveTasks::start(&library, ChangeFeed::new()).expect("start executor");
        Client { tasks, library }
    }

    /// Live rows of `table`, as Shelfmark's own check counts them (on either backend).
    pub fn live(&self, table: &str) -> i64 {
        let report = self.reads().check().expect("check");
        report
            .counts
            .iter()
            .find(|(t, _, _)| *t == table)
            .map(|(_, live, _)| *live)
            .expect("a table")
    }

    pub fn editor(&self) -> Editor<'_> {
        let (mailbox, rx) = Mailbox::new();
        Editor {
            tasks: &self.tasks,
            mailbox,
            rx,
        }
    }

    pub fn save(&self, op: Op) -> Outcome {
        self.editor().save(op)
    }

    /// A plain connection to the file, outside Shelfmark: what another program sees.
    pub fn conn(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.library.path().expect("a library file"))
            .expect("connection");
        conn.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        conn
    }

    /// Shelfmark's own reads, through the storage seam.
    pub fn reads(&self) -> Box<dyn Reads> {
        self.library.reads().expect("reads")
    }

    pub fn book(&self, title: &str) -> BookId {
        BookId(saved_id(&self.save(Op::Create(Draft::Book(BookDraft {
            title: title.into(),
            ..BookDraft::default()
        })))))
    }

    pub fn copy(&self, book: BookId, barcode: &str) -> CopyId {
        CopyId(saved_id(&self.save(Op::Create(Draft::Copy(CopyDraft {
            book_id: book,
            barcode: barcode.into(),
        })))))
    }

    pub fn collection(&self, name: &str) -> CollectionId {
        CollectionId(saved_id(&self.save(Op::Create(Draft::Collection(
            CollectionDraft {
                name: name.into(),
                description: String::new(),
            },
        )))))
    }

    pub fn place(&self, copy: CopyId, collection: CollectionId) -> Outcome {
        self.save(place_op(copy, collection, ""))
    }
}

pub fn place_op(copy: CopyId, collection: CollectionId, shelf_mark: &str) -> Op {
    Op::Create(Draft::Placement(PlacementDraft {
        copy_id: copy,
        collection_id: collection,
        shelf_mark: shelf_mark.into(),
        note: String::new(),
    }))
}

/// One editor: its own mailbox on a shared executor.
pub struct Editor<'a> {
    pub tasks: &'a SaveTasks,
    pub mailbox: Mailbox,
    pub rx: Receiver<Reply>,
}

impl Editor<'_> {
    /// Submits and returns every event up to and including the outcome.
    pub fn save_events(&self, op: Op) -> Vec<Event> {
        let request = self
            .tasks
            .submit(EditorId(1), op, &self.mailbox)
            .expect("submit");
        let mut events = Vec::new();
        loop {
            let reply = self
                .rx
                .recv_timeout(Duration::from_mins(2))
                .expect("a reply within two minutes");
            assert_eq!(reply.request, request, "replies come back to their request");
            let done = matches!(reply.event, Event::Done(_));
            events.push(reply.event);
            if done {
                return events;
            }
        }
    }

    pub fn save(&self, op: Op) -> Outcome {
        match self.save_events(op).pop() {
            Some(Event::Done(o)) => o,
            other => panic!("no outcome: {other:?}"),
        }
    }
}

pub fn saved_id(outcome: &Outcome) -> i64 {
    match outcome {
        Outcome::Saved { record, .. } => record.id,
        other => panic!("expected Saved, got {other:?}"),
    }
}

pub fn placement_id(outcome: &Outcome) -> PlacementId {
    PlacementId(saved_id(outcome))
}

/// Runs `shelfmark --db PATH check`; returns (passed, output).
pub fn check(path: &Path) -> (bool, String) {
    let out = Command::new(EXE)
        .arg("--db")
        .arg(path)
        .arg("check")
        .output()
        .expect("run check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Asserts that `check` passes.
pub fn assert_healthy(path: &Path) {
    let (ok, text) = check(path);
    assert!(ok, "check failed:\n{text}");
}

/// Count of live rows in `table`.
pub fn live(conn: &rusqlite::Connection, table: &str) -> i64 {
    conn.query_row(
        &format!("SELECT count(*) FROM {table} WHERE deleted_at IS NULL"),
        [],
        |r| r.get(0),
    )
    .expect("count")
}

/// Starts a `shelfmark-bench load` process on `db` that appends each acknowledged save to `ack`.
pub fn load(db: &str, mode: &str, threads: usize, pairs: usize, seed: u64, ack: &Path) -> Child {
    Command::new(BENCH)
        .arg("--db")
        .arg(db)
        .args(["load", "--mode", mode])
        .args(["--threads", &threads.to_string()])
        .args(["--pairs", &pairs.to_string()])
        .args(["--seed", &seed.to_string()])
        .arg("--ack-log")
        .arg(ack)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn load")
}

/// The replica file a data directory holds (there is one in these tests).
pub fn replica_path(data_dir: &Path) -> PathBuf {
    std::fs::read_dir(data_dir.join("replicas"))
        .expect("a replicas folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "sqlite3"))
        .expect("a replica")
}
