//! MARC 21 at scale: generates a file of LoC-style bibliographic records (realistic 245, 100,
//! 020, 260/264, 650 and 500 fields, about 1 KB each, some in MARC-8), imports it into the
//! library (which should be new: `--db` names a file that is created), then exports the
//! library as MARC. Prints one JSON object: records/s for the import (read, check, write: one
//! pass), for reading and checking alone, and for the export; and the process's peak RSS.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use shelfmark::db::{Durability, Location};
use shelfmark::tasks::{ChangeFeed, SaveTasks};
use shelfmark::transfer::{self, Imported, records::MarcFormat};

use super::{Result, open_at, words};

#[derive(Debug, clap::Args)]
pub struct MarcArgs {
    /// Records to generate.
    #[arg(long, default_value_t = 250_000)]
    records: u64,
    /// Where to write the generated file (kept); default: a temporary file.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Seed of the generator.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

pub fn run(location: &Location, durability: Durability, a: &MarcArgs) -> Result<ExitCode> {
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = a
        .file
        .clone()
        .unwrap_or_else(|| scratch.path().join("records.mrc"));
    let t = Instant::now();
    let out = std::fs::File::create(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut out = std::io::BufWriter::new(out);
    let stats = transfer::marc::generate(&mut out, a.records, a.seed).map_err(|e| e.to_string())?;
    std::io::Write::flush(&mut out).map_err(|e| e.to_string())?;
    drop(out);
    let generate_s = t.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();

    let library = open_at(location, durability, 3)?;
    let tasks = SaveTasks::start(&library, ChangeFeed::new()).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let prepared = transfer::prepare_import(&file, &transfer::ImportChoice::default())
        .map_err(|e| words(&e))?;
    let summary =
        match transfer::run_import(&tasks, &prepared.job, |_, _| {}).map_err(|e| words(&e))? {
            Imported::Done(s) => s,
            Imported::Refused(why) => return Err(format!("import refused: {why}")),
        };
    let import_s = t.elapsed().as_secs_f64();
    // Reading, mapping and checking alone (the import does it on a thread of its own while
    // the writer applies the rows), for where the time goes.
    let t = Instant::now();
    let reread = prepared.job.rows().flatten().count();
    let reading_s = t.elapsed().as_secs_f64();
    if reread != summary.rows {
        return Err(format!(
            "reading gave {reread} rows, the import {}",
            summary.rows
        ));
    }
    drop(prepared);
    drop(tasks);
    let mut reads = library.reads().map_err(|e| words(&e))?;
    let t = Instant::now();
    let exported = transfer::export_marc(
        &mut *reads,
        None,
        &scratch.path().join("export.mrc"),
        MarcFormat::Iso2709,
        transfer::marc::HoldingTag::Koha952,
    )
    .map_err(|e| words(&e))?;
    let export_s = t.elapsed().as_secs_f64();
    let n = a.records as f64;
    let figures = serde_json::json!({
        "figure": "marc",
        "records": a.records,
        "file_mb": (bytes as f64 / 1e6 * 10.0).round() / 10.0,
        "bytes_per_record": (bytes as f64 / n).round(),
        "marc8_records": stats.marc8_records,
        "with_holdings": stats.with_holdings,
        "generate_s": (generate_s * 100.0).round() / 100.0,
        "import_rows": summary.rows,
        "books_created": summary.books_created,
        "read_records_per_s": (n / reading_s).round(),
        "import_records_per_s": (n / import_s).round(),
        "exported_records": exported,
        "export_records_per_s": (exported as f64 / export_s).round(),
        "peak_rss_mb": super::scale::peak_rss_mb().unwrap_or(0.0).round(),
    });
    println!("{figures}");
    Ok(ExitCode::SUCCESS)
}
