//! `shelfmark-bench bench`: save throughput and latency of the three `load` workloads, run as separate
//! `load` processes, against raw baselines measured in the same run on the same disk or server
//! (one connection, one INSERT per transaction, no executor). On a file: `raw_full`
//! (synchronous=FULL) and `raw_normal` (synchronous=NORMAL). On a server: `raw_full` with
//! `synchronous_commit = on` (`raw_normal` is not measured there). Ratios to the baseline of the
//! same durability make figures comparable between noisy, shared machines.
//!
//! Every workload runs on a scratch library of its own: files in a scratch folder beside the
//! library, or scratch databases made on the server (the role needs CREATEDB) and dropped after.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use super::load::{LoadSummary, Mode};
use super::stats::percentiles;
use shelfmark::db::{Durability, Location, ServerAddress};

#[derive(Clone, Debug, clap::Args)]
pub struct BenchArgs {
    /// `load` processes per workload.
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// Saving threads per process.
    #[arg(long, default_value_t = 16)]
    pub threads: usize,
    /// Pairs per workload (per thread for `distinct`, shared otherwise).
    #[arg(long, default_value_t = 400)]
    pub pairs: usize,
    /// Raw-baseline inserts per durability.
    #[arg(long, default_value_t = 3000)]
    pub raw_saves: usize,
    /// Print one JSON object per line and workload.
    #[arg(long)]
    pub json: bool,
    /// Keep the scratch folder (for looking at the files afterwards).
    #[arg(long)]
    pub keep: bool,
    /// Run each workload on a copy of this library file (a big library, say) instead of an
    /// empty one; the copy is made beside `--db` and removed after.
    #[arg(long, value_name = "FILE")]
    pub on_copy_of: Option<PathBuf>,
}

#[derive(Debug, serde::Serialize)]
struct Row {
    workload: &'static str,
    processes: usize,
    threads: usize,
    durability: &'static str,
    requests: u64,
    saved: u64,
    conflicts: u64,
    failed: u64,
    waited: u64,
    seconds: f64,
    saves_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    raw_full_saves_per_s: f64,
    raw_normal_saves_per_s: f64,
    /// One connection, every save in one transaction, each in its own savepoint with the
    /// parent checks (files only): the CPU cost of a save with no executor around it.
    raw_batch_saves_per_s: f64,
    ratio: f64,
    ratio_to_raw_batch: f64,
    check: &'static str,
}

/// The parents of a raw baseline's `saves` placements, in one transaction: a book, a
/// collection, and a copy per save (copy ids 1..=saves). Returns the stamp they carry.
fn raw_parents(conn: &mut Connection, saves: usize) -> rusqlite::Result<String> {
    let now = shelfmark::model::Stamp::now().to_sql();
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO books (title, title_key, created_at, updated_at) VALUES ('Raw', 'raw', ?1, ?1)",
        [&now],
    )?;
    tx.execute(
        "INSERT INTO collections (name, name_key, created_at, updated_at) VALUES ('Raw', 'raw', ?1, ?1)",
        [&now],
    )?;
    for i in 0..saves {
        tx.execute(
            "INSERT INTO copies (book_id, barcode, created_at, updated_at) VALUES (1, ?1, ?2, ?2)",
            params![format!("R{i}"), now],
        )?;
    }
    tx.commit()?;
    Ok(now)
}

/// One connection, one INSERT per transaction: what SQLite does without Shelfmark.
fn raw_file_baseline(dir: &Path, durability: Durability, saves: usize) -> Result<f64, String> {
    let path = dir.join(format!("raw-{}.sqlite3", durability.name()));
    let library = super::open(&path, durability, 2)?;
    drop(library); // schema is in place; the baseline uses a plain connection
    let err = |e: rusqlite::Error| format!("raw baseline: {e}");
    let mut conn = Connection::open(&path).map_err(err)?;
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = {};",
        match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    ))
    .map_err(err)?;
    let now = raw_parents(&mut conn, saves).map_err(err)?;
    let started = Instant::now();
    for i in 0..saves {
        conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
        conn.prepare_cached(
            "INSERT INTO placements (copy_id, collection_id, shelf_mark, note, created_at, updated_at)
             VALUES (?1, 1, '', '', ?2, ?2)",
        )
        .map_err(err)?
        .execute(params![i as i64 + 1, now])
        .map_err(err)?;
        conn.execute_batch("COMMIT").map_err(err)?;
    }
    Ok((saves as f64 / started.elapsed().as_secs_f64()).round())
}

/// One connection with its statements prepared, every save of the run in one `BEGIN IMMEDIATE`
/// transaction, each in its own SAVEPOINT with the parent checks a save makes (the copy and the
/// collection live, no live placement of the pair yet), `synchronous=FULL`: the cost of a save
/// with no executor, no thread and no commit of its own around it.
fn raw_batch_baseline(dir: &Path, saves: usize) -> Result<f64, String> {
    let path = dir.join("raw-batch.sqlite3");
    drop(super::open(&path, Durability::Full, 2)?);
    let err = |e: rusqlite::Error| format!("raw batch baseline: {e}");
    let mut conn = Connection::open(&path).map_err(err)?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
        .map_err(err)?;
    let now = raw_parents(&mut conn, saves).map_err(err)?;
    let started = Instant::now();
    conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
    for i in 0..saves {
        let copy = i as i64 + 1;
        conn.prepare_cached("SAVEPOINT save")
            .and_then(|mut s| s.execute([]))
            .map_err(err)?;
        let live_copy: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM copies WHERE id = ?1 AND deleted_at IS NULL)",
            )
            .and_then(|mut s| s.query_row([copy], |r| r.get(0)))
            .map_err(err)?;
        let live_collection: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM collections WHERE id = 1 AND deleted_at IS NULL)",
            )
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(err)?;
        let placed: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM placements
                 WHERE copy_id = ?1 AND collection_id = 1 AND deleted_at IS NULL)",
            )
            .and_then(|mut s| s.query_row([copy], |r| r.get(0)))
            .map_err(err)?;
        if !live_copy || !live_collection || placed {
            return Err(format!("raw batch baseline: copy {copy} cannot be placed"));
        }
        conn.prepare_cached(
            "INSERT INTO placements (copy_id, collection_id, shelf_mark, shelf_key, note,
                                     created_at, updated_at, updated_by, title_key, copy_barcode)
             VALUES (?1, 1, '', '', '', ?2, ?2, 'raw',
                     (SELECT b.title_key FROM copies c JOIN books b ON b.id = c.book_id
                      WHERE c.id = ?1),
                     (SELECT barcode FROM copies WHERE id = ?1))",
        )
        .and_then(|mut s| s.execute(params![copy, now]))
        .map_err(err)?;
        conn.prepare_cached("RELEASE save")
            .and_then(|mut s| s.execute([]))
            .map_err(err)?;
    }
    conn.execute_batch("COMMIT").map_err(err)?;
    Ok((saves as f64 / started.elapsed().as_secs_f64()).round())
}

/// Runs one workload as `processes` separate `load` processes on a fresh library.
fn workload(
    site: &mut Site,
    mode: Mode,
    durability: Durability,
    args: &BenchArgs,
) -> Result<(LoadSummary, f64, Vec<Duration>, bool), String> {
    let location = match &args.on_copy_of {
        Some(source) => site.fresh_copy_of(mode.name(), durability, source)?,
        None => site.fresh(mode.name(), durability)?,
    };
    let dir = site.dir().to_path_buf();
    let dir = dir.as_path();
    let file = location.to_string();
    let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    let mut children = Vec::new();
    for p in 0..args.processes {
        let seed = if mode == Mode::Distinct {
            p as u64 + 1
        } else {
            1
        };
        let lat: PathBuf = dir.join(format!("lat-{}-{p}.txt", mode.name()));
        let child = Command::new(&exe)
            .arg("--db")
            .arg(&file)
            .args([
                "--durability",
                durability.name(),
                "load",
                "--mode",
                mode.name(),
            ])
            .args(["--threads", &args.threads.to_string()])
            .args(["--pairs", &args.pairs.to_string()])
            .args(["--seed", &seed.to_string()])
            .arg("--latency-log")
            .arg(&lat)
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start a load process: {e}"))?;
        children.push((child, lat));
    }
    let mut total = LoadSummary::default();
    let (mut first, mut last) = (u128::MAX, 0u128);
    let mut latencies = Vec::new();
    for (child, lat) in children {
        let out = child
            .wait_with_output()
            .map_err(|e| format!("load process: {e}"))?;
        let line = out
            .stdout
            .lines()
            .map_while(Result::ok)
            .last()
            .unwrap_or_default();
        let s: LoadSummary = serde_json::from_str(&line)
            .map_err(|e| format!("load process printed {line:?}: {e}"))?;
        total.requests += s.requests;
        total.saved += s.saved;
        total.conflicts += s.conflicts;
        total.failed += s.failed + s.invalid;
        total.waited += s.waited;
        first = first.min(s.started_unix_ms);
        last = last.max(s.ended_unix_ms);
        let text = std::fs::read_to_string(&lat).map_err(|e| format!("{}: {e}", lat.display()))?;
        latencies.extend(
            text.lines()
                .filter_map(|l| l.parse::<u64>().ok())
                .map(Duration::from_micros),
        );
    }
    let seconds = last.saturating_sub(first) as f64 / 1000.0;
    let healthy = super::open_at(&location, durability, 2)?
        .reads()
        .and_then(|mut r| r.check())
        .map_err(|e| super::words(&e))?
        .is_ok();
    if let (Some(_), Location::File(copy)) = (&args.on_copy_of, &location) {
        // A copy of a big library is gigabytes: one at a time.
        for suffix in ["", "-wal", "-shm"] {
            let mut f = copy.as_os_str().to_owned();
            f.push(suffix);
            let _ = std::fs::remove_file(f);
        }
    }
    Ok((total, seconds, latencies, healthy))
}

pub fn run(
    library: &Location,
    durability: Durability,
    args: &BenchArgs,
) -> Result<ExitCode, String> {
    let mut site = Site::new(library)?;
    let raw_full = site.raw(Durability::Full, args.raw_saves)?;
    let (raw_normal, raw_batch) = match &site {
        Site::Files(dir) => {
            let batch = raw_batch_baseline(dir.path(), args.raw_saves * 10)?;
            (site.raw(Durability::Normal, args.raw_saves)?, batch)
        }
        Site::Server { .. } => (0.0, 0.0),
    };
    if !args.json {
        println!(
            "raw baselines (1 connection, 1 INSERT per transaction): full {raw_full:.0} saves/s, normal {raw_normal:.0} saves/s"
        );
        println!(
            "raw_batch (1 connection, every save in one transaction, a savepoint and the parent checks each): {raw_batch:.0} saves/s"
        );
        if let Some(source) = &args.on_copy_of {
            println!("each workload on a copy of {}", source.display());
        }
        println!(
            "{:<11} {:>5} {:>7} {:>9} {:>8} {:>10} {:>8} {:>8} {:>8} {:>7} {:>7} {:>6} {:>6}",
            "workload",
            "procs",
            "threads",
            "durability",
            "requests",
            "saves/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "ratio",
            "÷batch",
            "failed",
            "check"
        );
    }
    let mut all_ok = true;
    for mode in [Mode::Distinct, Mode::Contention, Mode::Softdelete] {
        let (total, seconds, mut latencies, healthy) = workload(&mut site, mode, durability, args)?;
        let p = percentiles(&mut latencies);
        let saves_per_s = (total.requests as f64 / seconds.max(0.001)).round();
        let baseline = match durability {
            Durability::Full => raw_full,
            Durability::Normal => raw_normal,
        };
        let row = Row {
            workload: mode.name(),
            processes: args.processes,
            threads: args.threads,
            durability: site.durability(durability),
            requests: total.requests,
            saved: total.saved,
            conflicts: total.conflicts,
            failed: total.failed,
            waited: total.waited,
            seconds,
            saves_per_s,
            p50_ms: p.p50_ms,
            p99_ms: p.p99_ms,
            max_ms: p.max_ms,
            raw_full_saves_per_s: raw_full,
            raw_normal_saves_per_s: raw_normal,
            raw_batch_saves_per_s: raw_batch,
            ratio: (saves_per_s / baseline * 100.0).round() / 100.0,
            ratio_to_raw_batch: if raw_batch > 0.0 {
                (saves_per_s / raw_batch * 100.0).round() / 100.0
            } else {
                0.0
            },
            check: if healthy { "ok" } else { "FAILED" },
        };
        all_ok &= healthy && total.failed == 0;
        if args.json {
            println!(
                "{}",
                serde_json::to_string(&row).map_err(|e| e.to_string())?
            );
        } else {
            println!(
                "{:<11} {:>5} {:>7} {:>9} {:>8} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7.2} {:>7.2} {:>6} {:>6}",
                row.workload,
                row.processes,
                row.threads,
                row.durability,
                row.requests,
                row.saves_per_s,
                row.p50_ms,
                row.p99_ms,
                row.max_ms,
                row.ratio,
                row.ratio_to_raw_batch,
                row.failed,
                row.check
            );
        }
    }
    site.finish(args.keep);
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Where the scratch libraries of a run live.
pub(crate) enum Site {
    Files(tempfile::TempDir),
    Server {
        address: ServerAddress,
        password: Option<String>,
        /// For latency logs and the like.
        dir: tempfile::TempDir,
        /// Scratch databases made so far (dropped at the end).
        made: Vec<String>,
    },
}

impl Site {
    pub(crate) fn new(library: &Location) -> Result<Site, String> {
        Ok(match library {
            Location::File(path) => {
                let parent = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                Site::Files(
                    tempfile::Builder::new()
                        .prefix("shelfmark-bench-")
                        .tempdir_in(parent)
                        .map_err(|e| {
                            format!("cannot make a scratch folder in {}: {e}", parent.display())
                        })?,
                )
            }
            Location::Server(address) => Site::Server {
                address: address.clone(),
                password: address.stored_password(),
                dir: tempfile::tempdir().map_err(|e| format!("scratch folder: {e}"))?,
                made: Vec::new(),
            },
        })
    }

    fn dir(&self) -> &Path {
        match self {
            Site::Files(d) | Site::Server { dir: d, .. } => d.path(),
        }
    }

    fn durability(&self, durability: Durability) -> &'static str {
        match self {
            Site::Files(_) => durability.name(),
            Site::Server { .. } => "server",
        }
    }

    /// A plain client to the server's maintenance connection (the library's own database).
    fn admin(
        address: &ServerAddress,
        password: Option<&str>,
        db: &str,
    ) -> Result<postgres::Client, String> {
        let mut c = postgres::Config::new();
        c.host(&address.host)
            .port(address.port)
            .user(&address.user)
            .dbname(db)
            .application_name("shelfmark-bench");
        if let Some(p) = password {
            c.password(p);
        }
        c.connect(postgres::NoTls)
            .map_err(|e| format!("{}: {}", address.display_name(), shelfmark::db::chain(&e)))
    }

    /// A fresh, set-up library for one workload.
    pub(crate) fn fresh(&mut self, name: &str, durability: Durability) -> Result<Location, String> {
        match self {
            Site::Files(dir) => {
                let path = dir
                    .path()
                    .join(format!("{name}-{}.sqlite3", durability.name()));
                drop(super::open(&path, durability, 2)?);
                Ok(Location::File(path))
            }
            Site::Server {
                address,
                password,
                made,
                ..
            } => {
                let db = format!("shelfmark_bench_{}_{}", std::process::id(), made.len());
                let mut admin = Site::admin(address, password.as_deref(), &address.database)?;
                admin
                    .batch_execute(&format!("CREATE DATABASE {db}"))
                    .map_err(|e| format!("cannot make a scratch database (needs CREATEDB): {e}"))?;
                made.push(db.clone());
                let scratch = ServerAddress {
                    database: db,
                    ..address.clone()
                };
                shelfmark::db::Library::open_server(
                    &scratch,
                    password.as_deref(),
                    &shelfmark::db::OpenOptions {
                        set_up: true,
                        pool_size: 2,
                        ..shelfmark::db::OpenOptions::default()
                    },
                )
                .map_err(|e| shelfmark::db::chain(&e))?;
                Ok(Location::Server(scratch))
            }
        }
    }

    /// A copy of the library file `source` for one workload (brought up to this build's
    /// schema).
    fn fresh_copy_of(
        &mut self,
        name: &str,
        durability: Durability,
        source: &Path,
    ) -> Result<Location, String> {
        let Site::Files(dir) = self else {
            return Err("--on-copy-of copies a library file; give --db a file path".into());
        };
        let path = dir
            .path()
            .join(format!("{name}-{}-copy.sqlite3", durability.name()));
        let mut wal = source.as_os_str().to_owned();
        wal.push("-wal");
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
            return Err(format!(
                "{} has a write-ahead log with changes in it; open and close it with Shelfmark first",
                source.display()
            ));
        }
        std::fs::copy(source, &path)
            .map_err(|e| format!("cannot copy {}: {e}", source.display()))?;
        // Written out before the clock starts: else the workload's first commit waits for
        // gigabytes of the copy to reach the disk.
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("cannot write out the copy of {}: {e}", source.display()))?;
        drop(super::open(&path, durability, 2)?);
        Ok(Location::File(path))
    }

    /// The raw baseline of this site.
    fn raw(&mut self, durability: Durability, saves: usize) -> Result<f64, String> {
        match self {
            Site::Files(dir) => raw_file_baseline(dir.path(), durability, saves),
            Site::Server { .. } => {
                let Location::Server(scratch) = self.fresh("raw", durability)? else {
                    unreachable!("a server site makes server libraries")
                };
                let Site::Server { password, .. } = self else {
                    unreachable!()
                };
                raw_server_baseline(&scratch, password.as_deref(), saves)
            }
        }
    }

    /// Drops the scratch databases (unless kept) and says where the rest is.
    pub(crate) fn finish(self, keep: bool) {
        match self {
            Site::Files(dir) => {
                if keep {
                    println!("scratch files kept in {}", dir.keep().display());
                }
            }
            Site::Server {
                address,
                password,
                made,
                ..
            } => {
                if keep {
                    println!("scratch databases kept: {}", made.join(", "));
                    return;
                }
                if let Ok(mut admin) = Site::admin(&address, password.as_deref(), &address.database)
                {
                    for db in made {
                        let _ = admin
                            .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
                    }
                }
            }
        }
    }
}

/// One connection, one INSERT per transaction (autocommit, `synchronous_commit = on`): what the
/// server does without Shelfmark.
fn raw_server_baseline(
    address: &ServerAddress,
    password: Option<&str>,
    saves: usize,
) -> Result<f64, String> {
    let err = |e: postgres::Error| format!("raw baseline: {e}");
    let mut c = Site::admin(address, password, &address.database)?;
    c.batch_execute("SET synchronous_commit = on")
        .map_err(err)?;
    c.batch_execute(
        "INSERT INTO books (title, created_at, updated_at) VALUES ('Raw', now(), now());
         INSERT INTO collections (name, name_key, created_at, updated_at)
         VALUES ('Raw', 'raw', now(), now());",
    )
    .map_err(err)?;
    let n = saves as i64;
    c.execute(
        "INSERT INTO copies (book_id, barcode, created_at, updated_at)
         SELECT 1, 'R' || g, now(), now() FROM generate_series(1, $1::bigint) g",
        &[&n],
    )
    .map_err(err)?;
    let insert = c
        .prepare(
            "INSERT INTO placements (copy_id, collection_id, shelf_mark, note, created_at, updated_at)
             VALUES ($1, 1, '', '', now(), now())",
        )
        .map_err(err)?;
    let started = Instant::now();
    for i in 0..n {
        c.execute(&insert, &[&(i + 1)]).map_err(err)?;
    }
    Ok((saves as f64 / started.elapsed().as_secs_f64()).round())
}
