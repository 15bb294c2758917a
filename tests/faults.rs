//! When things go wrong: files that cannot be used, damaged files, read-only files, a full disk,
//! a write lock held for a minute, a kill during a backup. Each case: a clear message, no panic,
//! nothing acknowledged lost, the typed edit kept where a save could not happen.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use egui::Key;
use egui_kittest::kittest::Queryable;
use shelfmark::ShelfmarkApp;
use shelfmark::db::{Library, OpenError, OpenOptions};
use shelfmark::model::{FailureKind, Outcome};
use shelfmark::tasks::{ChangeFeed, EditorId, Mailbox, SaveTasks, SubmitError};

use crate::ui::{App, wait_for, wait_for_text};
use crate::util::{self, BENCH, Client, EXE, assert_healthy, place_op};

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// SQLite's own files beside a library (the -writer lock file of an earlier session is ours).
fn sidecars(path: &Path) -> Vec<PathBuf> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|s| {
            let mut p = path.as_os_str().to_owned();
            p.push(s);
            PathBuf::from(p)
        })
        .filter(|p| p.exists())
        .collect()
}

fn open_error(path: &Path) -> String {
    match Library::open(path, &OpenOptions::default()) {
        Ok(_) => panic!("{} should be refused", path.display()),
        Err(e) => shelfmark::db::chain(&e),
    }
}

fn cli_check(path: &Path) -> (bool, String) {
    util::check(path)
}

#[test]
fn unusable_paths_are_refused_with_the_reason_and_left_untouched() {
    let s = util::scratch();
    let dir = s.dir.path();
    // A folder.
    let e = open_error(dir);
    assert!(e.contains("is a folder, not a library file"), "{e}");
    // A folder that does not exist.
    let missing = dir.join("no/such/folder/library.sqlite3");
    let e = open_error(&missing);
    assert!(e.contains("does not exist"), "{e}");
    assert!(!dir.join("no").exists(), "nothing was created");
    // A text file and a PNG.
    let text = dir.join("notes.txt");
    std::fs::write(&text, "Shopping list:\n- milk\n").unwrap();
    let png = dir.join("cover.png");
    std::fs::write(
        &png,
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89",
    )
    .unwrap();
    for file in [&text, &png] {
        let before = bytes(file);
        let e = open_error(file);
        assert!(
            e.contains("is not a Shelfmark library: it is not an SQLite database"),
            "{e}"
        );
        assert_eq!(bytes(file), before, "{} untouched", file.display());
        assert!(sidecars(file).is_empty());
        let (ok, out) = cli_check(file);
        assert!(!ok);
        assert!(out.contains("not an SQLite database"), "{out}");
    }
}

/// A library with some rows, closed (so its WAL is folded into the file).
fn closed_library(path: &Path) {
    let c = Client::new(path);
    let book = c.book("Dune");
    let shelf = c.collection("Rare Books");
    for i in 0..300 {
        let copy = c.copy(book, &format!("D{i:04}"));
        assert!(c.place(copy, shelf).is_saved());
    }
}

#[test]
fn a_damaged_file_is_reported_and_never_repaired() {
    let s = util::scratch();
    closed_library(&s.path);
    let good = bytes(&s.path);

    // The header overwritten.
    let mut damaged = good.clone();
    damaged[..16].copy_from_slice(b"XXXXXXXXXXXXXXXX");
    std::fs::write(&s.path, &damaged).unwrap();
    let e = open_error(&s.path);
    assert!(e.contains("is damaged: its header is overwritten"), "{e}");
    let (ok, out) = cli_check(&s.path);
    assert!(!ok && out.contains("header is overwritten"), "{out}");
    assert_eq!(bytes(&s.path), damaged, "not repaired");

    // Cut off in the middle of a page.
    let cut = &good[..good.len() / 2 + 1000];
    std::fs::write(&s.path, cut).unwrap();
    let e = open_error(&s.path);
    assert!(e.contains("cut off in the middle of a page"), "{e}");
    assert_eq!(bytes(&s.path), cut);

    // Truncated at a page boundary: SQLite's own check names what is missing.
    let truncated = &good[..(good.len() / 2) / 4096 * 4096];
    std::fs::write(&s.path, truncated).unwrap();
    let e = open_error(&s.path);
    assert!(e.contains("the file is truncated"), "{e}");
    let (ok, out) = cli_check(&s.path);
    assert!(!ok, "{out}");
    assert!(out.contains("truncated"), "{out}");
    assert_eq!(bytes(&s.path), truncated, "not repaired");
    assert!(sidecars(&s.path).is_empty());
}

/// Makes files immutable (even for root) for the life of the guard.
struct Immutable(Vec<PathBuf>);

impl Immutable {
    fn set(paths: &[&Path]) -> Immutable {
        for p in paths {
            let ok = Command::new("chattr")
                .arg("+i")
                .arg(p)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chattr +i {} (needs root on ext4)", p.display());
        }
        Immutable(paths.iter().map(|p| p.to_path_buf()).collect())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = Command::new("chattr").arg("-i").arg(p).status();
        }
    }
}

#[test]
fn a_read_only_library_opens_read_only_with_a_banner_and_refuses_saves() {
    let s = util::scratch();
    closed_library(&s.path);
    let before = bytes(&s.path);
    let _guard = Immutable::set(&[&s.path, s.dir.path()]);

    let library = Library::open(&s.path, &OpenOptions::default()).expect("opens read-only");
    assert_eq!(library.read_only(), Some("the file is read-only"));
    let tasks = SaveTasks::start(&library, ChangeFeed::new()).unwrap();
    let (mailbox, _rx) = Mailbox::new();
    let refused = tasks.try_submit(
        EditorId(1),
        place_op(
            shelfmark::model::CopyId(1),
            shelfmark::model::CollectionId(1),
            "",
        ),
        &mailbox,
    );
    assert_eq!(
        refused,
        Err(SubmitError::ReadOnly("the file is read-only".to_owned()))
    );
    // Reading works.
    let mut reads = library.reads().unwrap();
    assert_eq!(reads.collections().unwrap()[0].placements, 300);
    drop((reads, tasks));

    // The window says so, shows the data, and a scan is refused inline with the reason.
    let mut h: App = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| ShelfmarkApp::with_library(cc, library).unwrap());
    wait_for_text(&mut h, "This library is read-only: the file is read-only");
    h.get_by_label_contains("Rare Books  (").click();
    wait_for(&mut h, "the rows", |h| {
        h.query_by_label("Remove D0299").is_some()
    });
    h.get_by_label("Scan barcode").focus();
    h.step();
    h.get_by_label("Scan barcode").type_text("D0001");
    h.step();
    h.key_press(Key::Enter);
    wait_for_text(
        &mut h,
        "Not saved: the library is read-only (the file is read-only)",
    );
    drop(h);
    assert_eq!(bytes(&s.path), before, "not a byte changed");
}

#[test]
fn a_read_only_folder_also_opens_read_only() {
    let s = util::scratch();
    closed_library(&s.path);
    let _guard = Immutable::set(&[s.dir.path()]);
    let library = Library::open(&s.path, &OpenOptions::default()).expect("opens read-only");
    assert_eq!(library.read_only(), Some("the folder is read-only"));
    // A new library cannot be made in such a folder, and says why.
    let e = open_error(&s.dir.path().join("new.sqlite3"));
    assert!(e.contains("the folder is read-only"), "{e}");
}

/// Saves placements through `tasks` until the disk is "full"; returns how many were saved.
fn fill(
    tasks: &SaveTasks,
    copies: &[shelfmark::model::CopyId],
    shelf: shelfmark::model::CollectionId,
) -> usize {
    let (mailbox, rx) = Mailbox::new();
    let mut saved = 0;
    for copy in copies {
        tasks
            .submit(EditorId(9), place_op(*copy, shelf, ""), &mailbox)
            .unwrap();
        let outcome = loop {
            if let shelfmark::tasks::Event::Done(o) = rx.recv().unwrap().event {
                break o;
            }
        };
        match outcome {
            Outcome::Saved { .. } => saved += 1,
            Outcome::Failed(f) => {
                assert_eq!(f.kind, FailureKind::DiskFull, "{f}");
                assert!(f.message.starts_with("the disk is full"), "{f}");
                return saved;
            }
            other => panic!("{other:?}"),
        }
    }
    panic!("the disk never filled up");
}

#[test]
fn a_full_disk_fails_the_save_in_words_keeps_everything_and_retry_succeeds() {
    let s = util::scratch();
    let client = Client::new(&s.path);
    let book = client.book("Dune");
    let shelf = client.collection("Rare Books");
    // Copies placed until the disk is full, then 0042: its placement has the same shape as
    // the one that failed (it files after them in every index), so it needs the same room.
    let copies: Vec<_> = (0..2000)
        .map(|i| client.copy(book, &format!("0041{i:05}")))
        .collect();
    client.copy(book, "0042");
    let pages: i64 = client
        .conn()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    // The app's own library handle: the size cap is shared with its writer.
    let library = util::open(&s.path);
    library.limit_size(Some((pages as u64 + 8) * 4096));
    let tasks = SaveTasks::start(&library, ChangeFeed::new()).unwrap();
    let saved = fill(&tasks, &copies, shelf);
    assert!(saved > 0);
    drop(tasks);
    let counted = util::live(&client.conn(), "placements");
    assert_eq!(counted as usize, saved, "every acknowledged save is there");

    let lib = library.clone();
    let mut h: App = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| ShelfmarkApp::with_library(cc, lib).unwrap());
    h.get_by_label_contains("Rare Books  (").click();
    wait_for(&mut h, "the editor", |h| {
        h.query_by_label("Scan barcode").is_some()
    });
    h.get_by_label("Scan barcode").focus();
    h.step();
    h.get_by_label("Scan barcode").type_text("0042");
    h.step();
    h.key_press(Key::Enter);
    wait_for_text(
        &mut h,
        "Not saved: the disk is full; free some space, then retry",
    );
    // Space comes back; Retry saves it.
    library.limit_size(None);
    h.get_by_label("Retry 0042").click();
    wait_for(&mut h, "the row", |h| {
        h.query_by_label("Remove 0042").is_some()
    });
    drop(h);
    drop(client);
    assert_healthy(&s.path);
}

#[test]
fn a_minute_long_lock_keeps_the_window_drawing_and_every_save_lands_in_order() {
    let s = util::scratch();
    let codes: Vec<String> = (0..6).map(|i| format!("M{i}")).collect();
    {
        let c = Client::new(&s.path);
        let book = c.book("Moby-Dick");
        for code in &codes {
            c.copy(book, code);
        }
        c.collection("Stacks");
    }
    let mut h = crate::ui::app(&s.path);
    h.get_by_label_contains("Stacks  (").click();
    wait_for(&mut h, "the editor", |h| {
        h.query_by_label("Scan barcode").is_some()
    });
    let mut holder = Command::new(BENCH)
        .arg("--db")
        .arg(&s.path)
        .args(["hold-write-lock", "--seconds", "60"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    for code in &codes {
        h.get_by_label("Scan barcode").focus();
        h.step();
        h.get_by_label("Scan barcode").type_text(code);
        h.step();
        h.key_press(Key::Enter);
        h.step();
    }
    let mut slowest = Duration::ZERO;
    let mut saw_status = false;
    while started.elapsed() < Duration::from_secs(55) {
        let t = Instant::now();
        h.step();
        slowest = slowest.max(t.elapsed());
        saw_status |= h
            .query_all_by_label_contains("another program is writing (")
            .next()
            .is_some();
        std::thread::sleep(Duration::from_millis(50));
    }
    // Still waiting, every scan says so, nothing saved yet.
    let waiting = h
        .query_all_by_label("Waiting for the library file — another program is writing")
        .count();
    assert_eq!(waiting, codes.len(), "each pending scan says it is waiting");
    assert!(saw_status, "the status bar said how long");
    assert!(
        slowest < Duration::from_millis(500),
        "frames kept coming: {slowest:?}"
    );
    holder.wait().unwrap();
    wait_for(&mut h, "all rows", |h| {
        codes
            .iter()
            .all(|c| h.query_by_label(&format!("Remove {c}")).is_some())
    });
    let conn = rusqlite::Connection::open(&s.path).unwrap();
    let order: Vec<String> = conn
        .prepare(
            "SELECT c.barcode FROM placements p JOIN copies c ON c.id = p.copy_id
             WHERE p.deleted_at IS NULL ORDER BY p.created_at, p.id",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(order, codes, "saved once each, in the order scanned");
}

#[test]
fn a_backup_killed_midway_leaves_the_library_whole_and_no_half_copy() {
    let s = util::scratch();
    let out = Command::new(BENCH)
        .arg("--db")
        .arg(&s.path)
        .args([
            "seed",
            "--books",
            "3000",
            "--copies",
            "30000",
            "--collections",
            "20",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let target = s.dir.path().join("backup.sqlite3");
    for delay in [5u64, 20, 60, 150] {
        let mut child = Command::new(EXE)
            .arg("--db")
            .arg(&s.path)
            .arg("backup")
            .arg(&target)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        let _ = child.wait();
        assert_healthy(&s.path);
        if target.exists() {
            // Finished before the kill: then it is whole.
            assert_healthy(&target);
            std::fs::remove_file(&target).unwrap();
        }
    }
}

#[test]
fn newer_schema_in_the_window_is_refused_with_the_versions() {
    // The window's open screen shows the same words as the command line.
    let s = util::scratch();
    {
        let conn = rusqlite::Connection::open(&s.path).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA application_id = {}; PRAGMA user_version = {}; CREATE TABLE t (x);",
            shelfmark::db::APPLICATION_ID,
            shelfmark::db::LATEST_VERSION + 1
        ))
        .unwrap();
    }
    let err = Library::open(&s.path, &OpenOptions::default()).unwrap_err();
    assert!(
        matches!(err, OpenError::NewerSchema { found, .. } if found == shelfmark::db::LATEST_VERSION + 1)
    );
    let path = s.path.clone();
    let mut h: App = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1200.0, 800.0))
        .build_eframe(move |cc| {
            ShelfmarkApp::new(
                cc,
                shelfmark::Startup::At(shelfmark::db::Location::File(path), None),
                shelfmark::AppOptions::default(),
            )
        });
    let words = format!(
        "schema version {}; this build knows up to",
        shelfmark::db::LATEST_VERSION + 1
    );
    wait_for_text(&mut h, &words);
    assert!(
        h.query_by_label("Library file").is_some(),
        "offers to open another"
    );
}
