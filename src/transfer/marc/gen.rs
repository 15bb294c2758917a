//! Deterministic generator of Library-of-Congress-style bibliographic records
//! (001/003/005/008/020/040/050/100/245/250/260 or 264/300/336-338/490/500/504/
//! 520/650/700, Koha 952 holdings on about 30%), about 1 KB each, about 10%
//! written in MARC-8 (always with diacritics). Same seed, same bytes: used for
//! benchmarks and tests.

use std::io::Write;

use super::error::WriteError;
use super::iso2709::{Encoding, to_bytes};
use super::{Field, Leader, Record, Subfield, Tag, tags};

/// `SplitMix64`: small, fast, deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    #[must_use]
    pub const fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// A random element (the empty string for an empty slice).
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
}

const SURNAMES: &[&str] = &[
    "Smith", "Johnson", "Brown", "Taylor", "Anderson", "Thompson", "Clarke", "Walker", "Robinson",
    "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris", "Martin", "Lewis", "Young", "King",
    "Wright", "Baker", "Turner", "Phillips", "Campbell", "Parker",
];
const DIACRITIC_SURNAMES: &[&str] = &[
    "Dvořák",
    "Gödel",
    "Müller",
    "Ibáñez",
    "Łukasiewicz",
    "Ångström",
    "Češka",
    "Sørensen",
    "François",
    "Núñez",
    "Erdős",
    "Straßburger",
    "Çelik",
    "Ionescu-Știrbei",
    "Björk",
    "Kovač",
    "Żółkiewski",
    "García Márquez",
    "Héloïse",
    "Ørsted",
];
const FORENAMES: &[&str] = &[
    "John",
    "Mary",
    "Robert",
    "Patricia",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Susan",
    "Anna",
    "Peter",
    "Helen",
    "Thomas",
    "Margaret",
    "James",
    "Karen",
    "Paul",
];
const DIACRITIC_FORENAMES: &[&str] = &[
    "Antonín", "José", "Zoë", "Jürgen", "Søren", "Élodie", "Łucja", "Andrés", "Mañuel", "Noémi",
    "Jiří", "Agnès",
];
const TITLE_WORDS: &[&str] = &[
    "history",
    "theory",
    "practice",
    "introduction",
    "letters",
    "journey",
    "garden",
    "city",
    "river",
    "science",
    "music",
    "poems",
    "essays",
    "economics",
    "society",
    "language",
    "mathematics",
    "art",
    "philosophy",
    "childhood",
    "empire",
    "revolution",
    "ocean",
    "mountains",
    "memory",
    "light",
    "stories",
    "library",
    "cooking",
    "birds",
    "machines",
];
const DIACRITIC_WORDS: &[&str] = &[
    "géode",
    "café",
    "naïveté",
    "señorita",
    "über",
    "façade",
    "smørrebrød",
    "Dvořák",
    "déjà vu",
    "crème brûlée",
    "Köln",
    "São Paulo",
    "Kraków",
];
const SUBJECTS: &[&str] = &[
    "Cats",
    "Gardening",
    "Mathematics",
    "World War, 1939-1945",
    "Cooking, French",
    "Birds",
    "Philosophy, Modern",
    "Economic history",
    "Poetry",
    "Music theory",
    "Children's stories",
    "Railroads",
    "Oceanography",
    "Libraries",
    "Artificial intelligence",
];
const SUBDIVISIONS: &[&str] = &[
    "History",
    "Juvenile literature",
    "Handbooks, manuals, etc.",
    "Fiction",
    "Bibliography",
    "20th century",
];
const PLACES: &[(&str, &str)] = &[
    ("New York", "nyu"),
    ("London", "enk"),
    ("Paris", "fr "),
    ("Berlin", "gw "),
    ("Chicago", "ilu"),
    ("Boston", "mau"),
    ("Toronto", "onc"),
    ("Oxford", "enk"),
];
const PUBLISHERS: &[&str] = &[
    "Penguin Books",
    "Oxford University Press",
    "Random House",
    "Harper & Row",
    "Gallimard",
    "Springer",
    "Vintage",
    "Knopf",
    "Macmillan",
    "W.W. Norton",
    "Cambridge University Press",
    "Houghton Mifflin",
];
const BRANCHES: &[&str] = &["MAIN", "WEST", "EAST", "CHILD", "REF"];

fn t(s: [u8; 3]) -> Tag {
    Tag::from_bytes(s).unwrap_or(tags::T500)
}

fn sf(code: char, value: impl Into<String>) -> Subfield {
    Subfield::new(code, value)
}

fn df(tag: [u8; 3], ind1: char, ind2: char, subfields: Vec<Subfield>) -> Field {
    Field::data(t(tag), ind1, ind2, subfields)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// A valid ISBN-13 from 9 random digits after "978".
fn isbn13(rng: &mut Rng) -> String {
    let mut s = String::from("978");
    for _ in 0..9 {
        s.push(char::from(b'0' + (rng.below(10) as u8)));
    }
    let sum: u32 = s
        .chars()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d } else { d * 3 })
        .sum();
    s.push(char::from_digit((10 - sum % 10) % 10, 10).unwrap_or('0'));
    s
}

/// Deterministic record generator.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: Rng,
    n: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenStats {
    /// Records written.
    pub records: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Records written in MARC-8.
    pub marc8_records: u64,
    /// Records carrying 952 holdings.
    pub with_holdings: u64,
}

impl Generator {
    /// A generator from a seed.
    #[must_use]
    pub const fn new(seed: u64) -> Generator {
        Generator {
            rng: Rng::new(seed),
            n: 0,
        }
    }

    fn name(&mut self, diacritics: bool) -> (String, String) {
        let surname = if diacritics || self.rng.chance(10) {
            self.rng.pick(DIACRITIC_SURNAMES)
        } else {
            self.rng.pick(SURNAMES)
        };
        let forename = if diacritics && self.rng.chance(50) {
            self.rng.pick(DIACRITIC_FORENAMES)
        } else {
            self.rng.pick(FORENAMES)
        };
        (
            format!("{surname}, {forename}"),
            format!("{forename} {surname}"),
        )
    }

    fn words(&mut self, n: usize, diacritics: bool) -> String {
        let mut out: Vec<&str> = (0..n).map(|_| self.rng.pick(TITLE_WORDS)).collect();
        if diacritics && let Some(slot) = out.get_mut(self.rng.below(n)) {
            *slot = self.rng.pick(DIACRITIC_WORDS);
        }
        out.join(" ")
    }

    /// The next record and the encoding it should be written in.
    pub fn next_record(&mut self) -> (Record, Encoding) {
        self.n += 1;
        let marc8 = self.rng.chance(10);
        let c = Ctx {
            n: self.n,
            marc8,
            year: 1950 + self.rng.below(75),
            rda: self.rng.chance(60),
            pages: 50 + self.rng.below(800),
            class: format!(
                "{}{}",
                self.rng.pick(&["PR", "QA", "HD", "PS", "ML", "TX"]),
                100 + self.rng.below(9000)
            ),
        };
        let mut leader = Leader::BRIEF_BOOK;
        leader.set(5, if self.rng.chance(80) { 'n' } else { 'c' });
        leader.set(17, ' ');
        leader.set(18, if c.rda { 'i' } else { 'a' });
        let mut f = Vec::with_capacity(24);
        let place = self.control_and_numbers(&c, &mut f);
        self.names_and_title(&c, &mut f);
        self.imprint_and_description(&c, place, &mut f);
        self.notes_subjects_holdings(&c, &mut f);
        let encoding = if marc8 {
            Encoding::Marc8
        } else {
            Encoding::Utf8
        };
        (Record { leader, fields: f }, encoding)
    }

    /// 001-050; returns the place of publication.
    fn control_and_numbers(&mut self, c: &Ctx, f: &mut Vec<Field>) -> &'static str {
        let rng = &mut self.rng;
        let year = c.year;
        f.push(Field::control(
            tags::T001,
            format!("{:>12}", format!("{}{:06}", year, c.n % 1_000_000)),
        ));
        f.push(Field::control(tags::T003, "DLC"));
        f.push(Field::control(
            tags::T005,
            format!(
                "{:04}{:02}{:02}{:02}{:02}{:02}.0",
                2000 + rng.below(25),
                1 + rng.below(12),
                1 + rng.below(28),
                rng.below(24),
                rng.below(60),
                rng.below(60)
            ),
        ));
        let (place, place_code) = PLACES
            .get(rng.below(PLACES.len()))
            .copied()
            .unwrap_or(("New York", "nyu"));
        let ill = if rng.chance(40) { "a   " } else { "    " };
        let lang = if c.marc8 { "fre" } else { "eng" };
        f.push(Field::control(
            tags::T008,
            format!(
                "{:02}{:02}{:02}s{year}    {place_code}{ill}  b    000 0 {lang}  ",
                year % 100,
                1 + rng.below(12),
                1 + rng.below(28)
            ),
        ));
        if rng.chance(75) {
            let isbn = isbn13(rng);
            let a = if rng.chance(30) {
                format!("{isbn} (pbk.)")
            } else {
                isbn
            };
            let mut sfs = vec![sf('a', a)];
            if rng.chance(20) {
                sfs.push(sf(
                    'c',
                    format!("${}.{:02}", 5 + rng.below(60), rng.below(100)),
                ));
            }
            f.push(df(*b"020", ' ', ' ', sfs));
            if rng.chance(10) {
                f.push(df(*b"020", ' ', ' ', vec![sf('z', isbn13(rng))]));
            }
        }
        f.push(df(
            *b"040",
            ' ',
            ' ',
            vec![
                sf('a', "DLC"),
                sf('b', "eng"),
                sf('c', "DLC"),
                sf('d', "DLC"),
            ],
        ));
        let cutter = format!(
            ".{}{} {year}",
            rng.pick(&["A", "B", "M", "S"]),
            10 + rng.below(89)
        );
        f.push(df(
            *b"050",
            '0',
            '0',
            vec![sf('a', c.class.clone()), sf('b', cutter)],
        ));
        place
    }

    /// 100, 245, 250.
    fn names_and_title(&mut self, c: &Ctx, f: &mut Vec<Field>) {
        let (inverted, direct) = self.name(c.marc8);
        let birth = 1900 + self.rng.below(80);
        f.push(df(
            *b"100",
            '1',
            ' ',
            vec![
                sf('a', format!("{inverted},")),
                sf('d', format!("{birth}-")),
                sf('e', "author."),
            ],
        ));
        let article = self.rng.chance(25);
        let title_words = 2 + self.rng.below(4);
        let title = self.words(title_words, c.marc8);
        let sub_words = 2 + self.rng.below(5);
        let subtitle = self.words(sub_words, false);
        let title_a = if article {
            format!("The {title}")
        } else {
            capitalise(&title)
        };
        f.push(df(
            *b"245",
            '1',
            if article { '4' } else { '0' },
            vec![
                sf('a', format!("{title_a} :")),
                sf('b', format!("{subtitle} /")),
                sf('c', format!("{direct}.")),
            ],
        ));
        if self.rng.chance(20) {
            let edition = self.rng.pick(&["Second", "Third", "Revised", "First"]);
            f.push(df(
                *b"250",
                ' ',
                ' ',
                vec![sf('a', format!("{edition} edition."))],
            ));
        }
    }

    /// 260 or 264, 300, 336-338, 490.
    fn imprint_and_description(&mut self, c: &Ctx, place: &str, f: &mut Vec<Field>) {
        let rng = &mut self.rng;
        let (year, rda, pages) = (c.year, c.rda, c.pages);
        let publisher = rng.pick(PUBLISHERS);
        if rda {
            f.push(df(
                *b"264",
                ' ',
                '1',
                vec![
                    sf('a', format!("{place} :")),
                    sf('b', format!("{publisher},")),
                    sf('c', format!("[{year}]")),
                ],
            ));
            if rng.chance(30) {
                f.push(df(*b"264", ' ', '4', vec![sf('c', format!("©{year}"))]));
            }
        } else {
            f.push(df(
                *b"260",
                ' ',
                ' ',
                vec![
                    sf('a', format!("{place} :")),
                    sf('b', format!("{publisher},")),
                    sf('c', format!("c{year}.")),
                ],
            ));
        }
        let prelims = rng.pick(&["xii, ", "ix, ", "xx, ", ""]);
        let unit = if rda { "pages" } else { "p." };
        f.push(df(
            *b"300",
            ' ',
            ' ',
            vec![
                sf('a', format!("{prelims}{pages} {unit} :")),
                sf('b', if rda { "illustrations ;" } else { "ill. ;" }),
                sf('c', format!("{} cm", 18 + rng.below(12))),
            ],
        ));
        if rda {
            for (tag, a, b, two) in [
                (*b"336", "text", "txt", "rdacontent"),
                (*b"337", "unmediated", "n", "rdamedia"),
                (*b"338", "volume", "nc", "rdacarrier"),
            ] {
                f.push(df(
                    tag,
                    ' ',
                    ' ',
                    vec![sf('a', a), sf('b', b), sf('2', two)],
                ));
            }
        }
        if self.rng.chance(25) {
            let series = capitalise(&self.words(2, false));
            let volume = 1 + self.rng.below(40);
            f.push(df(
                *b"490",
                '0',
                ' ',
                vec![sf('a', format!("{series} ;")), sf('v', volume.to_string())],
            ));
        }
    }

    /// 500, 504, 520, 650, 700, 952.
    fn notes_subjects_holdings(&mut self, c: &Ctx, f: &mut Vec<Field>) {
        if self.rng.chance(50) {
            f.push(df(*b"500", ' ', ' ', vec![sf('a', "Includes index.")]));
        }
        f.push(df(
            *b"504",
            ' ',
            ' ',
            vec![sf(
                'a',
                format!(
                    "Includes bibliographical references (pages {}-{}) and index.",
                    c.pages.saturating_sub(20),
                    c.pages
                ),
            )],
        ));
        let summary_len = 25 + self.rng.below(30);
        let summary = capitalise(&self.words(summary_len, c.marc8));
        f.push(df(*b"520", ' ', ' ', vec![sf('a', format!("{summary}."))]));
        let rng = &mut self.rng;
        for _ in 0..=rng.below(4) {
            let mut sfs = vec![sf('a', rng.pick(SUBJECTS))];
            if rng.chance(60) {
                sfs.push(sf('x', rng.pick(SUBDIVISIONS)));
            }
            if let Some(last) = sfs.last_mut().filter(|l| !l.value.ends_with('.')) {
                last.value.push('.');
            }
            f.push(df(*b"650", ' ', '0', sfs));
        }
        if self.rng.chance(30) {
            let (inv, _) = self.name(c.marc8);
            f.push(df(
                *b"700",
                '1',
                ' ',
                vec![sf('a', format!("{inv},")), sf('e', "editor.")],
            ));
        }
        let rng = &mut self.rng;
        if rng.chance(30) {
            for (i, copy) in (0..=rng.below(2)).zip(["A", "B", "C"]) {
                let branch = rng.pick(BRANCHES);
                f.push(df(
                    *b"952",
                    ' ',
                    ' ',
                    vec![
                        sf('a', branch),
                        sf('b', branch),
                        sf('o', format!("{} {copy}", c.class)),
                        sf('p', format!("39{:010}{i}", c.n)),
                        sf('y', "BK"),
                    ],
                ));
            }
        }
    }
}

/// Per-record choices shared by the field builders.
struct Ctx {
    n: u64,
    marc8: bool,
    year: usize,
    rda: bool,
    pages: usize,
    class: String,
}

/// Writes `count` generated records as ISO 2709 to `w`.
///
/// # Errors
/// I/O errors from `w`.
pub fn generate(w: &mut impl Write, count: u64, seed: u64) -> Result<GenStats, WriteError> {
    let mut g = Generator::new(seed);
    let mut stats = GenStats::default();
    for _ in 0..count {
        let (record, encoding) = g.next_record();
        let bytes = to_bytes(&record, encoding)?;
        w.write_all(&bytes)?;
        stats.records += 1;
        stats.bytes += bytes.len() as u64;
        if encoding == Encoding::Marc8 {
            stats.marc8_records += 1;
        }
        if record.fields.iter().any(|f| f.tag() == tags::T952) {
            stats.with_holdings += 1;
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        let mut first = Vec::new();
        let mut second = Vec::new();
        let stats = generate(&mut first, 500, 7).expect("gen");
        generate(&mut second, 500, 7).expect("gen");
        assert_eq!(first, second);
        let avg = stats.bytes / stats.records;
        assert!((800..=1400).contains(&avg), "average {avg} bytes");
        assert!((25..=80).contains(&stats.marc8_records), "{stats:?}");
        assert!(stats.with_holdings > 100, "{stats:?}");
        let mut generator = Generator::new(7);
        for _ in 0..200 {
            let (r, _) = generator.next_record();
            assert_eq!(r.control_value("008").map(|v| v.chars().count()), Some(40));
        }
    }
}
