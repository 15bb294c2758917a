//! `shelfmark-bench offline --db postgres://…`: a shared library worked on offline, measured.
//! One JSON object per line and figure:
//!
//! - `fill`: the first open of the shared library on a computer with no replica yet (a fresh
//!   data directory): every row of the server written and checked into the replica;
//! - `catch_up`: the computer opened again after `--changes` saves were made elsewhere (the
//!   open waits for the replica to catch up from the change log);
//! - `replay`: `--queue` placements saved while working offline (`Library::hold_offline`), then
//!   sent when the server is followed again: entries per second, and each entry's round trip.
//!
//! The library on the server gets the generated copies and placements (use a scratch database).

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use shelfmark::db::{Library, Location, OpenOptions};
use shelfmark::model::{CollectionDraft, CopyDraft, CopyId, Draft, Op, Outcome, PlacementDraft};
use shelfmark::tasks::{ChangeFeed, EditorId, Event, Mailbox, SaveTasks};

#[derive(Clone, Debug, clap::Args)]
pub struct OfflineArgs {
    /// Placements saved offline, then replayed.
    #[arg(long, default_value_t = 10_000)]
    pub queue: usize,
    /// Saves made on the server while the computer was away, for the catch-up.
    #[arg(long, default_value_t = 10_000)]
    pub changes: usize,
}

fn computer(location: &Location, dir: &Path) -> Result<Library, String> {
    Library::open_at(
        location,
        None,
        &OpenOptions {
            pool_size: 8,
            workstation: "bench".to_owned(),
            replica_dir: Some(dir.to_path_buf()),
            ..OpenOptions::default()
        },
    )
    .map_err(|e| shelfmark::db::chain(&e))
}

/// Saves every op through one executor, all queued at once (the executor batches them), and
/// returns the outcomes in order.
fn save_all(tasks: &SaveTasks, ops: Vec<Op>) -> Result<Vec<Outcome>, String> {
    let (mailbox, replies) = Mailbox::new();
    let mut order = Vec::with_capacity(ops.len());
    for op in ops {
        order.push(
            tasks
                .submit(EditorId(1), op, &mailbox)
                .map_err(|e| e.to_string())?,
        );
    }
    let mut done = std::collections::HashMap::new();
    while done.len() < order.len() {
        let reply = replies
            .recv()
            .map_err(|_| "the save executor stopped".to_owned())?;
        if let Event::Done(outcome) = reply.event {
            done.insert(reply.request, outcome);
        }
    }
    Ok(order.iter().filter_map(|r| done.remove(r)).collect())
}

fn ids(outcomes: &[Outcome]) -> Result<Vec<i64>, String> {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Saved { record, .. } => Ok(record.id),
            other => Err(format!("expected a save, got {other:?}")),
        })
        .collect()
}

fn wait(
    library: &Library,
    what: &str,
    ok: impl Fn(&shelfmark::model::SyncStatus) -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_mins(10);
    loop {
        let s = library.sync_status().ok_or("not a shared library")?;
        if ok(&s) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{what}: still {s:?}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn run(location: &Location, args: &OfflineArgs) -> Result<ExitCode, String> {
    if !location.is_shared() {
        return Err("offline measures a shared library: give --db postgres://…".to_owned());
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let plain = Library::open_at(location, None, &OpenOptions::default())
        .map_err(|e| shelfmark::db::chain(&e))?;
    let counts = plain
        .reads()
        .map_err(|e| e.to_string())?
        .counts()
        .map_err(|e| e.to_string())?;
    let rows = counts.books + counts.copies + counts.collections + counts.placements;

    let started = Instant::now();
    let library = computer(location, dir.path())?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"figure": "fill", "rows": rows, "seconds": round(seconds),
            "rows_per_s": (rows as f64 / seconds).round()})
    );
    drop(library);

    // Saves made elsewhere while this computer is closed.
    let tasks = SaveTasks::start(&plain, ChangeFeed::new()).map_err(|e| e.to_string())?;
    let tag = format!("{:x}", fastrand::u64(..));
    let book = ids(&save_all(
        &tasks,
        vec![Op::Create(Draft::Book(shelfmark::model::BookDraft {
            title: format!("Offline bench {tag}"),
            ..Default::default()
        }))],
    )?)?[0];
    let shelf = ids(&save_all(
        &tasks,
        vec![Op::Create(Draft::Collection(CollectionDraft {
            name: format!("Offline bench {tag}"),
            description: String::new(),
        }))],
    )?)?[0];
    let copy_ops = |n: usize, prefix: &str| -> Vec<Op> {
        (0..n)
            .map(|i| {
                Op::Create(Draft::Copy(CopyDraft {
                    book_id: shelfmark::model::BookId(book),
                    barcode: format!("{prefix}{tag}-{i}"),
                }))
            })
            .collect()
    };
    ids(&save_all(&tasks, copy_ops(args.changes, "C"))?)?;
    let started = Instant::now();
    let library = computer(location, dir.path())?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"figure": "catch_up", "changes": args.changes + 2,
            "seconds": round(seconds)})
    );

    // Copies to place, made online; then the placements, made offline, then replayed.
    let copies = ids(&save_all(&tasks, copy_ops(args.queue, "Q"))?)?;
    drop(tasks);
    wait(&library, "caught up", |s| s.online && s.waiting == 0)?;
    // The replica has the copies (it follows the change log within a beat).
    let replica = library.replica_file().ok_or("no replica")?.to_path_buf();
    let last = *copies.last().ok_or("no copies")?;
    let deadline = Instant::now() + Duration::from_mins(1);
    while rusqlite::Connection::open(&replica)
        .and_then(|c| {
            c.query_row("SELECT count(*) FROM copies WHERE id = ?1", [last], |r| {
                r.get::<_, i64>(0)
            })
        })
        .map_err(|e| e.to_string())?
        == 0
    {
        if Instant::now() > deadline {
            return Err("the replica did not catch up".to_owned());
        }
        library.sync_now();
        std::thread::sleep(Duration::from_millis(5));
    }
    library.hold_offline(true);
    wait(&library, "offline", |s| !s.online)?;
    let writer = SaveTasks::start(&library, ChangeFeed::new()).map_err(|e| e.to_string())?;
    let places: Vec<Op> = copies
        .iter()
        .map(|c| {
            Op::Create(Draft::Placement(PlacementDraft {
                copy_id: CopyId(*c),
                collection_id: shelfmark::model::CollectionId(shelf),
                shelf_mark: String::new(),
                note: String::new(),
            }))
        })
        .collect();
    let queued_at = Instant::now();
    ids(&save_all(&writer, places)?)?;
    let queue_seconds = queued_at.elapsed().as_secs_f64();
    let waiting = library.sync_status().map_or(0, |s| s.waiting);
    let started = Instant::now();
    library.hold_offline(false);
    library.sync_now();
    wait(&library, "replayed", |s| s.online && s.waiting == 0)?;
    let seconds = started.elapsed().as_secs_f64();
    let figures = library
        .sync_status()
        .and_then(|s| s.last_replay)
        .unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({"figure": "queue_offline", "saves": args.queue,
            "seconds": round(queue_seconds),
            "saves_per_s": (args.queue as f64 / queue_seconds).round()})
    );
    println!(
        "{}",
        serde_json::json!({"figure": "replay", "entries": waiting,
            "seconds_until_online": round(seconds),
            "saves_per_s": (waiting as f64 / seconds).round(),
            "replay_seconds": round(figures.seconds),
            "p50_ms": round(figures.p50_ms), "p99_ms": round(figures.p99_ms),
            "max_ms": round(figures.max_ms)})
    );
    Ok(ExitCode::SUCCESS)
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// `sync`: opens the library as the window does (with its replica) and waits until nothing
/// waits to be sent.
pub fn sync(location: &Location) -> Result<ExitCode, String> {
    let library = super::open_at(location, shelfmark::db::Durability::Full, 4)?;
    let started = Instant::now();
    wait(&library, "synced", |s| s.online && s.waiting == 0)?;
    let s = library.sync_status().unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({"figure": "sync", "seconds": round(started.elapsed().as_secs_f64()),
            "attention": s.attention, "problem": s.problem})
    );
    Ok(ExitCode::SUCCESS)
}
