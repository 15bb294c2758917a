//! `seed` (a generated, realistic catalog) and `bench-catalog` (the catalog at scale: time to
//! first data, search latency, scrolling a huge collection, import and export speed, memory).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shelfmark::db::{Durability, Library, Location, OpenOptions, Reads};
use shelfmark::model::{
    CollectionId, MARK_EVERY, SortKey, Stamp, ValidBook, ValidCollection, ValidCopy,
    ValidPlacement, WindowQuery, WindowStart, isbn, name_key,
};
use shelfmark::tasks::{Pending, Port, ReadResult, Services};
use shelfmark::transfer;
use shelfmark::ui::command::Commands;
use shelfmark::ui::editor::{CollectionEditor, Host};

use super::stats::percentiles;
use super::words;

#[derive(Clone, Debug, clap::Args)]
pub struct SeedArgs {
    #[arg(long, default_value_t = 200_000)]
    pub books: usize,
    #[arg(long, default_value_t = 1_000_000)]
    pub copies: usize,
    #[arg(long, default_value_t = 500)]
    pub collections: usize,
    /// Seeds the generator (same seed, same library).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Clone, Debug, clap::Args)]
pub struct BenchCatalogArgs {
    /// Rows of the generated CSV file whose import is timed.
    #[arg(long, default_value_t = 100_000)]
    pub import_rows: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Measure libraries of these sizes (placements, e.g. `1M,10M`) in one run, each seeded
    /// beside `--db` (a file path: `NAME-1M.sqlite3` …) if it is not there yet, and print one
    /// JSON object per line and figure, with its ratio to the first size's figure.
    #[arg(long, value_delimiter = ',', value_parser = parse_scale)]
    pub scale: Vec<usize>,
    /// Drop the library file's cached pages first (`dd iflag=nocache`, the file and its
    /// `-wal`), and report first data on a cold file cache as well as warm.
    #[arg(long)]
    pub cold: bool,
}

/// `1M`, `10M`, `500k` or a plain number of copies.
fn parse_scale(text: &str) -> Result<usize, String> {
    let t = text.trim().to_ascii_lowercase();
    let (digits, unit) = match t.strip_suffix('m') {
        Some(d) => (d, 1_000_000),
        None => match t.strip_suffix('k') {
            Some(d) => (d, 1_000),
            None => (t.as_str(), 1),
        },
    };
    digits
        .parse::<usize>()
        .map(|n| n * unit)
        .map_err(|_| format!("{text:?} is not a size such as 1M, 10M or 500k"))
}

const WORDS: &[&str] = &[
    "river",
    "history",
    "moon",
    "garden",
    "silent",
    "empire",
    "winter",
    "letters",
    "ocean",
    "stone",
    "memory",
    "light",
    "shadow",
    "city",
    "journey",
    "mountain",
    "house",
    "secret",
    "island",
    "fire",
    "children",
    "night",
    "war",
    "peace",
    "song",
    "road",
    "forest",
    "kingdom",
    "science",
    "mathematics",
    "theory",
    "art",
    "music",
    "language",
    "philosophy",
    "nature",
    "economy",
    "machine",
    "storm",
    "harvest",
    "northern",
    "lost",
    "golden",
    "invisible",
    "question",
    "atlas",
    "chronicle",
    "introduction",
    "principles",
    "dictionary",
    "café",
    "élan",
    "naïve",
    "über",
    "mañana",
    "fjord",
];
const FIRST: &[&str] = &[
    "Anna", "Jorge", "Mei", "Olu", "Sven", "Amara", "Luis", "Hana", "Pierre", "Ngozi", "Ivan",
    "Leila", "Tomás", "Aiko", "Rajesh", "Ingrid", "Kofi", "Elif", "Mateo", "Zofia",
];
const LAST: &[&str] = &[
    "Okafor",
    "García",
    "Lindqvist",
    "Nakamura",
    "Dubois",
    "Kowalski",
    "Haddad",
    "Silva",
    "Müller",
    "Chen",
    "Novak",
    "Adeyemi",
    "Rossi",
    "Petrov",
    "Ibrahim",
    "Márquez",
    "Jensen",
    "Tanaka",
    "O'Brien",
    "Fernández",
];
const PUBLISHERS: &[&str] = &[
    "Penguin",
    "Vintage",
    "Harper",
    "Gallimard",
    "Suhrkamp",
    "MIT Press",
    "Oxford UP",
    "Faber",
    "Anagrama",
    "Iwanami",
    "Knopf",
    "Verso",
];
const KINDS: &[&str] = &[
    "Rare Books",
    "Reference",
    "Children's",
    "Local History",
    "Periodicals",
    "Music Scores",
    "Maps",
    "Young Adult",
    "Languages",
    "Science",
    "Art",
    "Law",
];

/// A deterministic generator of realistic rows.
struct Gen {
    rng: fastrand::Rng,
}

impl Gen {
    fn new(seed: u64) -> Self {
        Gen {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.rng.usize(..list.len())]
    }

    fn title(&mut self) -> String {
        let n = self.rng.usize(1..=4);
        let mut words: Vec<String> = (0..n).map(|_| self.pick(WORDS).to_owned()).collect();
        if let Some(first) = words.first_mut() {
            let mut c = first.chars();
            *first = c
                .next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default();
        }
        if self.rng.u8(..10) == 0 {
            words.insert(0, "The".to_owned());
        }
        words.join(" ")
    }

    fn author(&mut self) -> String {
        format!("{} {}", self.pick(FIRST), self.pick(LAST))
    }

    fn book(&mut self, index: usize, offset: usize) -> ValidBook {
        let isbn = (self.rng.u8(..10) < 7).then(|| {
            let body = format!("9781{:08}", (index + offset) % 100_000_000);
            let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
            format!("{body}{}", isbn::check_digit_13(&digits))
        });
        let authors = if self.rng.u8(..5) == 0 {
            format!("{}; {}", self.author(), self.author())
        } else {
            self.author()
        };
        ValidBook {
            title: self.title(),
            authors,
            isbn,
            publisher: self.pick(PUBLISHERS).to_owned(),
            year: Some(self.rng.i32(1850..=2026)),
            nonfiling: None,
        }
    }

    fn shelf_mark(&mut self) -> String {
        let class = ["QA", "PR", "PS", "PQ", "DA", "HB", "QH", "ML", "N", "K"];
        format!(
            "{}{}.{} .{}{} {}",
            self.pick(&class),
            self.rng.u32(1..9999),
            self.rng.u32(1..99),
            (b'A' + self.rng.u8(..26)) as char,
            self.rng.u32(10..99),
            self.rng.u32(1900..2027)
        )
    }

    fn collection_names(n: usize) -> Vec<String> {
        let mut names = vec!["Main Stacks".to_owned()];
        let mut i = 0;
        while names.len() < n {
            let kind = KINDS[i % KINDS.len()];
            names.push(if i < KINDS.len() {
                kind.to_owned()
            } else {
                format!("{kind} — Branch {}", i / KINDS.len())
            });
            i += 1;
        }
        names.truncate(n);
        names
    }
}

fn barcode(i: usize) -> String {
    format!("3{i:013}")
}

pub fn seed(
    location: &Location,
    durability: Durability,
    args: &SeedArgs,
) -> super::Result<ExitCode> {
    seed_library(location, durability, args)?;
    Ok(ExitCode::SUCCESS)
}

fn seed_library(location: &Location, durability: Durability, args: &SeedArgs) -> super::Result<()> {
    // An empty shared database is set up first, as `shelfmark --db URL init` would.
    let library = Library::open_at(
        location,
        None,
        &OpenOptions {
            durability,
            pool_size: 2,
            set_up: true,
            ..OpenOptions::default()
        },
    )
    .map_err(|e| words(&e))?;
    let started = Instant::now();
    let err = |e: shelfmark::db::DbError| words(&e);
    let mut bulk = library.bulk().map_err(err)?;
    let mut g = Gen::new(args.seed);
    let base = Stamp::now().0.as_second() - 3 * 365 * 86_400;
    let mut tick = 0i64;
    let mut stamp = || {
        tick += 1;
        // Spread over the last three years, in order.
        let t = base + tick * (3 * 365 * 86_400) / (args.copies as i64 * 2 + args.books as i64 + 1);
        Stamp(jiff::Timestamp::from_second(t).unwrap_or(jiff::Timestamp::UNIX_EPOCH))
    };
    let mut collections = Vec::new();
    for name in Gen::collection_names(args.collections.max(1)) {
        let v = ValidCollection {
            name_key: name_key(&name),
            name,
            description: String::new(),
        };
        collections.push(bulk.insert_collection(&v, stamp()).map_err(err)?);
    }
    let mut books = Vec::with_capacity(args.books);
    for i in 0..args.books {
        books.push(bulk.insert_book(&g.book(i, 0), stamp()).map_err(err)?);
        if (i + 1) % 50_000 == 0 {
            eprintln!("seed: {} books", i + 1);
        }
    }
    for i in 0..args.copies {
        // Most books have a few copies; copies go to books in runs, like a real catalog.
        let book = books[(i * books.len() / args.copies.max(1)).min(books.len() - 1)];
        let copy = bulk
            .insert_copy(
                &ValidCopy {
                    book_id: book,
                    barcode: barcode(i),
                },
                stamp(),
            )
            .map_err(err)?;
        // Every copy is in the main stacks; one in twenty is also in a special collection.
        let mut places = vec![collections[0]];
        if collections.len() > 1 && g.rng.u8(..20) == 0 {
            places.push(collections[g.rng.usize(1..collections.len())]);
        }
        for collection in places {
            bulk.insert_placement(
                &ValidPlacement {
                    copy_id: copy,
                    collection_id: collection,
                    shelf_mark: g.shelf_mark(),
                    note: if g.rng.u8(..50) == 0 {
                        "Needs repair".to_owned()
                    } else {
                        String::new()
                    },
                },
                stamp(),
            )
            .map_err(err)?;
        }
        if (i + 1) % 100_000 == 0 {
            eprintln!("seed: {} copies", i + 1);
        }
    }
    eprintln!("seed: indexing for search");
    bulk.finish().map_err(err)?;
    eprintln!(
        "seeded {} books, {} copies, {} collections in {:.1} s",
        args.books,
        args.copies,
        collections.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Search latency over a fixed mix of what librarians type (8 rounds, the first not counted).
fn search_mix(reads: &mut dyn Reads, f: &mut Figures) -> super::Result<()> {
    let mix = [
        "river",
        "his",
        "moon garden",
        "Márquez",
        "marquez",
        "okafor",
        "Anna Chen",
        "9781000",
        "978-1-00",
        "3000000012345",
        "300000004",
        "QA76",
        "rare",
        "main stacks",
        "café",
        "cafe",
        "the silent",
        "principles of",
        "fjord",
        "zzzz",
        "Peng",
        "MIT",
        "letters ocean",
        "Nakam",
        "2019",
    ];
    let mut lat = Vec::new();
    let mut per_query: Vec<Vec<Duration>> = vec![Vec::new(); mix.len()];
    for round in 0..8 {
        for (i, q) in mix.iter().enumerate() {
            let t = Instant::now();
            let rows = reads
                .search_books(q, shelfmark::ui::SEARCH_RESULTS)
                .map_err(|e| words(&e))?;
            if round > 0 {
                lat.push(t.elapsed());
                per_query[i].push(t.elapsed());
            }
            let _ = rows.len();
        }
    }
    let mut medians: Vec<(String, f64)> = mix
        .iter()
        .zip(&mut per_query)
        .map(|(q, l)| ((*q).to_owned(), percentiles(l).p50_ms))
        .collect();
    medians.sort_by(|a, b| b.1.total_cmp(&a.1));
    f.search_slowest = medians.into_iter().take(3).collect();
    f.search_queries = lat.len();
    let p = percentiles(&mut lat);
    (f.search_p50_ms, f.search_p99_ms, f.search_max_ms) = (p.p50_ms, p.p99_ms, p.max_ms);

    Ok(())
}

/// Opens the library and reads what the main window shows first: the collections with their
/// counts, and the first page of the largest. Returns the time that took, the services, the
/// largest collection and its size.
fn first_data(
    location: &Location,
    durability: Durability,
) -> Result<(f64, Arc<Services>, CollectionId, usize), String> {
    let started = Instant::now();
    let library = Library::open_at(
        location,
        None,
        &OpenOptions {
            durability,
            ..OpenOptions::default()
        },
    )
    .map_err(|e| words(&e))?;
    let services = Services::start(library).map_err(|e| e.to_string())?;
    let collections = wait(services.reader().fetch(None, |r| r.collections()))?;
    let largest = collections
        .iter()
        .max_by_key(|c| c.placements)
        .ok_or("the library has no collections; run `shelfmark-bench seed` first")?
        .id;
    let (n, _) = wait(services.reader().fetch(None, move |r| {
        let n = r.placement_count(largest, "")?;
        let rows = r.placement_window(&first_window(largest))?;
        Ok((n, rows.rows.len()))
    }))?;
    Ok((ms(started.elapsed()), services, largest, n))
}

/// Drops the page cache of a library file and its write-ahead log (no root needed).
fn drop_cached_pages(path: &Path) -> Result<(), String> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    for file in [path.to_path_buf(), wal.into()] {
        if !file.exists() {
            continue;
        }
        let status = std::process::Command::new("dd")
            .arg(format!("if={}", file.display()))
            .args(["iflag=nocache", "count=0", "status=none"])
            .status()
            .map_err(|e| format!("dd: {e}"))?;
        if !status.success() {
            return Err(format!("dd could not drop the cache of {}", file.display()));
        }
    }
    Ok(())
}

/// `bench-catalog --scale`: each size in its own process (so peak memory is its own), seeded
/// beside `--db` first if it is not there, then one JSON object per line and figure with its
/// ratio to the first size's.
fn at_scales(
    location: &Location,
    durability: Durability,
    args: &BenchCatalogArgs,
) -> Result<ExitCode, String> {
    let Location::File(base) = location else {
        return Err("--scale seeds library files: give --db a file path".into());
    };
    let label = |n: usize| match n {
        n if n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    };
    let stem = base
        .file_stem()
        .map_or_else(|| "catalog".into(), |s| s.to_string_lossy().into_owned());
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut first: Option<serde_json::Map<String, serde_json::Value>> = None;
    for &n in &args.scale {
        let file = base.with_file_name(format!("{stem}-{}.sqlite3", label(n)));
        let mut extra = serde_json::Map::new();
        if !file.exists() {
            let t = Instant::now();
            let seed = SeedArgs {
                books: n / 5,
                copies: n,
                collections: 500,
                seed: 1,
            };
            seed_library(&Location::File(file.clone()), durability, &seed)?;
            let secs = t.elapsed().as_secs_f64();
            let library = Library::open(&file, &OpenOptions::default()).map_err(|e| words(&e))?;
            let counts = library
                .reads()
                .and_then(|mut r| r.counts())
                .map_err(|e| words(&e))?;
            let rows = counts.books + counts.copies + counts.placements + counts.collections;
            extra.insert("seed_s".into(), round2(secs));
            extra.insert("seed_rows_per_s".into(), round2(rows as f64 / secs));
        }
        let size = std::fs::metadata(&file).map_or(0, |m| m.len());
        extra.insert("file_mb".into(), round2(size as f64 / 1e6));
        let out = std::process::Command::new(&me)
            .arg("--db")
            .arg(&file)
            .args(["bench-catalog", "--json", "--cold", "--import-rows"])
            .arg((n / 10).max(1_000).to_string())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("bench-catalog on {} failed", file.display()));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().unwrap_or_default();
        let serde_json::Value::Object(mut figures) =
            serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?
        else {
            return Err(format!("not a JSON object: {line}"));
        };
        figures.append(&mut extra);
        for (name, value) in &figures {
            let Some(v) = value.as_f64() else { continue };
            let ratio = first
                .as_ref()
                .and_then(|f| f.get(name))
                .and_then(serde_json::Value::as_f64)
                .filter(|b| *b != 0.0)
                .map(|b| round2(v / b));
            println!(
                "{}",
                serde_json::json!({
                    "scale": label(n),
                    "figure": name,
                    "value": v,
                    "ratio_to_first": ratio,
                })
            );
        }
        if first.is_none() {
            first = Some(figures);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn round2(v: f64) -> serde_json::Value {
    serde_json::json!((v * 100.0).round() / 100.0)
}

/// The first window of the editor's default order (newest first) of `collection`.
fn first_window(collection: CollectionId) -> WindowQuery {
    WindowQuery {
        collection,
        filter: String::new(),
        sort: SortKey::Added,
        ascending: false,
        start: WindowStart::Top { skip: 0 },
        before: 0,
        after: 100,
    }
}

/// The median of three runs of `f`, in ms.
fn median_ms(mut f: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    let mut took = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        f()?;
        took.push(t.elapsed());
    }
    took.sort();
    Ok(ms(took[1]))
}

/// Pages of 100 rows at depths of the largest collection in every order and direction, as the
/// editor asks for them: a jump (to the nearest mark, then stepping the rest of the way) and
/// the walk on from the page it brought.
fn pages_in_every_order(
    reads: &mut dyn Reads,
    collection: CollectionId,
    rows: usize,
    f: &mut Figures,
) -> Result<(), String> {
    let depths = [
        0,
        rows / 10,
        rows / 2,
        rows * 9 / 10,
        rows.saturating_sub(100),
    ];
    for (sort, name) in [
        (SortKey::Added, "added"),
        (SortKey::Title, "title"),
        (SortKey::Barcode, "barcode"),
        (SortKey::ShelfMark, "shelf_mark"),
    ] {
        let t = Instant::now();
        let marks = reads
            .order_marks(collection, sort, MARK_EVERY)
            .map_err(|e| words(&e))?;
        f.marks_ms.push((name.to_owned(), ms(t.elapsed())));
        for ascending in [true, false] {
            for depth in depths {
                let query = |start| WindowQuery {
                    collection,
                    filter: String::new(),
                    sort,
                    ascending,
                    start,
                    before: 0,
                    after: 100,
                };
                let start = WindowStart::landing(&marks, depth, rows, ascending)
                    .unwrap_or(WindowStart::Top { skip: depth });
                let mut last = None;
                let jump = median_ms(|| {
                    let w = reads
                        .placement_window(&query(start.clone()))
                        .map_err(|e| words(&e))?;
                    last = w.rows.last().map(|(k, _)| k.clone());
                    Ok(())
                })?;
                let walk = match last {
                    Some(row) => median_ms(|| {
                        reads
                            .placement_window(&query(WindowStart::From {
                                row: row.clone(),
                                skip: 1,
                            }))
                            .map(|_| ())
                            .map_err(|e| words(&e))
                    })?,
                    None => 0.0,
                };
                f.pages.push(PageFigure {
                    order: name,
                    ascending,
                    depth,
                    jump_ms: jump,
                    walk_ms: walk,
                });
            }
        }
    }
    let at_top = |p: &&PageFigure| p.depth == 0;
    f.page_row0_ms = f
        .pages
        .iter()
        .filter(at_top)
        .map(|p| p.jump_ms.max(p.walk_ms))
        .fold(0.0, f64::max);
    f.page_any_depth_max_ms = f
        .pages
        .iter()
        .map(|p| p.jump_ms.max(p.walk_ms))
        .fold(0.0, f64::max);
    Ok(())
}

/// Writes a CSV of `rows` generated lines (books and barcodes not in a seeded library).
fn generated_csv(rows: usize, file: &Path) -> Result<(), String> {
    let mut g = Gen::new(7);
    let mut w = csv::Writer::from_path(file).map_err(|e| e.to_string())?;
    w.write_record(transfer::csv::COLUMNS)
        .map_err(|e| e.to_string())?;
    let names = Gen::collection_names(20);
    let mut book = g.book(0, 50_000_000);
    for i in 0..rows {
        if i % 3 == 0 {
            book = g.book(i, 50_000_000);
        }
        let collection = names[g.rng.usize(..names.len())].clone();
        let record = [
            book.title.clone(),
            book.authors.clone(),
            book.isbn.clone().unwrap_or_default(),
            book.publisher.clone(),
            book.year.map(|y| y.to_string()).unwrap_or_default(),
            format!("IMP{i:09}"),
            collection,
            g.shelf_mark(),
            String::new(),
        ];
        w.write_record(&record).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}

fn wait<T>(fetch: Pending<ReadResult<T>>) -> Result<T, String> {
    fetch
        .wait()
        .ok_or_else(|| shelfmark::model::Failure::stopped().message)?
        .map_err(|f| f.message)
}

pub(crate) fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

#[derive(Debug, serde::Serialize)]
struct PageFigure {
    order: &'static str,
    ascending: bool,
    depth: usize,
    jump_ms: f64,
    walk_ms: f64,
}

#[derive(Debug, Default, serde::Serialize)]
struct Figures {
    books: i64,
    copies: i64,
    placements: i64,
    largest_collection_rows: usize,
    first_data_ms: f64,
    /// First data right after the file's cached pages were dropped (with `--cold`).
    first_data_cold_ms: f64,
    search_queries: usize,
    search_p50_ms: f64,
    search_p99_ms: f64,
    search_max_ms: f64,
    /// The three slowest queries of the mix (median over the rounds).
    search_slowest: Vec<(String, f64)>,
    /// How long taking the marks of each order took (ms).
    marks_ms: Vec<(String, f64)>,
    pages: Vec<PageFigure>,
    /// The slowest page at row 0 over every order and direction, and the slowest anywhere.
    page_row0_ms: f64,
    page_any_depth_max_ms: f64,
    scroll_steps: usize,
    frame_p99_ms: f64,
    frame_max_ms: f64,
    scroll_step_to_rows_p50_ms: f64,
    scroll_step_to_rows_p99_ms: f64,
    import_rows: usize,
    import_rows_per_s: f64,
    export_rows: usize,
    export_rows_per_s: f64,
    /// Peak RSS over everything but the import (open, search, pages, scrolling, export).
    peak_rss_mb: f64,
    /// Peak RSS while importing (reset to the RSS held just before it).
    import_peak_rss_mb: f64,
}

pub fn bench_catalog(
    location: &Location,
    durability: Durability,
    args: &BenchCatalogArgs,
) -> Result<ExitCode, String> {
    if !args.scale.is_empty() {
        return at_scales(location, durability, args);
    }
    let mut f = Figures::default();
    if args.cold {
        if let Location::File(path) = location {
            drop_cached_pages(path)?;
        }
        f.first_data_cold_ms = first_data(location, durability)?.0;
    }
    // 1. Open and show the first frame's data: the collections, and the first page of the
    //    largest one (what the main window shows first). The median of three openings: a
    //    figure of a few ms moves by as much between two runs on a shared machine.
    let mut took = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        // The previous opening closes before the next, as a library closed and opened again.
        drop(last.take());
        let (ms, services, largest, rows) = first_data(location, durability)?;
        took.push(ms);
        last = Some((services, largest, rows));
    }
    let (services, largest, rows) = last.ok_or("no opening")?;
    took.sort_by(f64::total_cmp);
    f.first_data_ms = took[1];
    f.largest_collection_rows = rows;
    let counts = wait(services.reader().fetch(None, |r| r.counts()))?;
    (f.books, f.copies, f.placements) = (counts.books, counts.copies, counts.placements);

    // 2. Search: a fixed mix of what librarians type.
    let mut reads = services.library.reads().map_err(|e| words(&e))?;
    search_mix(&mut *reads, &mut f)?;

    // 3. Pages at depths of the largest collection, in every order.
    pages_in_every_order(&mut *reads, largest, f.largest_collection_rows, &mut f)?;
    drop(reads);

    // 4. Scrolling the largest collection in the real editor, headless: app time per frame,
    //    and how long after a scroll step the rows in view have arrived.
    scroll(&services, largest, &mut f);

    // 5. Export the whole library; what the library's work took at most in memory.
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut reads = services.library.reads().map_err(|e| words(&e))?;
    let t = Instant::now();
    f.export_rows = transfer::export(&mut *reads, None, &scratch.path().join("export.csv"), false)
        .map_err(|e| words(&e))?;
    f.export_rows_per_s = (f.export_rows as f64 / t.elapsed().as_secs_f64()).round();
    drop(reads);
    f.peak_rss_mb = peak_rss_mb().unwrap_or(0.0).round();

    // 6. Import a generated CSV into a scratch library (a file beside the library, or a
    //    scratch database on the same server), its memory on its own: the peak is reset first
    //    (to what the process holds now).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let csv_file = scratch.path().join("import.csv");
    generated_csv(args.import_rows, &csv_file)?;
    let mut site = super::bench::Site::new(location)?;
    let target = Library::open_at(
        &site.fresh("import", Durability::Full)?,
        None,
        &OpenOptions::default(),
    )
    .map_err(|e| words(&e))?;
    let tasks = shelfmark::tasks::SaveTasks::start(&target, shelfmark::tasks::ChangeFeed::new())
        .map_err(|e| e.to_string())?;
    let t = Instant::now();
    let prepared = transfer::prepare_import(&csv_file, &transfer::ImportChoice::default())
        .map_err(|e| words(&e))?;
    if !prepared.errors.is_empty() {
        return Err(format!(
            "generated CSV has bad lines: {:?}",
            &prepared.errors[..1]
        ));
    }
    match transfer::run_import(&tasks, &prepared.job, |_, _| {}).map_err(|e| words(&e))? {
        transfer::Imported::Done(_) => {}
        transfer::Imported::Refused(why) => return Err(format!("import refused: {why}")),
    }
    f.import_rows = args.import_rows;
    f.import_rows_per_s = (args.import_rows as f64 / t.elapsed().as_secs_f64()).round();
    drop(tasks);
    drop(target);
    drop(prepared);
    site.finish(false);
    f.import_peak_rss_mb = peak_rss_mb().unwrap_or(0.0).round();

    if args.json {
        println!("{}", serde_json::to_string(&f).map_err(|e| e.to_string())?);
    } else {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "library: {} books, {} copies, {} placements; largest collection {} rows",
            f.books, f.copies, f.placements, f.largest_collection_rows
        );
        let _ = writeln!(
            out,
            "first data (open, collections, first page): {} ms",
            f.first_data_ms
        );
        let _ = writeln!(
            out,
            "search ({} queries): p50 {} ms, p99 {} ms, max {} ms; slowest (median ms): {:?}",
            f.search_queries, f.search_p50_ms, f.search_p99_ms, f.search_max_ms, f.search_slowest
        );
        let marks: Vec<String> = f
            .marks_ms
            .iter()
            .map(|(o, t)| format!("{o} {t} ms"))
            .collect();
        let _ = writeln!(out, "marks of each order: {}", marks.join(", "));
        for p in &f.pages {
            let _ = writeln!(
                out,
                "page of 100 rows, {} {}, row {}: jump {} ms, walk on {} ms",
                p.order,
                if p.ascending {
                    "ascending"
                } else {
                    "descending"
                },
                p.depth,
                p.jump_ms,
                p.walk_ms
            );
        }
        let _ = writeln!(
            out,
            "scrolling ({} steps): app time per frame p99 {} ms, max {} ms; rows in view after a step p50 {} ms, p99 {} ms",
            f.scroll_steps,
            f.frame_p99_ms,
            f.frame_max_ms,
            f.scroll_step_to_rows_p50_ms,
            f.scroll_step_to_rows_p99_ms
        );
        let _ = writeln!(
            out,
            "import {} rows: {} rows/s",
            f.import_rows, f.import_rows_per_s
        );
        let _ = writeln!(
            out,
            "export {} rows: {} rows/s",
            f.export_rows, f.export_rows_per_s
        );
        let _ = write!(
            out,
            "peak RSS: {} MB (the import: {} MB)",
            f.peak_rss_mb, f.import_peak_rss_mb
        );
        println!("{out}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Drives the real collection editor in a headless egui context, scrolling with the mouse
/// wheel, and records app time per frame and time until the rows in view are loaded.
fn scroll(services: &Arc<Services>, collection: CollectionId, f: &mut Figures) {
    let ctx = egui::Context::default();
    shelfmark::ui::theme::apply(&ctx);
    let port = Port::new(
        services,
        shelfmark::ui::repaint(&ctx, egui::ViewportId::ROOT),
    );
    let (commands, _inbox) = Commands::new(&ctx);
    let mut editor = CollectionEditor::new(port, commands, collection);
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1200.0, 800.0));
    let frame = |events: Vec<egui::Event>, editor: &mut CollectionEditor| -> Duration {
        let input = egui::RawInput {
            screen_rect: Some(screen),
            events,
            ..egui::RawInput::default()
        };
        let t = Instant::now();
        let mut output = ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| {
                editor.ui(ui, Host::Main);
            });
        });
        let took = t.elapsed();
        // Nothing is painted here: the textures are dropped on purpose.
        output.textures_delta.clear();
        took
    };
    // Let the first page arrive.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !editor.rows_in_view_loaded() && Instant::now() < deadline {
        frame(Vec::new(), &mut editor);
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut frames = Vec::new();
    let mut waits = Vec::new();
    let hover = egui::Event::PointerMoved(egui::pos2(600.0, 500.0));
    for step in 0..60 {
        // Alternate small steps (a wheel notch) and long jumps (dragging the scroll bar).
        let delta = if step % 3 == 0 { -200_000.0 } else { -660.0 };
        let t = Instant::now();
        frames.push(frame(
            vec![
                hover.clone(),
                egui::Event::MouseWheel {
                    unit: egui::MouseWheelUnit::Point,
                    delta: egui::vec2(0.0, delta),
                    phase: egui::TouchPhase::Move,
                    source: egui::MouseWheelSource::Unknown,
                    modifiers: egui::Modifiers::NONE,
                },
            ],
            &mut editor,
        ));
        while !editor.rows_in_view_loaded() && t.elapsed() < Duration::from_secs(30) {
            frames.push(frame(vec![hover.clone()], &mut editor));
            std::thread::sleep(Duration::from_millis(1));
        }
        waits.push(t.elapsed());
    }
    f.scroll_steps = waits.len();
    let fp = percentiles(&mut frames);
    (f.frame_p99_ms, f.frame_max_ms) = (fp.p99_ms, fp.max_ms);
    let wp = percentiles(&mut waits);
    (f.scroll_step_to_rows_p50_ms, f.scroll_step_to_rows_p99_ms) = (wp.p50_ms, wp.p99_ms);
}
