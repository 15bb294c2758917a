//! `shelfmark-bench load`: a save-load generator that goes through the same executor as the window.
//!
//! - `contention`: every thread saves placements for the same K (copy, collection) pairs, each
//!   in its own shuffled order: one save per pair wins, the rest are conflicts.
//! - `distinct`: each thread saves K pairs of its own (copies named after the seed and thread,
//!   so processes with different seeds never compete).
//! - `softdelete`: threads soft-delete the live placement of a shared pair and create it again.
//!
//! The copies and collections it needs are created idempotently (a conflict means another
//! process made them first), so several processes can run it on one file at once. With
//! `--ack-log`, one line per acknowledged save is appended after its commit returned:
//! `placement <id> <copy_id> <collection_id> <version>`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use shelfmark::db::Location;
use std::process::ExitCode;
use std::sync::Barrier;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use super::stats::{Percentiles, percentiles};
use shelfmark::db::{Durability, Library};
use shelfmark::model::{
    BookDraft, CollectionDraft, CollectionId, CopyDraft, CopyId, Draft, Holder, Kind, Op, Outcome,
    PlacementDraft, isbn,
};
use shelfmark::tasks::{ChangeFeed, EditorId, Event, Mailbox, SaveTasks};

/// Collections the generated pairs spread over.
const COLLECTIONS: usize = 8;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Contention,
    Distinct,
    Softdelete,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Contention => "contention",
            Mode::Distinct => "distinct",
            Mode::Softdelete => "softdelete",
        }
    }
}

#[derive(Clone, Debug, clap::Args)]
pub struct LoadArgs {
    #[arg(long, value_enum)]
    pub mode: Mode,
    /// Concurrent saving threads.
    #[arg(long, default_value_t = 16)]
    pub threads: usize,
    /// Pairs (per thread for `distinct`, shared otherwise).
    #[arg(long, default_value_t = 200)]
    pub pairs: usize,
    /// Names the generated records and seeds the shuffles.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Append one line per acknowledged save to this file.
    #[arg(long, value_name = "FILE")]
    pub ack_log: Option<PathBuf>,
    /// Write every save's latency in microseconds, one per line (used by `bench`).
    #[arg(long, value_name = "FILE", hide = true)]
    pub latency_log: Option<PathBuf>,
}

/// The one-line JSON summary `load` prints last.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct LoadSummary {
    pub mode: String,
    pub threads: usize,
    pub pairs: usize,
    pub seed: u64,
    /// Save requests answered (any outcome).
    pub requests: u64,
    pub saved: u64,
    pub conflicts: u64,
    pub stale: u64,
    pub deleted_elsewhere: u64,
    pub gone: u64,
    pub invalid: u64,
    pub failed: u64,
    /// Requests that were told they were waiting for the library file.
    pub waited: u64,
    pub seconds: f64,
    pub saves_per_s: f64,
    #[serde(flatten)]
    pub latency: Percentiles,
    pub started_unix_ms: u128,
    pub ended_unix_ms: u128,
}

#[derive(Default)]
struct Tally {
    summary: LoadSummary,
    latencies: Vec<Duration>,
    failures: Vec<String>,
}

impl Tally {
    fn count(&mut self, outcome: &Outcome, latency: Duration, waited: bool) {
        let s = &mut self.summary;
        s.requests += 1;
        s.waited += u64::from(waited);
        match outcome {
            Outcome::Saved { .. } => s.saved += 1,
            Outcome::Conflict(_) => s.conflicts += 1,
            Outcome::Stale(_) => s.stale += 1,
            Outcome::DeletedElsewhere(_) => s.deleted_elsewhere += 1,
            Outcome::Gone(_) => s.gone += 1,
            Outcome::Invalid(_)
            | Outcome::UnknownBarcode(_)
            | Outcome::Imported(_)
            | Outcome::Settings => {
                s.invalid += 1;
                self.failures.push(format!("unexpected: {outcome:?}"));
            }
            Outcome::Failed(f) => {
                s.failed += 1;
                self.failures.push(format!("failed: {f}"));
            }
        }
        self.latencies.push(latency);
    }

    fn merge(&mut self, other: Tally) {
        let (s, o) = (&mut self.summary, other.summary);
        s.requests += o.requests;
        s.saved += o.saved;
        s.conflicts += o.conflicts;
        s.stale += o.stale;
        s.deleted_elsewhere += o.deleted_elsewhere;
        s.gone += o.gone;
        s.invalid += o.invalid;
        s.failed += o.failed;
        s.waited += o.waited;
        self.latencies.extend(other.latencies);
        self.failures.extend(other.failures);
    }
}

/// A saver bound to one thread: submits, waits for the final event, times it.
struct Saver<'a> {
    tasks: &'a SaveTasks,
    mailbox: Mailbox,
    replies: std::sync::mpsc::Receiver<shelfmark::tasks::Reply>,
    editor: EditorId,
}

impl<'a> Saver<'a> {
    fn new(tasks: &'a SaveTasks, editor: u64) -> Self {
        let (mailbox, replies) = Mailbox::new();
        Saver {
            tasks,
            mailbox,
            replies,
            editor: EditorId(editor),
        }
    }

    /// Saves and waits for the outcome; returns it with its latency and whether it waited.
    fn save(&self, op: Op) -> Result<(Outcome, Duration, bool), String> {
        let started = Instant::now();
        let request = self
            .tasks
            .submit(self.editor, op, &self.mailbox)
            .map_err(|e| e.to_string())?;
        let mut waited = false;
        loop {
            let reply = self
                .replies
                .recv()
                .map_err(|_| "the save executor stopped".to_owned())?;
            debug_assert_eq!(reply.request, request);
            match reply.event {
                Event::Waiting { .. } => waited = true,
                Event::Done(outcome) => return Ok((outcome, started.elapsed(), waited)),
            }
        }
    }
}

/// Appends acknowledged saves, one line each, written in one call after the commit returned.
struct AckLog(Option<Mutex<File>>);

impl AckLog {
    fn open(path: Option<&Path>) -> Result<AckLog, String> {
        path.map(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map(Mutex::new)
                .map_err(|e| format!("cannot open the ack log {}: {e}", p.display()))
        })
        .transpose()
        .map(AckLog)
    }

    fn placement(&self, id: i64, copy: CopyId, collection: CollectionId, version: i64) {
        if let Some(file) = &self.0 {
            let line = format!("placement {id} {copy} {collection} {version}\n");
            // One write per line on an O_APPEND file: lines never interleave.
            if let Err(e) = file.lock().write_all(line.as_bytes()) {
                eprintln!("shelfmark: cannot write the ack log: {e}");
            }
        }
    }
}

/// A valid ISBN-13 derived from the seed, so each seed has its own load book.
fn load_isbn(seed: u64) -> String {
    let body = format!("979{:09}", seed % 1_000_000_000);
    let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
    format!("{body}{}", isbn::check_digit_13(&digits))
}

fn ensure(saver: &Saver<'_>, op: Op) -> Result<i64, String> {
    match saver.save(op)?.0 {
        Outcome::Saved { record, .. } => Ok(record.id),
        Outcome::Conflict(c) => Ok(match c.holder {
            Holder::Book { id, .. } => id.0,
            Holder::Copy { id, .. } => id.0,
            Holder::Collection { id, .. } => id.0,
            Holder::Placement { id, .. } => id.0,
        }),
        other => Err(format!("setting up the load failed: {other:?}")),
    }
}

/// Creates (or finds) the records the load needs. Returns, per thread, its list of pairs.
fn setup(tasks: &SaveTasks, args: &LoadArgs) -> Result<Vec<Vec<(CopyId, CollectionId)>>, String> {
    let saver = Saver::new(tasks, 0);
    let seed = args.seed;
    let book = ensure(
        &saver,
        Op::Create(Draft::Book(BookDraft {
            title: format!("Load test {seed}"),
            authors: "Shelfmark".into(),
            isbn: load_isbn(seed),
            ..BookDraft::default()
        })),
    )?;
    let mut collections = Vec::with_capacity(COLLECTIONS);
    for j in 0..COLLECTIONS {
        collections.push(CollectionId(ensure(
            &saver,
            Op::Create(Draft::Collection(CollectionDraft {
                name: format!("Load {seed} shelf {j}"),
                description: String::new(),
            })),
        )?));
    }
    let barcodes: Vec<Vec<String>> = match args.mode {
        Mode::Contention | Mode::Softdelete => {
            vec![(0..args.pairs).map(|i| format!("L{seed}-{i:05}")).collect()]
        }
        Mode::Distinct => (0..args.threads)
            .map(|t| {
                (0..args.pairs)
                    .map(|i| format!("L{seed}-T{t}-{i:05}"))
                    .collect()
            })
            .collect(),
    };
    // Submit all copies at once (they commit in groups), then collect the answers.
    let mut requests = Vec::new();
    for code in barcodes.iter().flatten() {
        let op = Op::Create(Draft::Copy(CopyDraft {
            book_id: shelfmark::model::BookId(book),
            barcode: code.clone(),
        }));
        requests.push(
            tasks
                .submit(saver.editor, op, &saver.mailbox)
                .map_err(|e| e.to_string())?,
        );
    }
    let mut ids = std::collections::HashMap::new();
    while ids.len() < requests.len() {
        let reply = saver
            .replies
            .recv()
            .map_err(|_| "the save executor stopped".to_owned())?;
        if let Event::Done(outcome) = reply.event {
            let id = match outcome {
                Outcome::Saved { record, .. } => record.id,
                Outcome::Conflict(c) => c.holder.reference().id,
                other => return Err(format!("setting up the load failed: {other:?}")),
            };
            ids.insert(reply.request, CopyId(id));
        }
    }
    let mut next = requests.into_iter();
    let lists: Vec<Vec<(CopyId, CollectionId)>> = barcodes
        .iter()
        .map(|codes| {
            codes
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    let request = next.next().unwrap_or_default();
                    (ids[&request], collections[i % COLLECTIONS])
                })
                .collect()
        })
        .collect();
    Ok(match args.mode {
        Mode::Distinct => lists,
        Mode::Contention | Mode::Softdelete => vec![lists[0].clone(); args.threads],
    })
}

fn now_unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

/// One thread's share of the run.
fn work(
    library: &Library,
    saver: &Saver<'_>,
    mode: Mode,
    mut pairs: Vec<(CopyId, CollectionId)>,
    rng: &mut fastrand::Rng,
    acks: &AckLog,
) -> Result<Tally, String> {
    let mut tally = Tally::default();
    if mode != Mode::Distinct {
        rng.shuffle(&mut pairs);
    }
    let create = |copy: CopyId, collection: CollectionId| {
        Op::Create(Draft::Placement(PlacementDraft {
            copy_id: copy,
            collection_id: collection,
            // As a scan makes them: the shelf mark is typed later, if at all.
            shelf_mark: String::new(),
            note: String::new(),
        }))
    };
    for (copy, collection) in pairs {
        if mode == Mode::Softdelete {
            let live = library
                .reads()
                .and_then(|mut r| r.live_placement(copy, collection))
                .map_err(|e| super::words(&e))?;
            if let Some(p) = live {
                let (outcome, latency, waited) = saver.save(Op::Delete {
                    target: p.id.into(),
                    version: p.meta.version,
                })?;
                if let Outcome::Saved { record, version } = &outcome {
                    acks.placement(record.id, copy, collection, *version);
                }
                tally.count(&outcome, latency, waited);
            }
        }
        let (outcome, latency, waited) = saver.save(create(copy, collection))?;
        if let Outcome::Saved { record, version } = &outcome {
            debug_assert_eq!(record.kind, Kind::Placement);
            acks.placement(record.id, copy, collection, *version);
        }
        tally.count(&outcome, latency, waited);
    }
    Ok(tally)
}

pub fn run(
    location: &Location,
    durability: Durability,
    args: &LoadArgs,
) -> Result<ExitCode, String> {
    let threads = args.threads.max(1);
    let library = super::open_at(location, durability, threads as u32 + 2)?;
    let acks = AckLog::open(args.ack_log.as_deref())?;
    let tasks = SaveTasks::start(&library, ChangeFeed::new()).map_err(|e| e.to_string())?;
    let per_thread = setup(&tasks, args)?;

    let barrier = Barrier::new(threads + 1);
    let results: Mutex<Vec<Result<Tally, String>>> = Mutex::new(Vec::new());
    // The scope returns once every thread is done; the clock starts when all are ready.
    let (started, started_unix_ms) = std::thread::scope(|s| {
        for (t, pairs) in per_thread.into_iter().enumerate() {
            let (library, tasks, acks, barrier, results) =
                (&library, &tasks, &acks, &barrier, &results);
            let mode = args.mode;
            let seed = args.seed;
            #[expect(
                clippy::expect_used,
                reason = "a load that cannot start its threads has nothing to measure"
            )]
            std::thread::Builder::new()
                .name(format!("shelfmark-load-{t}"))
                .spawn_scoped(s, move || {
                    let saver = Saver::new(tasks, t as u64 + 1);
                    let mut rng = fastrand::Rng::with_seed(seed.wrapping_mul(1000) + t as u64);
                    barrier.wait();
                    let tally = work(library, &saver, mode, pairs, &mut rng, acks);
                    results.lock().push(tally);
                })
                .expect("spawning a load thread");
        }
        barrier.wait();
        (Instant::now(), now_unix_ms())
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut total = Tally::default();
    for r in results.into_inner() {
        total.merge(r?);
    }
    let mut summary = total.summary;
    args.mode.name().clone_into(&mut summary.mode);
    summary.threads = threads;
    summary.pairs = args.pairs;
    summary.seed = args.seed;
    summary.seconds = (seconds * 1000.0).round() / 1000.0;
    summary.saves_per_s = (summary.requests as f64 / seconds).round();
    summary.latency = percentiles(&mut total.latencies.clone());
    summary.started_unix_ms = started_unix_ms;
    summary.ended_unix_ms = now_unix_ms();
    if let Some(p) = &args.latency_log {
        let mut text = String::new();
        for d in &total.latencies {
            let _ = writeln!(text, "{}", d.as_micros());
        }
        std::fs::write(p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    for f in total.failures.iter().take(5) {
        eprintln!("shelfmark load: {f}");
    }
    println!(
        "{}",
        serde_json::to_string(&summary).map_err(|e| e.to_string())?
    );
    Ok(if summary.failed == 0 && summary.invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn load_isbns_are_valid() {
        for seed in [0, 1, 42, 999_999_999_999] {
            let isbn = super::load_isbn(seed);
            assert_eq!(
                shelfmark::model::isbn::parse(&isbn).as_deref(),
                Ok(isbn.as_str())
            );
        }
    }
}
