//! Titles in the catalogers' order: a leading article does not file ("The Hobbit" under H),
//! per book (its nonfiling characters) or by the library's list of articles; the key is
//! computed by Shelfmark, stored, and compared bytewise.

use shelfmark::model::{BookDraft, Draft, Op, Outcome};

use crate::util::{self, Client, saved_id};

fn add(c: &Client, title: &str, nonfiling: &str) -> i64 {
    saved_id(&c.save(Op::Create(Draft::Book(BookDraft {
        title: title.into(),
        nonfiling: nonfiling.into(),
        ..BookDraft::default()
    }))))
}

/// The catalog's titles, in the order it lists them.
fn catalog(c: &Client) -> Vec<String> {
    c.reads()
        .search_books("", 100)
        .unwrap()
        .into_iter()
        .map(|b| b.book.title)
        .collect()
}

#[test]
fn titles_file_without_their_article() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    for t in [
        "The Hobbit",
        "Zebra",
        "A Zoo",
        "Hamlet",
        "An Apple",
        "\"The\" Word",
        "Book 10",
        "Book 2",
    ] {
        add(&c, t, "");
    }
    // A book may say otherwise: the band is called "The The".
    add(&c, "The The", "0");
    assert_eq!(
        catalog(&c),
        [
            "An Apple",
            "Book 2",
            "Book 10",
            "Hamlet",
            "The Hobbit",
            "The The",
            "\"The\" Word",
            "Zebra",
            "A Zoo"
        ]
    );
}

#[test]
fn the_librarys_articles_refile_the_titles() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    for t in ["Der Prozess", "Das Schloss", "Amerika"] {
        add(&c, t, "");
    }
    assert_eq!(catalog(&c), ["Amerika", "Das Schloss", "Der Prozess"]);
    let set = c.save(Op::SetArticles(vec![
        "the".into(),
        "Der".into(),
        " das ".into(),
    ]));
    assert_eq!(set, Outcome::Settings);
    assert_eq!(c.reads().articles().unwrap(), ["the", "der", "das"]);
    assert_eq!(catalog(&c), ["Amerika", "Der Prozess", "Das Schloss"]);
    // Added afterwards, too.
    add(&c, "Der Verschollene", "");
    assert_eq!(
        catalog(&c),
        ["Amerika", "Der Prozess", "Das Schloss", "Der Verschollene"]
    );
}

#[test]
fn a_version_2_library_gets_its_title_keys_on_upgrade() {
    let s = util::scratch();
    {
        let conn = rusqlite::Connection::open(&s.path).unwrap();
        conn.execute_batch(include_str!("../src/db/sqlite/schema/0001_initial.sql"))
            .unwrap();
        conn.execute_batch(include_str!("../src/db/sqlite/schema/0002_search.sql"))
            .unwrap();
        conn.execute_batch(&format!(
            "PRAGMA user_version = 2; PRAGMA application_id = {};
             INSERT INTO books (title, created_at, updated_at) VALUES
               ('The Hobbit', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z'),
               ('Hamlet', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z'),
               ('Ivanhoe', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z');",
            shelfmark::db::APPLICATION_ID
        ))
        .unwrap();
    }
    let c = Client::new(&s.path);
    assert_eq!(catalog(&c), ["Hamlet", "The Hobbit", "Ivanhoe"]);
    util::assert_healthy(&s.path);
}

#[test]
fn isbns_are_shown_hyphenated_and_stored_as_13_digits() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    let id = saved_id(&c.save(Op::Create(Draft::Book(BookDraft {
        title: "Dune".into(),
        isbn: "0441172717".into(),
        ..BookDraft::default()
    }))));
    let book = c
        .reads()
        .book(shelfmark::model::BookId(id))
        .unwrap()
        .unwrap();
    assert_eq!(book.isbn.as_deref(), Some("9780441172719"));
    assert_eq!(BookDraft::from(&book).isbn, "978-0-441-17271-9");
}

/// Collections are listed as a librarian reads their names, numbers by value: a library with
/// forty branches lists "Branch 2" before "Branch 10", in the list, in a search of the names
/// and in a copy's collections.
#[test]
fn collections_are_listed_with_their_numbers_in_order() {
    let s = util::scratch();
    let c = Client::new(&s.path);
    let book = c.book("Dune");
    let copy = c.copy(book, "0042");
    for name in [
        "Branch 10",
        "Art",
        "branch 2",
        "Branch 1",
        "Éire",
        "Branch 21",
    ] {
        let id = c.collection(name);
        assert!(c.place(copy, id).wrote());
    }
    let expected = [
        "Art",
        "Branch 1",
        "branch 2",
        "Branch 10",
        "Branch 21",
        "Éire",
    ];
    let mut reads = c.reads();
    let names = |list: Vec<shelfmark::model::CollectionSummary>| -> Vec<String> {
        list.into_iter().map(|k| k.name).collect()
    };
    assert_eq!(names(reads.collections().unwrap()), expected);
    assert_eq!(
        names(reads.search_collections("branch", 10).unwrap()),
        ["Branch 1", "branch 2", "Branch 10", "Branch 21"]
    );
    let copies = reads.copies_of(book).unwrap();
    assert_eq!(copies[0].collections, expected);
}
