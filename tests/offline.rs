//! A shared library while its server is away: each computer works on its replica, saves wait in
//! a durable outbox and land later exactly once, and what the server refuses waits in Needs
//! attention for a decision (tests start their own PostgreSQL servers, see `util::pg`).

use std::path::Path;
use std::time::{Duration, Instant};

use shelfmark::db::{Library, Location, OpenError, OpenOptions, ServerAddress};
use shelfmark::model::{
    AttentionKind, CopyDraft, Decision, Draft, Kind, Op, PlacementDraft, RecordRef, SyncStatus,
};

use crate::util::pg::Cluster;
use crate::util::proxy::Proxy;
use crate::util::{Client, place_op, saved_id};

fn address(url: &str) -> ServerAddress {
    match Location::parse(url).unwrap().0 {
        Location::Server(a) => a,
        Location::File(_) => panic!("{url} is not a server"),
    }
}

/// A computer: its own data directory (replica and outbox), its own name.
fn computer(url: &str, dir: &Path, name: &str) -> Result<Library, OpenError> {
    Library::open_server(
        &address(url),
        None,
        &OpenOptions {
            workstation: name.to_owned(),
            replica_dir: Some(dir.to_path_buf()),
            ..OpenOptions::default()
        },
    )
}

fn set_up(cluster: &Cluster) -> String {
    let db = cluster.fresh_database();
    drop(
        Library::open_server(
            &address(&cluster.url(&db)),
            None,
            &OpenOptions {
                set_up: true,
                ..OpenOptions::default()
            },
        )
        .unwrap(),
    );
    db
}

fn status(library: &Library) -> SyncStatus {
    library
        .sync_status()
        .expect("a shared library with a replica")
}

/// Waits (nudging the monitor) until `ok`; panics after `limit` with what was seen.
fn wait_until(what: &str, limit: Duration, library: &Library, ok: impl Fn(&SyncStatus) -> bool) {
    let deadline = Instant::now() + limit;
    loop {
        let s = status(library);
        if ok(&s) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: still {s:?}");
        library.sync_now();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Online, nothing waiting to be sent, and the replica caught up with the server.
fn settled(library: &Library) {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        wait_until("settled", Duration::from_mins(1), library, |s| {
            s.online && s.waiting == 0
        });
        let differences = library.replica_differences(5).unwrap_or_default();
        if differences.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the replica differs: {differences:?}"
        );
        library.sync_now();
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn psql(cluster: &Cluster, db: &str, sql: &str) -> String {
    cluster.psql(db, sql).unwrap()
}

/// The server's own check passes, and the replica equals the server row for row.
fn all_healthy(cluster: &Cluster, db: &str, computers: &[&Library]) {
    let server =
        Library::open_server(&address(&cluster.url(db)), None, &OpenOptions::default()).unwrap();
    let report = server.reads().unwrap().check().unwrap();
    assert!(report.is_ok(), "check on the server: {report}");
    for c in computers {
        let differences = c.replica_differences(20).unwrap();
        assert!(differences.is_empty(), "replica differs: {differences:?}");
    }
}

#[test]
fn two_computers_offline_keep_one_row_each_and_the_other_decides_in_needs_attention() {
    let cluster = Cluster::start("offline-two").expect("a cluster of its own");
    let db = set_up(&cluster);
    let url = cluster.url(&db);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Client::on(computer(&url, dir_a.path(), "circulation-desk").unwrap());
    let dune = a.book("Dune");
    let c42 = a.copy(dune, "0042");
    let c99 = a.copy(dune, "0099");
    let rare = a.collection("Rare Books");
    let p99 = saved_id(&a.save(place_op(c99, rare, "QA 1")));
    let b = Client::on(computer(&url, dir_b.path(), "cataloguing-office").unwrap());
    settled(&a.library);
    settled(&b.library);
    assert!(b.library.replica_differences(5).unwrap().is_empty());

    cluster.stop().unwrap();
    let stopped = Instant::now();
    wait_until("A offline", Duration::from_secs(10), &a.library, |s| {
        !s.online
    });
    wait_until("B offline", Duration::from_secs(10), &b.library, |s| {
        !s.online
    });
    println!(
        "both noticed the stopped server within {:?}",
        stopped.elapsed()
    );

    // Both place copy 0042 in Rare Books, both make a copy with barcode NEW1, and one edits
    // the shelf mark of 0099 while the other moves that placement to the Trash.
    let placed = |c: &Client, mark: &str| c.save(place_op(c42, rare, mark));
    assert!(placed(&a, "A shelf").is_saved());
    assert!(placed(&b, "B shelf").is_saved());
    let new1 = |c: &Client| {
        c.save(Op::Create(Draft::Copy(CopyDraft {
            book_id: dune,
            barcode: "NEW1".into(),
        })))
    };
    assert!(new1(&a).is_saved());
    assert!(new1(&b).is_saved());
    let target = RecordRef {
        kind: Kind::Placement,
        id: p99,
    };
    assert!(
        a.save(Op::Update {
            target,
            version: 1,
            draft: Draft::Placement(PlacementDraft {
                copy_id: c99,
                collection_id: rare,
                shelf_mark: "QA 2".into(),
                note: String::new(),
            }),
        })
        .is_saved()
    );
    assert!(b.save(Op::Delete { target, version: 1 }).is_saved());
    for c in [&a, &b] {
        assert_eq!(status(&c.library).waiting, 3);
        wait_until("provisional ids", Duration::from_secs(5), &c.library, |s| {
            s.kept.iter().any(|r| r.id < 0)
        });
    }

    cluster.start_again().unwrap();
    settled(&a.library);
    settled(&b.library);
    let one = |sql: &str| psql(&cluster, &db, sql);
    assert_eq!(
        one(
            "SELECT count(*) FROM placements WHERE copy_id = (SELECT id FROM copies WHERE barcode = '0042') AND deleted_at IS NULL"
        ),
        "1"
    );
    assert_eq!(
        one("SELECT count(*) FROM copies WHERE barcode = 'NEW1' AND deleted_at IS NULL"),
        "1"
    );
    // One computer's replay went first, whole; the other's three wait for a decision.
    let (winner, loser, loser_name, winner_name) = if status(&a.library).attention > 0 {
        (&b, &a, "circulation-desk", "cataloguing-office")
    } else {
        (&a, &b, "cataloguing-office", "circulation-desk")
    };
    assert_eq!(status(&winner.library).attention, 0);
    let items = loser.library.attention().unwrap();
    assert_eq!(items.len(), 3, "{items:#?}");
    for item in &items {
        assert!(
            item.words.contains(winner_name) && item.words.contains("while you were offline"),
            "names the winner: {item:?}"
        );
        assert_eq!(item.made_by, loser_name);
    }
    let find = |kind: AttentionKind, what: &str| {
        items
            .iter()
            .find(|i| i.kind == kind && i.what.contains(what))
            .unwrap_or_else(|| panic!("{kind:?} {what}: {items:#?}"))
            .clone()
    };
    let placement = find(AttentionKind::Conflict, "Place copy 0042");
    assert!(
        placement
            .words
            .starts_with("Copy 0042 (Dune) was placed in Rare Books by"),
        "{placement:?}"
    );
    let barcode = find(AttentionKind::Conflict, "New copy NEW1");
    assert!(
        barcode
            .words
            .starts_with("Barcode NEW1 was given to a copy of Dune by")
    );

    let mine_edited = loser_name == "circulation-desk";
    decide_each(&loser.library, &items, &placement, &barcode, mine_edited);
    settled(&loser.library);
    wait_until("decided", Duration::from_secs(30), &loser.library, |s| {
        s.attention == 0 && s.waiting == 0
    });
    let loser_mark = if mine_edited { "A shelf" } else { "B shelf" };
    assert_eq!(
        one(
            "SELECT shelf_mark FROM placements WHERE copy_id = (SELECT id FROM copies WHERE barcode = '0042') AND deleted_at IS NULL"
        ),
        loser_mark
    );
    assert_eq!(
        one("SELECT count(*) FROM copies WHERE barcode IN ('NEW1', 'NEW2') AND deleted_at IS NULL"),
        "2"
    );
    assert_eq!(
        one(&format!(
            "SELECT shelf_mark || ' ' || (deleted_at IS NULL) FROM placements WHERE id = {p99}"
        )),
        "QA 2 true",
        "the edit stands, and the placement is live"
    );
    settled(&winner.library);
    all_healthy(&cluster, &db, &[&a.library, &b.library]);
}

/// The loser's decisions: Keep mine for the placement (my shelf mark on theirs), Put it
/// elsewhere for the barcode, and for the edit against the delete: Restore (mine was the edit,
/// theirs is in the Trash) or Take theirs (mine was the delete, theirs was edited).
fn decide_each(
    loser: &Library,
    items: &[shelfmark::model::Attention],
    placement: &shelfmark::model::Attention,
    barcode: &shelfmark::model::Attention,
    mine_edited: bool,
) {
    assert!(placement.decisions().contains(&Decision::KeepMine));
    loser.decide(placement.seq, &Decision::KeepMine).unwrap();
    loser
        .decide(barcode.seq, &Decision::Elsewhere("NEW2".into()))
        .unwrap();
    let third = items
        .iter()
        .find(|i| i.seq != placement.seq && i.seq != barcode.seq)
        .unwrap();
    if mine_edited {
        assert_eq!(third.kind, AttentionKind::Deleted, "{third:?}");
        loser.decide(third.seq, &Decision::Restore).unwrap();
    } else {
        assert_eq!(third.kind, AttentionKind::Stale, "{third:?}");
        loser.decide(third.seq, &Decision::TakeTheirs).unwrap();
    }
}

#[test]
fn a_dead_line_is_noticed_within_seconds_and_a_replay_cut_around_commit_lands_once() {
    let cluster = Cluster::start("offline-line").expect("a cluster of its own");
    let db = set_up(&cluster);
    let proxy = Proxy::start(cluster.addr()).expect("proxy");
    let dir = tempfile::tempdir().unwrap();
    let c = Client::on(computer(&cluster.url_via(proxy.port(), &db), dir.path(), "desk").unwrap());
    let dune = c.book("Dune");
    let shelf = c.collection("Stacks");
    settled(&c.library);
    let rounds = 8;
    for round in 0..rounds {
        // A cut cable: nothing answers, nothing is reset.
        proxy.blackhole(true);
        let cut = Instant::now();
        wait_until("offline", Duration::from_secs(10), &c.library, |s| {
            !s.online
        });
        let noticed = cut.elapsed();
        assert!(
            noticed < Duration::from_secs(6),
            "round {round}: {noticed:?}"
        );
        proxy.cut_all();
        for i in 0..3 {
            let copy = c.copy(dune, &format!("R{round}C{i}"));
            assert!(c.place(copy, shelf).is_saved());
        }
        assert_eq!(status(&c.library).waiting, 6);
        if round % 2 == 0 {
            proxy.cut_after_next_commit();
        } else {
            proxy.cut_before_next_commit();
        }
        proxy.blackhole(false);
        let back = Instant::now();
        settled(&c.library);
        println!(
            "round {round}: offline noticed after {noticed:?}, back and replayed after {:?}",
            back.elapsed()
        );
        proxy.disarm();
    }
    assert!(proxy.cuts_after_commit() + proxy.cuts_before_commit() >= 2);
    assert_eq!(
        psql(
            &cluster,
            &db,
            "SELECT count(*) FROM copies WHERE barcode LIKE 'R%C%'"
        ),
        (rounds * 3).to_string(),
        "each copy once"
    );
    assert_eq!(
        psql(
            &cluster,
            &db,
            "SELECT count(*) FROM placements WHERE deleted_at IS NULL"
        ),
        (rounds * 3).to_string(),
        "each placement once"
    );
    assert_eq!(
        psql(
            &cluster,
            &db,
            "SELECT count(*) - count(DISTINCT id) FROM requests"
        ),
        "0"
    );
    all_healthy(&cluster, &db, &[&c.library]);
}

#[test]
fn a_thousand_offline_saves_across_restarts_all_land_and_the_replica_equals_the_server() {
    let cluster = Cluster::start("offline-many").expect("a cluster of its own");
    let db = set_up(&cluster);
    let url = cluster.url(&db);
    let dir = tempfile::tempdir().unwrap();
    let (book, shelf) = {
        let c = Client::on(computer(&url, dir.path(), "desk").unwrap());
        let ids = (c.book("Dune"), c.collection("Stacks"));
        settled(&c.library);
        ids
    };
    cluster.stop().unwrap();
    let runs = 4;
    let per_run = 125;
    for run in 0..runs {
        // The app closed and opened again, the server still away: it opens on the replica.
        let c = Client::on(computer(&url, dir.path(), "desk").unwrap());
        assert!(!status(&c.library).online);
        for i in 0..per_run {
            let copy = c.copy(book, &format!("M{run}-{i:03}"));
            assert!(c.place(copy, shelf).is_saved());
        }
        assert_eq!(status(&c.library).waiting, (run + 1) * per_run * 2);
    }
    // Opening while the server is away, with nothing on this computer yet, says so.
    let empty = tempfile::tempdir().unwrap();
    let refused = computer(&url, empty.path(), "desk").unwrap_err();
    assert!(
        refused.to_string().contains("no copy of it yet"),
        "{refused}"
    );
    cluster.start_again().unwrap();
    let c = Client::on(computer(&url, dir.path(), "desk").unwrap());
    settled(&c.library);
    assert_eq!(status(&c.library).attention, 0);
    assert_eq!(
        psql(
            &cluster,
            &db,
            "SELECT count(*) FROM placements WHERE deleted_at IS NULL"
        ),
        (runs * per_run).to_string()
    );
    assert_eq!(
        psql(&cluster, &db, "SELECT count(*) FROM copies"),
        (runs * per_run).to_string()
    );
    all_healthy(&cluster, &db, &[&c.library]);
    // The replica is not a library of its own.
    let replica = c.library.replica_file().unwrap().to_path_buf();
    let err = Library::open(&replica, &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, OpenError::Replica(_)), "{err}");
}

#[test]
fn the_window_shows_offline_saved_here_and_needs_attention_inline_and_each_action_resolves() {
    use crate::ui::{open_collection, scan, screen_text, shows, wait_for};
    use egui_kittest::kittest::Queryable;
    let cluster = Cluster::start("offline-ui").expect("a cluster of its own");
    let db = set_up(&cluster);
    let proxy = Proxy::start(cluster.addr()).expect("proxy");
    let dir = tempfile::tempdir().unwrap();
    let desk = computer(&cluster.url_via(proxy.port(), &db), dir.path(), "desk").unwrap();
    // Another computer, straight to the server.
    let office_dir = tempfile::tempdir().unwrap();
    let office = Client::on(computer(&cluster.url(&db), office_dir.path(), "office").unwrap());
    let dune = office.book("Dune");
    let c42 = office.copy(dune, "0042");
    office.copy(dune, "0043");
    let rare = office.collection("Rare Books");
    office.collection("Stacks");
    settled(&desk);
    let mut h = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(|cc| shelfmark::ShelfmarkApp::with_library(cc, desk.clone()).expect("app"));
    open_collection(&mut h, "Rare Books");

    // The line goes: the window says so and goes on working on this computer's replica.
    proxy.refuse(true).unwrap();
    proxy.cut_all();
    wait_for(&mut h, "the offline banner", |h| {
        shows(
            h,
            "Offline — changes are kept on this computer and sent when the server is back (as of",
        )
    });
    scan(&mut h, "0043");
    scan(&mut h, "0042");
    wait_for(&mut h, "saved here, not yet sent", |h| {
        shows(h, "2 changes waiting for the server")
            && h.query_all_by_label("Not yet sent").count() == 2
    });
    assert!(!shows(&h, "All changes saved"), "{}", screen_text(&h));
    assert!(
        shows(
            &h,
            "2 scans saved on this computer — not yet in the shared library"
        ) && !shows(&h, "scans added"),
        "never plain saved: {}",
        screen_text(&h)
    );

    // Meanwhile the office places 0042 in Rare Books, with its own shelf mark.
    assert!(office.save(place_op(c42, rare, "PS 1")).is_saved());
    proxy.refuse(false).unwrap();
    wait_for(
        &mut h,
        "back online, 0043 landed, 0042 waiting for a decision",
        |h| {
            !shows(h, "Offline —")
                && shows(h, "1 change needs your decision")
                && h.query_all_by_label("Needs decision").count() == 1
                && h.query_all_by_label("Not yet sent").count() == 0
        },
    );
    h.get_by_label("Needs attention (1)").click();
    wait_for(&mut h, "the Needs attention view", |h| {
        shows(h, "Copy 0042 (Dune) was placed in Rare Books by office")
            && shows(h, "while you were offline")
    });
    assert!(
        shows(&h, "Place copy 0042 in Rare Books"),
        "{}",
        screen_text(&h)
    );
    assert!(shows(&h, "PS 1"), "theirs shown: {}", screen_text(&h));
    // Put it elsewhere: in Stacks instead.
    h.get_by_label("New collection").focus();
    h.step();
    h.get_by_label("New collection").type_text("Stacks");
    h.step();
    h.get_by_label("Put it elsewhere").click();
    wait_for(&mut h, "the decision to land", |h| {
        shows(h, "Nothing needs your attention")
    });
    let one = |sql: &str| psql(&cluster, &db, sql);
    assert_eq!(
        one(
            "SELECT string_agg(k.name, ',' ORDER BY k.name) FROM placements p
             JOIN copies c ON c.id = p.copy_id JOIN collections k ON k.id = p.collection_id
             WHERE c.barcode = '0042' AND p.deleted_at IS NULL"
        ),
        "Rare Books,Stacks"
    );
    assert_eq!(
        one(
            "SELECT count(*) FROM placements p JOIN copies c ON c.id = p.copy_id
             WHERE c.barcode = '0043' AND p.deleted_at IS NULL"
        ),
        "1"
    );
    settled(&desk);
    all_healthy(&cluster, &db, &[&desk]);
}

#[test]
fn take_theirs_keep_mine_and_discard_each_resolve_on_the_server() {
    let cluster = Cluster::start("offline-decide").expect("a cluster of its own");
    let db = set_up(&cluster);
    let proxy = Proxy::start(cluster.addr()).expect("proxy");
    let dir = tempfile::tempdir().unwrap();
    let desk =
        Client::on(computer(&cluster.url_via(proxy.port(), &db), dir.path(), "desk").unwrap());
    let office_dir = tempfile::tempdir().unwrap();
    let office = Client::on(computer(&cluster.url(&db), office_dir.path(), "office").unwrap());
    let dune = office.book("Dune");
    let shelf = office.collection("Stacks");
    let copies: Vec<_> = (0..3)
        .map(|i| office.copy(dune, &format!("K{i}")))
        .collect();
    let placements: Vec<i64> = copies
        .iter()
        .map(|c| saved_id(&office.save(place_op(*c, shelf, "old"))))
        .collect();
    settled(&desk.library);
    proxy.refuse(true).unwrap();
    proxy.cut_all();
    wait_until("offline", Duration::from_secs(10), &desk.library, |s| {
        !s.online
    });
    let edit = |c: &Client, i: usize, mark: &str| {
        c.save(Op::Update {
            target: RecordRef {
                kind: Kind::Placement,
                id: placements[i],
            },
            version: 1,
            draft: Draft::Placement(PlacementDraft {
                copy_id: copies[i],
                collection_id: shelf,
                shelf_mark: mark.into(),
                note: String::new(),
            }),
        })
    };
    for i in 0..3 {
        assert!(edit(&desk, i, "mine").is_saved());
        assert!(edit(&office, i, "theirs").is_saved());
    }
    proxy.refuse(false).unwrap();
    wait_until(
        "three stale edits held",
        Duration::from_secs(30),
        &desk.library,
        |s| s.online && s.attention == 3 && s.waiting == 0,
    );
    let items = desk.library.attention().unwrap();
    assert!(
        items
            .iter()
            .all(|i| i.kind == AttentionKind::Stale
                && i.words.starts_with("It was changed by office"))
    );
    let decisions = [Decision::KeepMine, Decision::TakeTheirs, Decision::Discard];
    for (item, decision) in items.iter().zip(&decisions) {
        assert!(item.decisions().contains(decision), "{item:?}");
        desk.library.decide(item.seq, decision).unwrap();
    }
    wait_until("decided", Duration::from_secs(30), &desk.library, |s| {
        s.attention == 0 && s.waiting == 0
    });
    let marks = psql(
        &cluster,
        &db,
        "SELECT string_agg(shelf_mark, ',' ORDER BY id) FROM placements",
    );
    assert_eq!(marks, "mine,theirs,theirs");
    settled(&desk.library);
    settled(&office.library);
    all_healthy(&cluster, &db, &[&desk.library, &office.library]);
}

/// `shelfmark-bench` on the shared library as the window opens it (replica in `dir`).
fn bench(url: &str, dir: &Path, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(crate::util::BENCH);
    c.args(["--db", url, "--data-dir"]).arg(dir).args(args);
    c
}

/// Runs `cmd` and kills it with SIGKILL after `after`; true if it was still running. A
/// process that ended by itself must have ended well.
fn kill_after(mut cmd: std::process::Command, after: Duration) -> bool {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(after);
    let ended = child.try_wait().expect("wait");
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    if let Some(status) = ended {
        assert!(
            status.success(),
            "{status}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    ended.is_none()
}

/// Lines in a file (0 if it is not there yet).
fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// Runs `cmd` and kills it with SIGKILL as soon as `ready`; true if it was still running then.
fn kill_when(mut cmd: std::process::Command, ready: impl Fn() -> bool) -> bool {
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_mins(1);
    while !ready() && Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let running = child.try_wait().expect("wait").is_none();
    let _ = child.kill();
    let _ = child.wait();
    running
}

#[test]
fn kill_9_while_offline_and_in_the_middle_of_replays_loses_nothing_and_applies_nothing_twice() {
    let cluster = Cluster::start("offline-kill").expect("a cluster of its own");
    let db = set_up(&cluster);
    let url = cluster.url(&db);
    let dir = tempfile::tempdir().unwrap();
    settled(&computer(&url, dir.path(), "desk").unwrap());
    cluster.stop().unwrap();
    // Offline: processes saving to the outbox, killed at random moments.
    let rounds = 12;
    let mut killed = 0;
    let acks = dir.path().join("acks");
    for round in 0..rounds {
        let seed = (round + 1).to_string();
        let ack_arg = acks.display().to_string();
        let load = bench(
            &url,
            dir.path(),
            &[
                "load",
                "--mode",
                "distinct",
                "--threads",
                "4",
                "--pairs",
                "50",
                "--seed",
                &seed,
                "--ack-log",
                &ack_arg,
            ],
        );
        // Killed once it has had between 1 and 150 of its 200 placements acknowledged.
        let target = lines(&acks) + 1 + fastrand::usize(0..150);
        killed += usize::from(kill_when(load, || lines(&acks) >= target));
    }
    assert_eq!(killed, rounds, "every load was killed mid-way");
    // What the outbox holds is what must land, exactly once: read it as it is on disk.
    let replica = crate::util::replica_path(dir.path());
    let queued = |sql: &str| -> i64 {
        rusqlite::Connection::open(&replica)
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    let placements = queued("SELECT count(*) FROM outbox WHERE kind = 'placement'");
    let copies =
        queued("SELECT count(*) FROM outbox WHERE kind = 'copy' AND op LIKE '{\"Create\"%'");
    // Every acknowledged placement is in the outbox (more may be: committed, killed before
    // its line was written).
    assert!(
        lines(&acks) as i64 <= placements,
        "{} acknowledged",
        lines(&acks)
    );
    assert!(
        placements > 0,
        "saves were queued in {}: {} entries",
        replica.display(),
        queued("SELECT count(*) FROM outbox")
    );
    cluster.start_again().unwrap();
    // Replays killed in the middle, many times.
    let mut cut = 0;
    for _ in 0..10 {
        cut += usize::from(kill_after(
            bench(&url, dir.path(), &["sync"]),
            Duration::from_millis(100 + fastrand::u64(0..400)),
        ));
    }
    println!(
        "{placements} placements and {copies} copies queued; {killed} loads and {cut} replays killed"
    );
    let status = bench(&url, dir.path(), &["sync"]).status().unwrap();
    assert!(status.success());
    let one = |sql: &str| psql(&cluster, &db, sql);
    assert_eq!(
        one("SELECT count(*) FROM placements WHERE deleted_at IS NULL"),
        placements.to_string()
    );
    assert_eq!(one("SELECT count(*) FROM copies"), copies.to_string());
    assert_eq!(
        one("SELECT count(*) - count(DISTINCT id) FROM requests"),
        "0"
    );
    assert_eq!(
        queued("SELECT count(*) FROM outbox"),
        0,
        "nothing waits, nothing needs attention"
    );
    let c = computer(&url, dir.path(), "desk").unwrap();
    settled(&c);
    all_healthy(&cluster, &db, &[&c]);
}

#[test]
fn a_scan_of_a_copy_made_offline_waits_for_it_and_provisional_ids_are_never_given_twice() {
    let cluster = Cluster::start("offline-ids").expect("a cluster of its own");
    let db = set_up(&cluster);
    let url = cluster.url(&db);
    let (dir, office_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let desk = Client::on(computer(&url, dir.path(), "desk").unwrap());
    let office = Client::on(computer(&url, office_dir.path(), "office").unwrap());
    let dune = office.book("Dune");
    let stacks = office.collection("Stacks");
    settled(&desk.library);
    desk.library.hold_offline(true);
    wait_until("offline", Duration::from_secs(10), &desk.library, |s| {
        !s.online
    });
    // Offline: a new copy 0042, scanned into Stacks; meanwhile the office gives 0042 to a copy.
    let mine = saved_id(&desk.save(Op::Create(Draft::Copy(CopyDraft {
        book_id: dune,
        barcode: "0042".into(),
    }))));
    assert!(mine < 0, "a provisional id: {mine}");
    assert!(
        desk.save(Op::PlaceBarcode {
            collection: stacks,
            barcode: "0042".into(),
        })
        .is_saved()
    );
    office.copy(dune, "0042");
    desk.library.hold_offline(false);
    wait_until("both held", Duration::from_secs(30), &desk.library, |s| {
        s.online && s.waiting == 0 && s.attention == 2
    });
    // The scan was of my copy: it waits for it, and their 0042 is not placed instead.
    let one = |sql: &str| psql(&cluster, &db, sql);
    assert_eq!(one("SELECT count(*) FROM placements"), "0");
    let items = desk.library.attention().unwrap();
    let copy = items
        .iter()
        .find(|i| i.kind == AttentionKind::Conflict)
        .unwrap();
    let scan = items
        .iter()
        .find(|i| i.kind == AttentionKind::Blocked)
        .unwrap();
    assert!(scan.words.contains("New copy 0042"), "{scan:?}");
    desk.library
        .decide(copy.seq, &Decision::Elsewhere("0043".into()))
        .unwrap();
    wait_until("both landed", Duration::from_secs(30), &desk.library, |s| {
        s.waiting == 0 && s.attention == 0
    });
    assert_eq!(
        one("SELECT c.barcode FROM placements p JOIN copies c ON c.id = p.copy_id"),
        "0043"
    );
    settled(&desk.library);
    // Offline again: the next copy made here gets an id never given before.
    desk.library.hold_offline(true);
    wait_until("offline", Duration::from_secs(10), &desk.library, |s| {
        !s.online
    });
    let next = saved_id(&desk.save(Op::Create(Draft::Copy(CopyDraft {
        book_id: dune,
        barcode: "0044".into(),
    }))));
    assert!(next < mine, "{next} after {mine}");
    desk.library.hold_offline(false);
    settled(&desk.library);
    settled(&office.library);
    all_healthy(&cluster, &db, &[&desk.library, &office.library]);
}
