//! `shelfmark-bench bench`: save throughput and latency of the three `load` workloads, run as separate
//! `load` processes, against two raw baselines measured in the same run on the same disk (one
//! connection, one INSERT per transaction, no executor): `raw_full` (synchronous=FULL) and
//! `raw_normal` (synchronous=NORMAL). Ratios to the baseline of the same durability make figures
//! comparable between noisy, shared machines.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use super::load::{LoadSummary, Mode};
use super::stats::percentiles;
use shelfmark::db::Durability;

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
    ratio: f64,
    check: &'static str,
}

/// One connection, one INSERT per transaction: what SQLite does without Shelfmark.
fn raw_baseline(dir: &Path, durability: Durability, saves: usize) -> Result<f64, String> {
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
    let now = shelfmark::model::Stamp::now().to_sql();
    {
        let tx = conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO books (title, created_at, updated_at) VALUES ('Raw', ?1, ?1)",
            [&now],
        )
        .map_err(err)?;
        tx.execute(
            "INSERT INTO collections (name, name_key, created_at, updated_at) VALUES ('Raw', 'raw', ?1, ?1)",
            [&now],
        )
        .map_err(err)?;
        for i in 0..saves {
            tx.execute(
                "INSERT INTO copies (book_id, barcode, created_at, updated_at) VALUES (1, ?1, ?2, ?2)",
                params![format!("R{i}"), now],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
    }
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

/// Runs one workload as `processes` separate `load` processes on a fresh file.
fn workload(
    dir: &Path,
    mode: Mode,
    durability: Durability,
    args: &BenchArgs,
) -> Result<(LoadSummary, f64, Vec<Duration>, bool), String> {
    let file = dir.join(format!("{}-{}.sqlite3", mode.name(), durability.name()));
    drop(super::open(&file, durability, 2)?);
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
    let healthy = super::open(&file, durability, 2)?
        .reads()
        .and_then(|mut r| r.check())
        .map_err(|e| super::words(&e))?
        .is_ok();
    Ok((total, seconds, latencies, healthy))
}

pub fn run(library: &Path, durability: Durability, args: &BenchArgs) -> Result<ExitCode, String> {
    let parent = library
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let scratch = tempfile::Builder::new()
        .prefix("shelfmark-bench-")
        .tempdir_in(parent)
        .map_err(|e| format!("cannot make a scratch folder in {}: {e}", parent.display()))?;
    let dir = scratch.path();
    let raw_full = raw_baseline(dir, Durability::Full, args.raw_saves)?;
    let raw_normal = raw_baseline(dir, Durability::Normal, args.raw_saves)?;
    if !args.json {
        println!(
            "raw baselines (1 connection, 1 INSERT per transaction): full {raw_full:.0} saves/s, normal {raw_normal:.0} saves/s"
        );
        println!(
            "{:<11} {:>5} {:>7} {:>9} {:>8} {:>10} {:>8} {:>8} {:>8} {:>7} {:>6} {:>6}",
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
            "failed",
            "check"
        );
    }
    let mut all_ok = true;
    for mode in [Mode::Distinct, Mode::Contention, Mode::Softdelete] {
        let (total, seconds, mut latencies, healthy) = workload(dir, mode, durability, args)?;
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
            durability: durability.name(),
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
            ratio: (saves_per_s / baseline * 100.0).round() / 100.0,
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
                "{:<11} {:>5} {:>7} {:>9} {:>8} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7.2} {:>6} {:>6}",
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
                row.failed,
                row.check
            );
        }
    }
    if args.keep {
        println!("scratch files kept in {}", scratch.keep().display());
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
