//! `hold-write-lock`: holds the library file's write lock as another program might, so tests
//! and people can see how Shelfmark waits.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use shelfmark::db::Durability;

#[derive(Clone, Debug, clap::Args)]
pub struct HoldArgs {
    /// How long to hold the lock.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Also change the file (a row written and removed again), so other processes see a
    /// commit.
    #[arg(long)]
    touch: bool,
}

fn unix_micros() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default()
}

/// Holds `BEGIN IMMEDIATE` on the library for the given time, as another program might.
pub fn hold(path: &Path, args: &HoldArgs) -> super::Result<ExitCode> {
    drop(super::open(path, Durability::Full, 2)?); // refuse what Shelfmark would refuse
    let err = |e: rusqlite::Error| format!("{}: {e}", path.display());
    let conn = rusqlite::Connection::open(path).map_err(err)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
    conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
    if args.touch {
        conn.execute_batch(
            "INSERT INTO collections (name, name_key, created_at, updated_at)
                 VALUES ('lock probe', ' lock probe', '', '');
             DELETE FROM collections WHERE name_key = ' lock probe';",
        )
        .map_err(err)?;
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "locked {}", unix_micros());
    let _ = out.flush();
    std::thread::sleep(Duration::from_secs_f64(args.seconds.max(0.0)));
    conn.execute_batch("COMMIT").map_err(err)?;
    let _ = writeln!(out, "released {}", unix_micros());
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}
