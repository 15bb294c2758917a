//! `import`, `export` and `backup` on the command line.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use super::{CliError, Target, open};
use crate::model::count;
use crate::tasks::{ChangeFeed, SaveTasks};
use crate::transfer::{self, Imported};

/// Prints bad lines as `file:line: message` and bad records as `file: record N (byte X): …`.
fn report(file: &Path, errors: &[transfer::csv::LineError]) {
    for e in errors {
        match e.offset {
            Some(_) => eprintln!("{}: {e}", file.display()),
            None => eprintln!("{}:{}: {}", file.display(), e.line, e.with_title()),
        }
    }
}

pub(super) fn import(
    target: &Target,
    file: &Path,
    choice: &transfer::ImportChoice,
    skip_invalid: bool,
) -> Result<ExitCode, CliError> {
    let read_started = Instant::now();
    let prepared = transfer::prepare_import(file, choice)?;
    let read_seconds = read_started.elapsed().as_secs_f64();
    // A MARC file's records are read as they are imported: its bad ones are known after.
    let marc = prepared.found.is_some();
    let unit = if marc { "record" } else { "line" };
    report(file, &prepared.errors);
    let refused = |n: usize| {
        CliError::Refused(format!(
            "{n} bad {unit}(s) in {} ({}); nothing was imported (fix them, or use --skip-invalid to import the good {unit}s)",
            file.display(),
            prepared.kind,
        ))
    };
    if !prepared.errors.is_empty() && !skip_invalid {
        return Err(refused(prepared.errors.len()));
    }
    let library = open(target, 3)?;
    let tasks = SaveTasks::start(&library, ChangeFeed::new()).map_err(CliError::Start)?;
    let started = Instant::now();
    let outcome = transfer::run_import(&tasks, &prepared.job, |done, total| match total {
        Some(total) => eprintln!("importing: {done} of {total} rows"),
        None => eprintln!("importing: {done} rows"),
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let found = prepared
        .found
        .as_ref()
        .map(|f| f.lock().clone())
        .unwrap_or_default();
    report(file, &found);
    let skipped = prepared.errors.len() + found.len();
    match outcome {
        Imported::Done(s) => {
            let rows = s.rows;
            let timing = if marc {
                format!("read, checked and written in {seconds:.2} s")
            } else {
                format!("read and checked in {read_seconds:.2} s, written in {seconds:.2} s")
            };
            println!(
                "imported {rows} rows from a {} ({timing}: {:.0} rows/s in all): created {}, {}, {}, {}; {} already there{}{}",
                prepared.kind,
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
                if skipped == 0 {
                    String::new()
                } else {
                    format!("; skipped {skipped} bad {unit}(s)")
                },
                if s.books_updated == 0 {
                    String::new()
                } else {
                    format!(
                        "; {} updated from their records",
                        count(s.books_updated, "book", "books")
                    )
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Imported::Refused(_) if !found.is_empty() => Err(refused(found.len())),
        Imported::Refused(why) => Err(CliError::Refused(format!("nothing was imported: {why}"))),
    }
}

/// What an export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The spreadsheet layout the import reads.
    Csv,
    /// MARC 21 in ISO 2709 (UTF-8), one record per book, its copies as holdings.
    Marc,
    /// MARC 21 in MARCXML.
    Marcxml,
}

/// Which field carries the copies in a MARC export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HoldingsField {
    /// Koha's 952 ($p barcode, $o call number, $a/$b branch).
    #[value(name = "952")]
    Koha,
    /// MARC 852 ($p barcode, $h call number, $b location).
    #[value(name = "852")]
    Marc,
}

pub(super) fn export(
    target: &Target,
    collection: Option<&str>,
    file: &Path,
    excel: bool,
    format: ExportFormat,
    holdings: HoldingsField,
) -> Result<ExitCode, CliError> {
    let library = open(target, 2)?;
    let mut reads = library.reads()?;
    let collection = collection
        .map(|name| {
            transfer::collection_by_name(&mut *reads, name)?;
            let found = reads
                .live_collection_by_name(name)
                .map_err(transfer::TransferError::Library)?;
            Ok::<_, transfer::TransferError>(found.map(|c| (c.id, c.name)))
        })
        .transpose()?
        .flatten();
    let started = Instant::now();
    let (n, what) = match format {
        ExportFormat::Csv => (
            transfer::export(&mut *reads, collection.as_ref().map(|c| c.0), file, excel)?,
            "rows",
        ),
        ExportFormat::Marc | ExportFormat::Marcxml => {
            let serial = if format == ExportFormat::Marc {
                transfer::records::MarcFormat::Iso2709
            } else {
                transfer::records::MarcFormat::MarcXml
            };
            let tag = match holdings {
                HoldingsField::Koha => transfer::marc::HoldingTag::Koha952,
                HoldingsField::Marc => transfer::marc::HoldingTag::Marc852,
            };
            let name = collection.as_ref().map(|c| c.1.as_str());
            (
                transfer::export_marc(&mut *reads, name, file, serial, tag)?,
                "records",
            )
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "exported {n} {what} to {} in {seconds:.2} s ({:.0} {what}/s)",
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
