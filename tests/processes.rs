//! Several processes on one library file: the built `shelfmark` binary, run as `load`, killed
//! with SIGKILL, or holding the write lock, next to this test process.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use shelfmark::model::Outcome;
use shelfmark::tasks::{ChangeFeed, Event};

use shelfmark::db::Library;
use shelfmark::model::PlacementId;

use crate::util::{
    self, BENCH, Client, LoadSummary, Where, assert_healthy, load, on_both_backends, pg, place_op,
};

fn summary(child: Child) -> LoadSummary {
    let out = child.wait_with_output().expect("load finished");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "load failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON summary")
}

/// Every line of the ack log is in the library: the row exists, for the same pair, at that
/// version or later (versions only grow).
fn assert_acks_present(library: &Library, ack: &Path) -> usize {
    let text = std::fs::read_to_string(ack).unwrap_or_default();
    let mut reads = library.reads().unwrap();
    let mut n = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 5, "ack line {line:?}");
        assert_eq!(f[0], "placement");
        let id: i64 = f[1].parse().unwrap();
        let p = reads
            .placement(PlacementId(id))
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged placement {id} is missing"));
        assert_eq!(p.copy_id.0.to_string(), f[2], "{line}");
        assert_eq!(p.collection_id.0.to_string(), f[3], "{line}");
        assert!(
            p.meta.version >= f[4].parse::<i64>().unwrap(),
            "{line}: version {}",
            p.meta.version
        );
        n += 1;
    }
    n
}

/// Four `load` processes of four threads each on one library, in every mode: no duplicate,
/// every acknowledged save present, `check` passes. On a shared library `psql` races them,
/// inserting live duplicates straight into the tables: the server refuses every one.
fn four_processes_of_four_threads_all_modes(w: &Where) {
    for mode in ["contention", "distinct", "softdelete"] {
        let w = match w {
            Where::File(_) => Where::file(),
            Where::Server { .. } => Where::server(),
        };
        let dir = tempfile::tempdir().unwrap();
        let pairs = 100;
        let mut children: Vec<_> = (0..4)
            .map(|p| {
                let seed = if mode == "distinct" { p + 1 } else { 7 };
                let ack = dir.path().join(format!("ack-{p}.txt"));
                (load(&w.arg(), mode, 4, pairs, seed, &ack), ack)
            })
            .collect();
        let refused = match &w {
            Where::Server { db } => race_duplicates_with_psql(db, &mut children),
            Where::File(_) => 0,
        };
        let library = w.open();
        let mut saved = 0;
        let mut conflicts = 0;
        for (child, ack) in children {
            let sum = summary(child);
            assert_eq!((sum.failed, sum.invalid), (0, 0), "{mode}: {sum:?}");
            saved += sum.saved;
            conflicts += sum.conflicts;
            let acked = assert_acks_present(&library, &ack);
            assert_eq!(acked as u64, sum.saved, "{mode}: one ack line per save");
        }
        w.assert_healthy();
        let live = Client::on(library).live("placements");
        match mode {
            // 16 threads raced for the same 100 pairs: one save each, the rest conflicts.
            "contention" => {
                assert_eq!((saved, conflicts), (100, 16 * 100 - 100));
                assert_eq!(live, 100);
            }
            "distinct" => {
                assert_eq!(saved, 16 * 100);
                assert_eq!(live, 16 * 100);
            }
            _ => assert!(
                live <= 100,
                "softdelete: {live} live placements for 100 pairs"
            ),
        }
        if let Where::Server { .. } = &w {
            assert!(
                refused > 0 || live == 0,
                "{mode}: psql found live rows to copy"
            );
            println!("{mode}: psql's {refused} live duplicates were all refused");
        }
    }
}

/// While the loads run (and a few times after), `psql` copies live placements as new live
/// rows, by hand: every try must fail on the partial unique index. Returns how many were
/// refused.
fn race_duplicates_with_psql(db: &str, children: &mut [(Child, std::path::PathBuf)]) -> usize {
    let cluster = pg::shared();
    let mut refused = 0;
    let mut after = 0;
    let deadline = Instant::now() + Duration::from_mins(2);
    while after < 5 && Instant::now() < deadline {
        let running = children
            .iter_mut()
            .any(|(c, _)| c.try_wait().ok().flatten().is_none());
        if !running {
            after += 1;
        }
        let result = cluster.psql(
            db,
            "INSERT INTO placements (copy_id, collection_id, created_at, updated_at)
             SELECT copy_id, collection_id, now(), now() FROM placements
             WHERE deleted_at IS NULL ORDER BY random() LIMIT 1",
        );
        match result {
            Err(e) if e.contains("duplicate key") => refused += 1,
            Err(e) => panic!("psql failed otherwise: {e}"),
            // Nothing live to copy at that moment: INSERT 0 0.
            Ok(out) => assert!(out.contains("INSERT 0 0") || out.is_empty(), "{out}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    refused
}

on_both_backends!(four_processes_of_four_threads_all_modes);

#[test]
fn kill_nine_during_saves_loses_nothing_acknowledged() {
    let s = util::scratch();
    let ack = s.dir.path().join("ack.txt");
    let mut rng = fastrand::Rng::with_seed(2026);
    let mut acked = 0;
    for round in 0..20u64 {
        let mode = ["distinct", "softdelete", "contention"][round as usize % 3];
        let mut child = load(&s.path.display().to_string(), mode, 4, 400, round % 4, &ack);
        std::thread::sleep(Duration::from_millis(rng.u64(60..400)));
        child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix
        let _ = child.wait();
        assert_healthy(&s.path);
        acked = assert_acks_present(&util::open(&s.path), &ack);
    }
    assert!(acked > 0, "some saves were acknowledged before the kills");
    println!("20 kills, {acked} acknowledged saves all present");
}

fn unix_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

/// Starts `shelfmark hold-write-lock` and waits until it holds the lock.
fn hold_lock(
    path: &Path,
    seconds: f64,
    touch: bool,
) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut cmd = Command::new(BENCH);
    cmd.arg("--db")
        .arg(path)
        .args(["hold-write-lock", "--seconds", &seconds.to_string()]);
    if touch {
        cmd.arg("--touch");
    }
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with("locked "), "{line:?}");
    (child, out)
}

fn released_at(out: &mut BufReader<std::process::ChildStdout>) -> u128 {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line.trim()
        .strip_prefix("released ")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{line:?}"))
}

#[test]
fn saves_wait_for_another_writer_then_land() {
    let s = util::scratch();
    let client = Client::new(&s.path);
    let book = client.book("Dune");
    let shelf = client.collection("Rare Books");
    let copies: Vec<_> = (0..5)
        .map(|i| client.copy(book, &format!("W{i}")))
        .collect();

    let (mut holder, mut out) = hold_lock(&s.path, 3.0, false);
    let started = Instant::now();
    let results: Vec<(Vec<Event>, Duration)> = std::thread::scope(|sc| {
        let handles: Vec<_> = copies
            .iter()
            .map(|c| {
                let client = &client;
                sc.spawn(move || {
                    let events = client.editor().save_events(place_op(*c, shelf, ""));
                    (events, started.elapsed())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let released = released_at(&mut out);
    holder.wait().unwrap();
    let done_at = unix_micros();
    for (events, took) in &results {
        assert!(
            matches!(events.first(), Some(Event::Waiting { .. })),
            "told it is waiting first: {events:?}"
        );
        assert!(
            matches!(events.last(), Some(Event::Done(Outcome::Saved { .. }))),
            "{events:?}"
        );
        assert!(*took >= Duration::from_millis(2500), "it waited: {took:?}");
    }
    assert!(done_at >= released);
    assert_eq!(util::live(&client.conn(), "placements"), 5);
}

#[test]
fn change_feed_sees_another_process_within_250_ms() {
    let s = util::scratch();
    let client = Client::new(&s.path);
    let feed = ChangeFeed::new();
    let _watcher = feed
        .watch(&client.library, Duration::from_millis(100))
        .unwrap();
    let (tx, changes) = std::sync::mpsc::channel();
    let _subscription = feed.subscribe(std::sync::Arc::new(move || {
        let _ = tx.send(());
    }));
    let mut worst = Duration::ZERO;
    for _ in 0..5 {
        while changes.try_recv().is_ok() {}
        let (mut holder, mut out) = hold_lock(&s.path, 0.0, true);
        let released = released_at(&mut out);
        holder.wait().unwrap();
        changes
            .recv_timeout(Duration::from_secs(5))
            .expect("a change notification");
        let latency = Duration::from_micros((unix_micros().saturating_sub(released)) as u64);
        worst = worst.max(latency);
    }
    println!("change feed: worst latency {worst:?} over 5 commits of another process");
    assert!(worst <= Duration::from_millis(250), "{worst:?}");
}

#[test]
fn acknowledged_means_committed_for_every_reply() {
    // Each Saved outcome is readable by a fresh connection the moment it arrives.
    let s = util::scratch();
    let client = Client::new(&s.path);
    let book = client.book("Dune");
    let shelf = client.collection("Rare Books");
    let observer = rusqlite::Connection::open(&s.path).unwrap();
    let mut seen = HashMap::new();
    for i in 0..30 {
        let copy = client.copy(book, &format!("A{i}"));
        let id = util::saved_id(&client.place(copy, shelf));
        let found: i64 = observer
            .query_row("SELECT count(*) FROM placements WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap();
        seen.insert(id, found);
    }
    assert!(seen.values().all(|&n| n == 1));
}
