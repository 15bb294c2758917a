//! A shared library on a real PostgreSQL server (started by the tests, see `util::pg`):
//! setting up and refusing, credentials and TLS, a read-only role, the server restarted in the
//! middle of a load, connections cut around COMMIT, other computers' saves heard at once,
//! moving a file to a server and backing a server up to a file.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use shelfmark::db::{
    CopyError, Library, Location, OpenError, OpenOptions, SERVER_LATEST_VERSION, ServerAddress,
};
use shelfmark::model::{BookDraft, Draft, Kind, Op, Outcome, RecordRef};
use shelfmark::tasks::ChangeFeed;

use crate::util::pg::{self, Cluster, PasswordKind};
use crate::util::proxy::Proxy;
use crate::util::{self, Client, EXE, LoadSummary, Where, place_op, saved_id};

fn address(url: &str) -> ServerAddress {
    match Location::parse(url).unwrap().0 {
        Location::Server(a) => a,
        Location::File(_) => panic!("{url} is not a server"),
    }
}

fn open(url: &str, set_up: bool) -> Result<Library, OpenError> {
    let (_, password) = Location::parse(url).unwrap();
    Library::open_server(
        &address(url),
        password.as_deref(),
        &OpenOptions {
            set_up,
            ..OpenOptions::default()
        },
    )
}

/// The tables of a database, by name.
fn tables(cluster: &Cluster, db: &str) -> String {
    cluster
        .psql(
            db,
            "SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables
             WHERE schemaname = 'public'",
        )
        .unwrap()
}

#[test]
fn an_empty_database_is_set_up_only_when_asked_and_anything_else_is_refused_untouched() {
    let cluster = pg::shared();
    // Empty: it says so, and stays empty.
    let db = cluster.fresh_database();
    let err = open(&cluster.url(&db), false).unwrap_err();
    assert!(matches!(err, OpenError::NotSetUp { .. }), "{err:?}");
    assert!(err.to_string().contains("empty database"), "{err}");
    assert_eq!(tables(cluster, &db), "");
    // Asked: set up.
    drop(open(&cluster.url(&db), true).expect("set up"));
    assert!(tables(cluster, &db).contains("placements"));

    // Another program's database: refused, untouched, even when asked to set it up.
    let other = cluster.fresh_database();
    cluster
        .psql(&other, "CREATE TABLE moz_places (id int)")
        .unwrap();
    let err = open(&cluster.url(&other), true).unwrap_err();
    assert!(
        matches!(err, OpenError::ServerNotALibrary { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("untouched"), "{err}");
    assert_eq!(tables(cluster, &other), "moz_places");

    // A newer Shelfmark's library: refused with both versions.
    cluster
        .psql(&db, "UPDATE shelfmark_library SET version = 99")
        .unwrap();
    let err = open(&cluster.url(&db), true).unwrap_err();
    match &err {
        OpenError::ServerNewerSchema {
            found, supported, ..
        } => assert_eq!((*found, *supported), (99, SERVER_LATEST_VERSION)),
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("schema version 99")
            && text.contains(&format!("up to {SERVER_LATEST_VERSION}")),
        "{text}"
    );
    assert_eq!(
        cluster
            .psql(&db, "SELECT version FROM shelfmark_library")
            .unwrap(),
        "99"
    );
}

#[test]
fn computers_setting_up_one_database_at_once_set_it_up_once() {
    let cluster = pg::shared();
    let db = cluster.fresh_database();
    let url = cluster.url(&db);
    let gate = std::sync::Barrier::new(6);
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    gate.wait();
                    open(&url, true).map(drop).map_err(|e| e.to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        cluster
            .psql(
                &db,
                "SELECT count(*) || ' ' || max(version) FROM shelfmark_library"
            )
            .unwrap(),
        format!("1 {SERVER_LATEST_VERSION}")
    );
}

/// `shelfmark --db URL check` with `env` set; (passed, output).
fn check_with_env(url: &str, env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(EXE);
    cmd.args(["--db", url, "check"])
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn credentials_are_found_as_libpq_finds_them_and_refusals_say_which() {
    let cluster = Cluster::builder()
        .password_auth(true)
        .start("auth")
        .expect("a cluster with passwords");
    let db = cluster.fresh_database();
    cluster
        .create_password_role("librarian", "s3cr:t pass", PasswordKind::Scram)
        .unwrap();
    cluster
        .psql(
            "postgres",
            &format!("ALTER DATABASE {db} OWNER TO librarian"),
        )
        .unwrap();
    let url = cluster.url_as("librarian", None, &db);
    // No password anywhere: the window asks for one.
    let err = open(&url, true).unwrap_err();
    assert!(matches!(err, OpenError::PasswordNeeded { .. }), "{err:?}");
    // A wrong one: said so.
    let err =
        Library::open_server(&address(&url), Some("nope"), &OpenOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("the password for librarian was not accepted"),
        "{err}"
    );
    // The right one, typed in the window.
    drop(
        Library::open_server(
            &address(&url),
            Some("s3cr:t pass"),
            &OpenOptions {
                set_up: true,
                ..OpenOptions::default()
            },
        )
        .expect("opens with the password"),
    );
    // PGPASSWORD, and a private ~/.pgpass (ignored while others may read it).
    assert!(check_with_env(&url, &[("PGPASSWORD", "s3cr:t pass")]).0);
    let pgpass = cluster.dir().join("test.pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "127.0.0.1:{}:{db}:librarian:s3cr\\:t pass\n",
            cluster.port()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, text) = check_with_env(&url, &[("PGPASSFILE", pgpass.to_str().unwrap())]);
    assert!(!ok && text.contains("needs a password"), "{text}");
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (ok, text) = check_with_env(&url, &[("PGPASSFILE", pgpass.to_str().unwrap())]);
    assert!(ok, "{text}");
    // No such database; no such server.
    let err = open(
        &cluster.url_as("librarian", Some("s3cr:t pass"), "nowhere"),
        true,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("there is no database nowhere"),
        "{err}"
    );
    let unused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = open(&format!("postgres://x@127.0.0.1:{unused}/x"), true).unwrap_err();
    assert!(matches!(err, OpenError::Unreachable { .. }), "{err:?}");
    // The password is in no message.
    assert!(!format!("{err:?}").contains("s3cr"));
}

#[test]
fn tls_require_encrypts_and_verify_full_checks_the_certificate() {
    let cluster = Cluster::builder()
        .tls(true)
        .start("tls")
        .expect("a cluster with TLS");
    let db = cluster.fresh_database();
    let ca = cluster.ca_cert().unwrap().display().to_string();
    let base = cluster.url(&db);
    let library = open(&format!("{base}?sslmode=require"), true).expect("require");
    assert_eq!(library.reads().unwrap().counts().unwrap().books, 0);
    let encrypted = cluster
        .psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid
             WHERE a.application_name LIKE 'shelfmark%' AND s.ssl",
        )
        .unwrap();
    assert_ne!(encrypted, "0", "the library's connections are encrypted");
    drop(library);
    // verify-full with the CA that signed the server's certificate: opens.
    let verified = open(
        &format!("{base}?sslmode=verify-full&sslrootcert={ca}"),
        false,
    );
    assert!(verified.is_ok(), "{:?}", verified.err());
    // verify-full without a root certificate to check against: refused, in words.
    let err = open(&format!("{base}?sslmode=verify-full"), false).unwrap_err();
    let text = shelfmark::db::chain(&err);
    assert!(text.contains("certificate"), "{text}");
}

#[test]
fn a_read_only_role_opens_read_only_and_saves_are_refused_in_words() {
    let cluster = pg::shared();
    let w = Where::server();
    let Where::Server { db } = &w else {
        unreachable!()
    };
    let role = format!("reader_{}", std::process::id());
    cluster.create_readonly_role(&role).unwrap();
    let library = open(&cluster.url_as(&role, None, db), false).expect("opens");
    let why = library.read_only().expect("read-only").to_owned();
    assert!(why.contains("read this library, not change it"), "{why}");
    let client = Client::on(library);
    let (mailbox, _rx) = shelfmark::tasks::Mailbox::new();
    let err = client
        .tasks
        .try_submit(
            shelfmark::tasks::EditorId(1),
            Op::Create(Draft::Book(BookDraft {
                title: "Dune".into(),
                ..BookDraft::default()
            })),
            &mailbox,
        )
        .unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    // Reading works.
    assert_eq!(client.reads().counts().unwrap().books, 0);
}

#[test]
fn the_server_crash_restarted_mid_load_loses_no_acknowledged_save() {
    let cluster = Cluster::start("restart").expect("a cluster of its own");
    let db = cluster.fresh_database();
    let url = cluster.url(&db);
    drop(open(&url, true).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..2)
        .map(|p| {
            let ack = dir.path().join(format!("ack-{p}"));
            (util::load(&url, "distinct", 4, 300, p + 1, &ack), ack)
        })
        .collect();
    // Let some saves land, then crash the server (no checkpoint) and let it recover.
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        let acked: usize = children
            .iter()
            .map(|(_, a)| std::fs::read_to_string(a).map_or(0, |t| t.lines().count()))
            .sum();
        if acked >= 100 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cluster.restart_immediate().expect("restart");
    let library = open(&url, false).unwrap();
    let mut reads = library.reads().unwrap();
    let mut saved = 0;
    for (child, ack) in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sum: LoadSummary = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        assert_eq!((sum.failed, sum.invalid), (0, 0), "{sum:?}");
        saved += sum.saved;
        for line in std::fs::read_to_string(&ack).unwrap().lines() {
            let id: i64 = line.split(' ').nth(1).unwrap().parse().unwrap();
            assert!(
                reads
                    .placement(shelfmark::model::PlacementId(id))
                    .unwrap()
                    .is_some(),
                "acknowledged {line} is there"
            );
        }
    }
    assert_eq!(saved, 2 * 4 * 300);
    assert_eq!(Client::on(library).live("placements"), 2 * 4 * 300);
    let (ok, text) = check_with_env(&url, &[]);
    assert!(ok, "{text}");
}

#[test]
fn connections_cut_around_commit_land_each_save_exactly_once() {
    let cluster = Cluster::start("cuts").expect("a cluster of its own");
    let db = cluster.fresh_database();
    drop(open(&cluster.url(&db), true).unwrap());
    let proxy = Proxy::start(cluster.addr()).expect("proxy");
    let library = open(&cluster.url_via(proxy.port(), &db), false).unwrap();
    let client = Client::on(library);
    let book = client.book("Dune");
    let shelf = client.collection("Rare Books");
    let rounds = 30;
    for round in 0..rounds {
        let code = format!("CUT{round:03}");
        if round % 2 == 0 {
            proxy.cut_after_next_commit();
        } else {
            proxy.cut_before_next_commit();
        }
        let copy = client.copy(book, &code);
        // The save is reported saved once, whichever side of COMMIT the cut fell.
        assert!(client.place(copy, shelf).is_saved(), "round {round}");
        proxy.disarm();
        let rows = cluster
            .psql(
                &db,
                &format!("SELECT count(*) FROM copies WHERE barcode = '{code}'"),
            )
            .unwrap();
        assert_eq!(rows, "1", "round {round}: {code} landed exactly once");
    }
    let (after, before) = (proxy.cuts_after_commit(), proxy.cuts_before_commit());
    println!("{after} connections cut after COMMIT, {before} before COMMIT, each save once");
    assert!(
        after >= rounds / 2 && before >= rounds / 2,
        "{after} / {before}"
    );
    assert_eq!(
        cluster
            .psql(
                &db,
                "SELECT count(*) FROM placements WHERE deleted_at IS NULL"
            )
            .unwrap(),
        rounds.to_string()
    );
    let requests: i64 = cluster
        .psql(&db, "SELECT count(*) - count(DISTINCT id) FROM requests")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(requests, 0);
}

#[test]
fn a_commit_on_one_computer_reaches_another_process_at_once() {
    let cluster = pg::shared();
    let w = Where::server();
    let Where::Server { db } = &w else {
        unreachable!()
    };
    let client = w.client();
    let book = client.book("Dune");
    let feed = ChangeFeed::new();
    let _watcher = feed
        .watch(&client.library, Duration::from_millis(200))
        .unwrap();
    let (tx, changes) = std::sync::mpsc::channel();
    let _subscription = feed.subscribe(std::sync::Arc::new(move || {
        let _ = tx.send(Instant::now());
    }));
    std::thread::sleep(Duration::from_millis(300));
    let mut latencies = Vec::new();
    for i in 0..20 {
        while changes.try_recv().is_ok() {}
        // Another program commits: psql, a process of its own. The time is taken before it
        // starts, so each figure is an upper bound (it includes starting psql).
        let started = Instant::now();
        cluster
            .psql(
                db,
                &format!("UPDATE books SET title = 'Dune {i}' WHERE id = {}", book.0),
            )
            .unwrap();
        let heard = changes
            .recv_timeout(Duration::from_secs(5))
            .expect("the change reaches the subscriber within 5 s");
        latencies.push(heard.saturating_duration_since(started));
    }
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    println!(
        "another process's commit heard within (upper bounds, including starting psql): median {:?}, p99 {p99:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies.last().unwrap()
    );
}

#[test]
fn a_file_moves_to_a_server_row_for_row_and_a_server_backs_up_to_a_file() {
    let file = Where::file();
    let client = file.client();
    let book = client.book("Dune");
    let copy = client.copy(book, "0042");
    let rare = client.collection("Rare Books");
    let placed = saved_id(&client.save(place_op(copy, rare, "PS3558 .E63 D8")));
    let gone = client.copy(book, "0043");
    assert!(
        client
            .save(Op::Delete {
                target: gone.into(),
                version: 1
            })
            .is_saved()
    );
    assert_eq!(
        client.save(Op::SetArticles(vec!["the".into(), "der".into()])),
        Outcome::Settings
    );
    let server = Where::server();
    let target = server.open();
    let counts = client
        .library
        .copy_to(&target, &mut |_| {})
        .expect("copied and checked");
    assert_eq!(counts, [1, 2, 1, 1, 1]);
    let Where::Server { db } = &server else {
        unreachable!()
    };
    // The copy folded its count deltas before it committed.
    let left = pg::shared()
        .psql(db, "SELECT count(*) FROM collection_count_deltas")
        .unwrap();
    assert_eq!(left.trim(), "0", "a copy leaves no count deltas");
    // Copying again into what is no longer empty is refused.
    assert!(matches!(
        client.library.copy_to(&target, &mut |_| {}),
        Err(CopyError::NotEmpty(_))
    ));
    // Every stamp came along exactly (microseconds), the Trash too.
    let on_file = client
        .reads()
        .placement(shelfmark::model::PlacementId(placed))
        .unwrap()
        .unwrap();
    let on_server = target
        .reads()
        .unwrap()
        .placement(shelfmark::model::PlacementId(placed))
        .unwrap()
        .unwrap();
    assert_eq!(on_file, on_server);
    let trashed = target.reads().unwrap().copy(gone).unwrap().unwrap();
    assert!(trashed.meta.deleted_at.is_some());
    // Ids the server gives next follow the copied ones.
    let next = Client::on(target.clone()).copy(book, "0044");
    assert!(next.0 > gone.0);

    // The backup of the shared library is an ordinary library file, the same row for row.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("backup.sqlite3");
    let report = target.backup(&out).expect("backup");
    assert!(report.is_ok(), "{report}");
    let copy_back = util::open(&out);
    let back = copy_back
        .reads()
        .unwrap()
        .placement(shelfmark::model::PlacementId(placed))
        .unwrap()
        .unwrap();
    assert_eq!(back, on_server);
    assert_eq!(
        copy_back.reads().unwrap().articles().unwrap(),
        vec!["the".to_owned(), "der".to_owned()]
    );
    let record = RecordRef {
        kind: Kind::Copy,
        id: next.0,
    };
    assert!(copy_back.reads().unwrap().record(record).unwrap().is_some());
    assert!(util::check(&out).0);
}

/// The app on an open library, as `tests/ui.rs` drives it.
fn app_on(library: Library) -> crate::ui::App {
    egui_kittest::Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| shelfmark::ShelfmarkApp::with_library(cc, library).expect("app"))
}

fn one_scan(h: &mut crate::ui::App, code: &str) {
    use egui_kittest::kittest::Queryable;
    h.get_by_label("Scan barcode").focus();
    h.step();
    h.input_mut()
        .events
        .extend(crate::desk::scanner_events(&[code.to_owned()]));
}

#[test]
fn two_computers_adding_the_same_copy_keep_one_row_and_the_second_is_told_who_added_it() {
    use crate::ui::{open_collection, screen_text, shows, wait_for};
    let w = Where::server();
    let c = w.client();
    let dune = c.book("Dune");
    c.copy(dune, "0042");
    c.collection("Rare Books");
    let at = |name: &str| {
        w.open_with(&OpenOptions {
            workstation: name.to_owned(),
            pool_size: 6,
            ..OpenOptions::default()
        })
    };
    let mut desk = app_on(at("circulation-desk"));
    let mut office = app_on(at("cataloguing-office"));
    open_collection(&mut desk, "Rare Books");
    open_collection(&mut office, "Rare Books");
    // Both scan copy 0042 at the same moment.
    one_scan(&mut desk, "0042");
    one_scan(&mut office, "0042");
    desk.step();
    office.step();
    let told = |h: &crate::ui::App| shows(h, "is already in Rare Books");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !told(&desk) && !told(&office) {
        assert!(Instant::now() < deadline, "{}", screen_text(&desk));
        desk.step();
        office.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(c.live("placements"), 1, "one row on the server");
    let (loser, winner) = if told(&desk) {
        (&mut desk, "cataloguing-office")
    } else {
        (&mut office, "circulation-desk")
    };
    wait_for(loser, "the conflict naming the other computer", |h| {
        shows(h, &format!("added by {winner}"))
    });
    assert!(
        shows(
            loser,
            "Copy 0042 (Dune) is already in Rare Books — added by"
        ),
        "{}",
        screen_text(loser)
    );
}

#[test]
fn when_the_server_goes_away_saves_wait_in_words_then_land_once_it_is_back() {
    use crate::ui::{open_collection, screen_text, shows, wait_for};
    let cluster = Cluster::start("away").expect("a cluster of its own");
    let db = cluster.fresh_database();
    drop(open(&cluster.url(&db), true).unwrap());
    let proxy = Proxy::start(cluster.addr()).expect("proxy");
    let library = open(&cluster.url_via(proxy.port(), &db), false).unwrap();
    {
        let c = Client::on(library.clone());
        let dune = c.book("Dune");
        c.copy(dune, "0042");
        c.collection("Rare Books");
    }
    let mut h = app_on(library);
    open_collection(&mut h, "Rare Books");
    // The line is cut and the server refuses new connections.
    proxy.refuse(true).unwrap();
    proxy.cut_all();
    one_scan(&mut h, "0042");
    h.step();
    wait_for(&mut h, "the waiting notice", |h| {
        shows(h, "Waiting for the library server — reconnecting")
    });
    // The window goes on drawing meanwhile.
    let started = Instant::now();
    for _ in 0..20 {
        h.step();
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    proxy.refuse(false).unwrap();
    wait_for(&mut h, "the scan to land", |_| {
        cluster
            .psql(
                &db,
                "SELECT count(*) FROM placements WHERE deleted_at IS NULL",
            )
            .unwrap()
            == "1"
    });
    wait_for(&mut h, "the notice to go", |h| {
        !shows(h, "Waiting for the library server")
    });
    assert!(!shows(&h, "Not saved"), "{}", screen_text(&h));
}

#[test]
fn kept_counts_are_folded_deltas_exact_before_and_after_a_fold_and_check_finds_a_wrong_one() {
    let w = Where::server();
    let Where::Server { db } = &w else {
        unreachable!()
    };
    let c = w.client();
    let desk = c.collection("Desk");
    let book = c.book("Counted");
    let mut ids = Vec::new();
    for i in 0..5 {
        let copy = c.copy(book, &format!("K-{i}"));
        ids.push(saved_id(&c.save(place_op(copy, desk, ""))));
    }
    let target = RecordRef {
        kind: Kind::Placement,
        id: ids[0],
    };
    assert!(c.save(Op::Delete { target, version: 1 }).is_saved());
    let count = |c: &Client| {
        let mut r = c.reads();
        let listed = r
            .collections()
            .unwrap()
            .into_iter()
            .find(|k| k.id == desk)
            .unwrap()
            .placements;
        (listed, r.placement_count(desk, "").unwrap())
    };
    assert_eq!(count(&c), (4, 4));
    let server = pg::shared();
    let deltas = |server: &Cluster| {
        server
            .psql(db, "SELECT count(*) FROM collection_count_deltas")
            .unwrap()
            .trim()
            .parse::<i64>()
            .unwrap()
    };
    // Saves leave deltas (one row per statement and collection) until a writer folds them.
    assert!(deltas(server) > 0, "saves leave deltas");
    std::thread::sleep(Duration::from_millis(2_100));
    let copy = c.copy(book, "K-5");
    assert!(c.save(place_op(copy, desk, "")).is_saved());
    // The copy's save folded them; the placement's left one.
    assert_eq!(deltas(server), 1);
    assert_eq!(count(&c), (5, 5));
    drop(c);
    w.assert_healthy();
    server
        .psql(db, "UPDATE collection_counts SET live = live + 2")
        .unwrap();
    let (ok, said) = check_with_env(&w.arg(), &[]);
    assert!(!ok, "{said}");
    assert!(
        said.contains("kept count of live placements is wrong")
            && said.contains("counts 7 live placement(s) but has 5"),
        "{said}"
    );
}
