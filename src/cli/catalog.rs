//! `import`, `export` and `backup` on the command line.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use super::{CliError, Target, open};
use crate::model::count;
use crate::tasks::{ChangeFeed, SaveTasks};
use crate::transfer::{self, Imported};

pub(super) fn import(
    target: &Target,
    file: &Path,
    skip_invalid: bool,
) -> Result<ExitCode, CliError> {
    let read_started = Instant::now();
    let prepared = transfer::prepare_import(file)?;
    let read_seconds = read_started.elapsed().as_secs_f64();
    for e in &prepared.errors {
        eprintln!("{}:{}: {}", file.display(), e.line, e.with_title());
    }
    if !prepared.errors.is_empty() && !skip_invalid {
        return Err(CliError::Refused(format!(
            "{} bad line(s) in {}; nothing was imported (fix them, or use --skip-invalid to import the good lines)",
            prepared.errors.len(),
            file.display()
        )));
    }
    let library = open(target, 3)?;
    let tasks = SaveTasks::start(&library, ChangeFeed::new()).map_err(CliError::Start)?;
    let started = Instant::now();
    let rows = prepared.job.rows.len();
    let outcome = transfer::run_import(&tasks, &prepared.job, |done, total| {
        eprintln!("importing: {done} of {total} rows");
    })?;
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Imported::Done(s) => {
            println!(
                "imported {rows} rows (read and checked in {read_seconds:.2} s, written in {seconds:.2} s: {:.0} rows/s in all): created {}, {}, {}, {}; {} already there{}",
                rows as f64 / (seconds + read_seconds).max(1e-9),
                count(s.books_created, "book", "books"),
                count(s.copies_created, "copy", "copies"),
                count(s.collections_created, "collection", "collections"),
                count(s.placements_created, "placement", "placements"),
                if s.placements_matched == 1 {
                    "1 placement was".to_owned()
                } else {
                    format!("{} placements were", s.placements_matched)
                },
                if prepared.errors.is_empty() {
                    String::new()
                } else {
                    format!("; skipped {} bad line(s)", prepared.errors.len())
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Imported::Refused(why) => Err(CliError::Refused(format!("nothing was imported: {why}"))),
    }
}

pub(super) fn export(
    target: &Target,
    collection: Option<&str>,
    file: &Path,
    excel: bool,
) -> Result<ExitCode, CliError> {
    let library = open(target, 2)?;
    let mut reads = library.reads()?;
    let collection = collection
        .map(|name| transfer::collection_by_name(&mut *reads, name))
        .transpose()?;
    let started = Instant::now();
    let n = transfer::export(&mut *reads, collection, file, excel)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "exported {n} rows to {} in {seconds:.2} s ({:.0} rows/s)",
        file.display(),
        n as f64 / seconds.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn backup(target: &Target, out: &Path) -> Result<ExitCode, CliError> {
    let library = open(target, 2)?;
    let started = Instant::now();
    let report = transfer::backup(&library, out)?;
    println!(
        "backed up {} to {} in {:.2} s; the copy passed its check:\n{report}",
        target.location,
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
