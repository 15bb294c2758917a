//! Throwaway PostgreSQL 15 clusters for tests (plain std, no extra crates).
//!
//! * [`ensure_installed`] finds the server binaries (`/usr/lib/postgresql/15/bin`,
//!   or `$PGHARNESS_PG_BIN`) and, when they are missing, installs them with
//!   `apt-get install -y postgresql`. If that fails too, it returns an error
//!   that begins "PostgreSQL 15 is not installed and could not be installed"
//!   (tests fail; nothing is ever skipped).
//! * [`Cluster::start`] / [`Cluster::builder`] start a server in a fresh
//!   directory under `/tmp` (its data dir is a copy of one `initdb` run per
//!   test process, which is removed at exit like a cluster), on a free port, listening on 127.0.0.1
//!   only, with its unix socket inside that directory, `fsync = on` and
//!   `synchronous_commit = on`. PostgreSQL refuses to run as root, so when the
//!   tests run as root every server-side binary (`initdb`, `pg_ctl`,
//!   `openssl`, the watchdog) runs as the `postgres` system user
//!   (setuid/setgid in the child, like `runuser`), and the directory is
//!   chowned to it.
//! * Every cluster has a watchdog: a `sh` child whose stdin is a pipe whose
//!   only write end is held by the test process. However the test process
//!   ends (normal exit without running static destructors, panic, SIGKILL),
//!   the kernel closes that write end, the watchdog reads EOF and runs
//!   `pg_ctl stop -m immediate` (then `kill -9` of the postmaster if needed)
//!   and removes the directory. Every `pg_ctl` the harness runs holds a
//!   `flock` on `DIR/ctl.lock`, and the watchdog takes that lock before it
//!   stops the server, so a `pg_ctl start`/`restart` that outlives a killed
//!   test process cannot bring a server back after the watchdog ran. Dropping a [`Cluster`] closes the pipe and
//!   waits (bounded) for the watchdog, so the same code path does the cleanup.
//! * [`shared`] gives one cluster per test process; [`Cluster::fresh_database`]
//!   gives each test its own database in it. Restart and fault tests should
//!   start their own clusters.
//!
//! Authentication (`pg_hba.conf`, first match wins): the unix socket is
//! `trust`; [`ClusterBuilder::hba_line`] lines come next; with
//! [`ClusterBuilder::password_auth`] members of the group roles
//! `pgh_scram` / `pgh_md5` must authenticate with `scram-sha-256` / `md5`
//! (see [`Cluster::create_password_role`]); everyone else is `trust` from
//! 127.0.0.1. With [`ClusterBuilder::tls`] a CA and a server certificate for
//! `127.0.0.1` and `localhost` are made with the `openssl` CLI and `ssl = on`;
//! [`Cluster::ca_cert`] is the file for `sslrootcert=` (`sslmode=verify-full`).
//!
//! The harness's own administration ([`Cluster::psql`]) goes through the unix
//! socket, so it works whatever the TCP `pg_hba` lines say.
#![allow(
    clippy::needless_pass_by_value,
    clippy::unused_self,
    reason = "a test harness: plain signatures over pedantry"
)]
#![expect(
    clippy::disallowed_methods,
    reason = "test harness threads (log readers, the proxy's pumps) live as long as their test"
)]

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where Debian's `postgresql-15` package puts the server binaries.
pub const DEFAULT_PG_BIN: &str = "/usr/lib/postgresql/15/bin";
/// Binaries the harness needs from the bin dir.
const REQUIRED: [&str; 4] = ["initdb", "pg_ctl", "postgres", "psql"];
/// How often `Cluster::start` tries another port when the chosen one was taken.
const PORT_ATTEMPTS: usize = 5;
/// Upper bound for one `apt-get` call.
const APT_TIMEOUT: Duration = Duration::from_mins(15);
/// Upper bound for `initdb`.
const INITDB_TIMEOUT: Duration = Duration::from_mins(2);
/// Seconds `pg_ctl -w` may wait for the server (startup incl. crash recovery).
const PG_CTL_WAIT_SECS: u64 = 90;
/// Upper bound for one `psql` run.
const PSQL_TIMEOUT: Duration = Duration::from_mins(2);
/// How long `Drop` waits for the watchdog to stop the server and clean up.
const WATCHDOG_TIMEOUT: Duration = Duration::from_secs(40);

/// The watchdog. Runs as the server's OS user, in its own process group, and
/// ignores terminal signals so a Ctrl-C aimed at the test run cannot kill it
/// before it has cleaned up. Blocks until its stdin reaches EOF.
const WATCHDOG_SCRIPT: &str = r#"
trap '' HUP INT QUIT TERM PIPE
while read -r _line; do :; done
# A pg_ctl started by the test process survives its death: wait (bounded)
# until it is done (every pg_ctl runs under this lock), then stop.
/usr/bin/flock -o -w 150 "$PGH_DIR/ctl.lock" \
  "$PGH_PG_CTL" stop -D "$PGH_DATA" -m immediate -w -t 20 >/dev/null 2>&1
if [ -f "$PGH_DATA/postmaster.pid" ]; then
  pid=$(head -n 1 "$PGH_DATA/postmaster.pid")
  case "$pid" in ''|*[!0-9]*) ;; *) kill -9 "$pid" 2>/dev/null ;; esac
fi
rm -rf "$PGH_DIR"
"#;

// ---------------------------------------------------------------------------
// Installation
// ---------------------------------------------------------------------------

/// The bin dir in use: `$PGHARNESS_PG_BIN` if set, else [`DEFAULT_PG_BIN`].
pub fn pg_bin_dir() -> PathBuf {
    std::env::var_os("PGHARNESS_PG_BIN")
        .map_or_else(|| PathBuf::from(DEFAULT_PG_BIN), PathBuf::from)
}

/// Makes sure the PostgreSQL 15 binaries are there, installing them with
/// `apt-get install -y postgresql` (after `apt-get update` if the first try
/// fails) when they are not. Done once per process; returns the bin dir.
pub fn ensure_installed() -> Result<PathBuf, String> {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let bin = pg_bin_dir();
            install_with(&bin, Path::new("apt-get")).map(|()| bin)
        })
        .clone()
}

/// [`ensure_installed`] with the bin dir and the `apt-get` program given
/// (tests pass a program that fails to check the error path).
pub fn install_with(bin: &Path, apt_get: &Path) -> Result<(), String> {
    let missing = missing_binaries(bin);
    if missing.is_empty() {
        return Ok(());
    }
    let what = format!("{} missing in {}", missing.join(", "), bin.display());
    let fail = |why: String| {
        format!("PostgreSQL 15 is not installed and could not be installed: {why}; run .ci/test")
    };
    apt_install("postgresql", &what, apt_get).map_err(fail)?;
    let still = missing_binaries(bin);
    if still.is_empty() {
        Ok(())
    } else {
        Err(fail(format!(
            "apt-get install succeeded but {} still missing in {}",
            still.join(", "),
            bin.display()
        )))
    }
}

/// `apt-get install -y PACKAGE` (after `apt-get update` if the first try fails), as root;
/// `what` says what is missing, for the error.
pub fn apt_install(package: &str, what: &str, apt_get: &Path) -> Result<(), String> {
    let euid = effective_uid();
    if euid != Some(0) {
        return Err(format!(
            "{what}, and installing needs root (running as uid {})",
            euid.map_or_else(|| "unknown".to_string(), |u| u.to_string())
        ));
    }
    let apt = |args: &[&str]| -> Result<(), String> {
        let mut cmd = Command::new(apt_get);
        cmd.args(["-o", "DPkg::Lock::Timeout=300"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive");
        let label = format!("{} {}", apt_get.display(), args.join(" "));
        let out = run(cmd, None, APT_TIMEOUT, &label)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`{label}` failed ({}): {}",
                out.status,
                tail(&out.stderr, 10)
            ))
        }
    };
    if let Err(first) = apt(&["install", "-y", package]) {
        // A fresh machine may have no package lists yet.
        apt(&["update"]).map_err(|e| format!("{what}; {first}; then {e}"))?;
        apt(&["install", "-y", package]).map_err(|e| format!("{what}; {e}"))?;
    }
    Ok(())
}

fn missing_binaries(bin: &Path) -> Vec<String> {
    REQUIRED
        .iter()
        .filter(|name| {
            fs::metadata(bin.join(name)).map_or(true, |m| {
                !m.is_file() || m.permissions().mode() & 0o111 == 0
            })
        })
        .map(ToString::to_string)
        .collect()
}

// ---------------------------------------------------------------------------
// Users, commands
// ---------------------------------------------------------------------------

/// Effective uid of this process (from `/proc/self/status`).
fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// uid and gid of a user, from `/etc/passwd`, else from `id`.
fn lookup_user(name: &str) -> Option<(u32, u32)> {
    if let Ok(passwd) = fs::read_to_string("/etc/passwd") {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() > 3
                && f[0] == name
                && let (Ok(u), Ok(g)) = (f[2].parse(), f[3].parse())
            {
                return Some((u, g));
            }
        }
    }
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, name]).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// Output of a finished command.
struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs `cmd` to completion with a deadline (killed when it passes).
fn run(
    mut cmd: Command,
    stdin: Option<&[u8]>,
    timeout: Duration,
    what: &str,
) -> Result<Finished, String> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{what}: could not be started: {e}"))?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let data = data.to_vec();
        // A thread, so a child that writes a lot before reading all its
        // input cannot deadlock us.
        thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("{what}: could not be waited for: {e}")),
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{what}: timed out after {timeout:?} and was killed"
            ));
        }
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    };
    Ok(Finished {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// The last `lines` lines of some output, as text.
fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A usable SQL identifier (checked, so no quoting problems).
fn check_ident(kind: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{kind} name {name:?} must match [A-Za-z_][A-Za-z0-9_]{{0,62}}"
        ))
    }
}

fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Percent-encodes a URL userinfo component.
fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A port that was free a moment ago and not yet handed out by this process.
fn free_port() -> Result<u16, String> {
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    for _ in 0..50 {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("cannot bind 127.0.0.1:0 to find a free port: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("cannot read a bound port: {e}"))?
            .port();
        let mut taken = lock(&HANDED_OUT);
        if !taken.contains(&port) {
            taken.push(port);
            return Ok(port);
        }
    }
    Err("no free port found on 127.0.0.1 in 50 tries".to_string())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------

/// How a password role must authenticate (see [`Cluster::create_password_role`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordKind {
    /// Stored as SCRAM-SHA-256, `scram-sha-256` pg_hba line (group `pgh_scram`).
    Scram,
    /// Stored as MD5, `md5` pg_hba line (group `pgh_md5`).
    Md5,
}

impl PasswordKind {
    fn group(self) -> &'static str {
        match self {
            PasswordKind::Scram => "pgh_scram",
            PasswordKind::Md5 => "pgh_md5",
        }
    }
}

/// Time spent bringing a cluster up.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Getting a data dir: `initdb` of the per-process template (first
    /// cluster only) plus copying it.
    pub initdb: Duration,
    /// Whether the template already existed (so `initdb` is just the copy).
    pub template_reused: bool,
    /// Certificate generation (zero without TLS).
    pub tls: Duration,
    /// `pg_ctl start -w` until the server accepts connections.
    pub start: Duration,
    /// Everything in `Cluster::start`, including the above.
    pub total: Duration,
}

/// Options for a cluster; `Cluster::builder().tls(true).start("name")`.
#[derive(Clone, Debug)]
pub struct ClusterBuilder {
    password_auth: bool,
    tls: bool,
    max_connections: u32,
    settings: Vec<(String, String)>,
    hba_lines: Vec<String>,
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        ClusterBuilder {
            password_auth: false,
            tls: false,
            max_connections: 200,
            settings: Vec::new(),
            hba_lines: Vec::new(),
        }
    }
}

impl ClusterBuilder {
    /// Adds `scram-sha-256` and `md5` pg_hba lines for the roles made by
    /// [`Cluster::create_password_role`].
    pub fn password_auth(mut self, on: bool) -> Self {
        self.password_auth = on;
        self
    }

    /// Generates a CA and a server certificate and turns `ssl` on.
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// `max_connections` (default 200).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Any other `postgresql.conf` setting; `value` is written as given, so
    /// quote strings yourself: `.setting("work_mem", "'8MB'")`.
    pub fn setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.to_string(), value.to_string()));
        self
    }

    /// A pg_hba.conf line placed before the harness's own TCP lines, e.g.
    /// `"hostnossl all all 127.0.0.1/32 reject"`.
    pub fn hba_line(mut self, line: &str) -> Self {
        self.hba_lines.push(line.to_string());
        self
    }

    /// initdb + start. `name` only labels the temp dir.
    pub fn start(self, name: &str) -> Result<Cluster, String> {
        Cluster::start_with(self, name)
    }
}

/// A running throwaway PostgreSQL server. Dropping it stops the server and
/// deletes its directory.
pub struct Cluster {
    name: String,
    dir: PathBuf,
    data: PathBuf,
    sock: PathBuf,
    log: PathBuf,
    bin: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
    ca_cert: Option<PathBuf>,
    password_auth: bool,
    timings: Timings,
    /// Serialises pg_ctl calls.
    ctl: Mutex<()>,
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
}

static DB_COUNTER: AtomicU64 = AtomicU64::new(0);
static DIR_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The cluster shared by all ordinary tests of this test process, started on
/// first use. It is never dropped (statics aren't); the watchdog stops it
/// when the process exits. Panics with the reason if it cannot start.
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();
    match SHARED.get_or_init(|| Cluster::start("shared")) {
        Ok(cluster) => cluster,
        Err(e) => panic!("the shared PostgreSQL test cluster could not start: {e}"),
    }
}

impl Cluster {
    /// A cluster with default options (no TLS, no password auth).
    pub fn start(name: &str) -> Result<Cluster, String> {
        ClusterBuilder::default().start(name)
    }

    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    fn start_with(opts: ClusterBuilder, name: &str) -> Result<Cluster, String> {
        let t0 = Instant::now();
        let bin = ensure_installed()?;
        let run_as = if effective_uid() == Some(0) {
            Some(lookup_user("postgres").ok_or(
                "running as root, but there is no `postgres` system user to run the server as",
            )?)
        } else {
            None
        };
        let dir = make_dir(name, run_as)?;
        let data = dir.join("data");
        let sock = dir.join("sock");
        let log = dir.join("server.log");
        let watchdog = spawn_watchdog(&bin, &dir, &data, run_as).inspect_err(|_| {
            let _ = fs::remove_dir_all(&dir);
        })?;
        // From here on the watchdog owns the cleanup: dropping `cluster`
        // (also on every error return below) closes its pipe.
        let mut cluster = Cluster {
            name: name.to_string(),
            dir,
            data,
            sock,
            log,
            bin,
            port: 0,
            run_as,
            ca_cert: None,
            password_auth: opts.password_auth,
            timings: Timings::default(),
            ctl: Mutex::new(()),
            watchdog: Mutex::new(Some(watchdog)),
        };
        cluster.mkdir_owned(&cluster.sock)?;

        let t = Instant::now();
        cluster.timings.template_reused = cluster.copy_template()?;
        cluster.timings.initdb = t.elapsed();

        if opts.tls {
            let t = Instant::now();
            cluster.ca_cert = Some(cluster.make_certificates()?);
            cluster.timings.tls = t.elapsed();
        }
        cluster.write_hba(&opts)?;
        cluster.append_owned(
            &cluster.data.join("postgresql.conf"),
            "\n# Added by the test harness.\ninclude = 'pgharness.conf'\n",
        )?;

        let t = Instant::now();
        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            cluster.port = free_port()?;
            cluster.write_settings(&opts)?;
            match cluster.pg_ctl_start() {
                Ok(()) => {
                    last_error.clear();
                    break;
                }
                Err(e) => {
                    let log = cluster.server_log();
                    let port_taken = ["could not bind", "Address already in use"]
                        .iter()
                        .any(|s| log.contains(s));
                    last_error = e;
                    if !port_taken {
                        break;
                    }
                }
            }
        }
        if !last_error.is_empty() {
            return Err(format!(
                "cluster {name:?} did not start: {last_error}\n--- server log ({}) ---\n{}",
                cluster.log.display(),
                tail(cluster.server_log().as_bytes(), 30)
            ));
        }
        cluster.timings.start = t.elapsed();

        if opts.password_auth {
            cluster.psql(
                "postgres",
                "CREATE ROLE pgh_scram NOLOGIN; CREATE ROLE pgh_md5 NOLOGIN;",
            )?;
        }
        cluster.timings.total = t0.elapsed();
        Ok(cluster)
    }

    // -- accessors ---------------------------------------------------------

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `postgres://postgres@127.0.0.1:PORT/db`.
    pub fn url(&self, db: &str) -> String {
        self.url_via(self.port, db)
    }

    /// Like [`Cluster::url`] but for another port on 127.0.0.1 (a proxy).
    pub fn url_via(&self, port: u16, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{db}")
    }

    /// URL for another user, with an optional password (percent-encoded).
    pub fn url_as(&self, user: &str, password: Option<&str>, db: &str) -> String {
        let auth = match password {
            Some(p) => format!("{}:{}", url_encode(user), url_encode(p)),
            None => url_encode(user),
        };
        format!("postgres://{auth}@127.0.0.1:{}/{db}", self.port)
    }

    /// The temp dir holding everything (data, socket, log, certificates).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    pub fn socket_dir(&self) -> &Path {
        &self.sock
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The CA certificate (for `sslrootcert=`) when built with `tls(true)`.
    pub fn ca_cert(&self) -> Option<&Path> {
        self.ca_cert.as_deref()
    }

    pub fn timings(&self) -> Timings {
        self.timings
    }

    /// The server log so far (empty if unreadable).
    pub fn server_log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether something accepts TCP connections on the port right now.
    pub fn is_accepting(&self) -> bool {
        TcpStream::connect_timeout(&self.addr(), Duration::from_secs(1)).is_ok()
    }

    // -- SQL -----------------------------------------------------------------

    /// Runs `sql` (any number of statements, each in its own transaction
    /// unless you write BEGIN/COMMIT) with `psql` as superuser `postgres`
    /// over the unix socket. Returns unaligned, tuples-only output
    /// (`SELECT 1` gives `"1"`; columns are `|`-separated), trailing newline
    /// removed. Stops at the first error.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let conninfo = format!(
            "host={} port={} user=postgres dbname={db}",
            self.sock.display(),
            self.port
        );
        self.psql_conninfo(&conninfo, sql)
    }

    /// [`Cluster::psql`] with any libpq connection string, e.g.
    /// `"host=127.0.0.1 port=5 user=u password=p dbname=d sslmode=verify-full sslrootcert=/ca.crt"`.
    pub fn psql_conninfo(&self, conninfo: &str, sql: &str) -> Result<String, String> {
        let mut cmd = Command::new(self.bin.join("psql"));
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.dir)
            .env("PGCONNECT_TIMEOUT", "10")
            .env("PGPASSFILE", "/dev/null")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"])
            .arg("-d")
            .arg(conninfo);
        let what = format!("psql ({conninfo})");
        let out = run(cmd, Some(sql.as_bytes()), PSQL_TIMEOUT, &what)?;
        if out.status.success() {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            while text.ends_with('\n') {
                text.pop();
            }
            Ok(text)
        } else {
            let short: String = sql.chars().take(200).collect();
            Err(format!(
                "{what} failed ({}) running {short:?}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `CREATE DATABASE name`.
    pub fn create_database(&self, name: &str) -> Result<(), String> {
        check_ident("database", name)?;
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\";"))
            .map(drop)
    }

    /// A new, empty database with a name unique in this process. Panics
    /// (with the reason) if it cannot be created.
    pub fn fresh_database(&self) -> String {
        let n = DB_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{}_{n}", std::process::id());
        if let Err(e) = self.create_database(&name) {
            panic!("could not create a fresh test database: {e}");
        }
        name
    }

    /// A role that can log in (trust, from 127.0.0.1) and read every table
    /// (`pg_read_all_data`) but not write: it owns nothing, has no write
    /// grants, and its transactions default to read-only.
    pub fn create_readonly_role(&self, name: &str) -> Result<(), String> {
        check_ident("role", name)?;
        self.psql(
            "postgres",
            &format!(
                "CREATE ROLE \"{name}\" LOGIN;\n\
                 GRANT pg_read_all_data TO \"{name}\";\n\
                 ALTER ROLE \"{name}\" SET default_transaction_read_only = on;"
            ),
        )
        .map(drop)
    }

    /// A login role that must authenticate over TCP with `password`, stored
    /// and checked as SCRAM-SHA-256 or MD5. Needs `password_auth(true)`.
    pub fn create_password_role(
        &self,
        name: &str,
        password: &str,
        kind: PasswordKind,
    ) -> Result<(), String> {
        check_ident("role", name)?;
        if !self.password_auth {
            return Err(format!(
                "cluster {:?} was built without password_auth(true), so pg_hba.conf has no password lines",
                self.name
            ));
        }
        let encryption = match kind {
            PasswordKind::Scram => "scram-sha-256",
            PasswordKind::Md5 => "md5",
        };
        self.psql(
            "postgres",
            &format!(
                "SET password_encryption = '{encryption}';\n\
                 CREATE ROLE \"{name}\" LOGIN PASSWORD {} IN ROLE {};",
                sql_literal(password),
                kind.group()
            ),
        )
        .map(drop)
    }

    // -- server control ------------------------------------------------------

    /// `pg_ctl restart -m immediate`: a crash (no checkpoint, no clean
    /// shutdown) followed by crash recovery; returns once it accepts
    /// connections again.
    pub fn restart_immediate(&self) -> Result<(), String> {
        let _guard = lock(&self.ctl);
        self.pg_ctl(&["restart", "-m", "immediate", "-l"], true)
    }

    /// `pg_ctl stop -m fast` (data kept; see [`Cluster::start_again`]).
    pub fn stop(&self) -> Result<(), String> {
        let _guard = lock(&self.ctl);
        self.pg_ctl(&["stop", "-m", "fast"], false)
    }

    /// `pg_ctl stop -m immediate` (a crash; data kept).
    pub fn stop_immediate(&self) -> Result<(), String> {
        let _guard = lock(&self.ctl);
        self.pg_ctl(&["stop", "-m", "immediate"], false)
    }

    /// Starts a stopped cluster again, same port and data.
    pub fn start_again(&self) -> Result<(), String> {
        let _guard = lock(&self.ctl);
        self.pg_ctl_start()
    }

    // -- internals -------------------------------------------------------------

    /// A command for a server-side binary: clean environment, run as the
    /// `postgres` user when we are root.
    fn server_cmd(&self, program: &Path) -> Command {
        server_cmd(program, &self.dir, self.run_as)
    }

    /// Fills `data` from the per-process initdb template (`tar | tar`,
    /// which is much faster here than `cp -a`). True if the template
    /// already existed.
    fn copy_template(&self) -> Result<bool, String> {
        let (template, reused) = template(&self.bin, self.run_as)?;
        let mut cmd = self.server_cmd(Path::new("/bin/sh"));
        cmd.arg("-c")
            .arg(r#"set -e; mkdir -m 700 "$2"; tar -C "$1" -cf - . | tar -C "$2" -xf -"#)
            .arg("sh")
            .arg(&template.data)
            .arg(&self.data);
        let out = run(cmd, None, INITDB_TIMEOUT, "copying the initdb template")?;
        if !out.status.success() {
            return Err(format!(
                "copying the initdb template {} failed ({}): {}",
                template.data.display(),
                out.status,
                tail(&out.stderr, 10)
            ));
        }
        fs::set_permissions(&self.data, fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("chmod {}: {e}", self.data.display()))?;
        Ok(reused)
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        self.pg_ctl(&["start", "-l"], true)
    }

    /// `pg_ctl ARGS [LOGFILE] -D data -w -t N -s`; `with_log` appends the log
    /// path after ARGS (which then must end in `-l`).
    fn pg_ctl(&self, args: &[&str], with_log: bool) -> Result<(), String> {
        // Under flock, so the watchdog can wait for it (see WATCHDOG_SCRIPT).
        let mut cmd = self.server_cmd(Path::new("/usr/bin/flock"));
        cmd.arg("-o")
            .arg(self.dir.join("ctl.lock"))
            .arg(self.bin.join("pg_ctl"))
            .args(args);
        if with_log {
            cmd.arg(&self.log);
        }
        cmd.arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", &PG_CTL_WAIT_SECS.to_string(), "-s"]);
        let what = format!("pg_ctl {}", args[0]);
        let out = run(cmd, None, Duration::from_secs(PG_CTL_WAIT_SECS + 30), &what)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed for cluster {:?} ({}): {}\n--- server log ---\n{}",
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                tail(self.server_log().as_bytes(), 20)
            ))
        }
    }

    fn write_settings(&self, opts: &ClusterBuilder) -> Result<(), String> {
        let mut conf = format!(
            "listen_addresses = '127.0.0.1'\n\
             port = {}\n\
             unix_socket_directories = '{}'\n\
             max_connections = {}\n\
             shared_buffers = '16MB'\n\
             fsync = on\n\
             synchronous_commit = on\n\
             full_page_writes = on\n\
             huge_pages = off\n\
             logging_collector = off\n\
             log_line_prefix = '%m [%p] %q%u@%d '\n\
             password_encryption = 'scram-sha-256'\n",
            self.port,
            self.sock.display(),
            opts.max_connections
        );
        if let Some(ca) = &self.ca_cert {
            let tls = ca.parent().unwrap_or(&self.dir);
            let _ = write!(
                conf,
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                tls.join("server.crt").display(),
                tls.join("server.key").display()
            );
        }
        for (name, value) in &opts.settings {
            let _ = writeln!(conf, "{name} = {value}");
        }
        self.write_owned(&self.data.join("pgharness.conf"), &conf)
    }

    fn write_hba(&self, opts: &ClusterBuilder) -> Result<(), String> {
        let mut hba = String::from(
            "# Written by the test harness. First match wins.\n\
             local all all trust\n",
        );
        for line in &opts.hba_lines {
            hba.push_str(line);
            hba.push('\n');
        }
        if opts.password_auth {
            hba.push_str(
                "host all +pgh_scram 127.0.0.1/32 scram-sha-256\n\
                 host all +pgh_md5 127.0.0.1/32 md5\n",
            );
        }
        hba.push_str("host all all 127.0.0.1/32 trust\n");
        self.write_owned(&self.data.join("pg_hba.conf"), &hba)
    }

    /// CA + server certificate (CN 127.0.0.1, SAN IP:127.0.0.1 and
    /// DNS:localhost), P-256 keys; returns the CA certificate path.
    fn make_certificates(&self) -> Result<PathBuf, String> {
        let tls = self.dir.join("tls");
        self.mkdir_owned(&tls)?;
        fs::set_permissions(&tls, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod {}: {e}", tls.display()))?;
        self.write_owned(
            &tls.join("server.ext"),
            "basicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\n\
             extendedKeyUsage = serverAuth\n\
             subjectAltName = IP:127.0.0.1, DNS:localhost\n",
        )?;
        let serial = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos())
            .to_string();
        let steps: [&[&str]; 3] = [
            &[
                "req",
                "-x509",
                "-new",
                "-nodes",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "30",
                "-subj",
                "/CN=pgharness test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            &[
                "req",
                "-new",
                "-nodes",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-set_serial",
                &serial,
                "-days",
                "30",
                "-extfile",
                "server.ext",
                "-out",
                "server.crt",
            ],
        ];
        for args in steps {
            let mut cmd = self.server_cmd(Path::new("openssl"));
            cmd.current_dir(&tls).args(args);
            let what = format!("openssl {}", args[..2].join(" "));
            let out = run(cmd, None, Duration::from_mins(1), &what)?;
            if !out.status.success() {
                return Err(format!(
                    "{what} failed ({}): {}",
                    out.status,
                    tail(&out.stderr, 10)
                ));
            }
        }
        for key in ["ca.key", "server.key"] {
            fs::set_permissions(tls.join(key), fs::Permissions::from_mode(0o600))
                .map_err(|e| format!("chmod {key}: {e}"))?;
        }
        Ok(tls.join("ca.crt"))
    }

    fn chown(&self, path: &Path) -> Result<(), String> {
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", path.display()))?;
        }
        Ok(())
    }

    fn mkdir_owned(&self, path: &Path) -> Result<(), String> {
        fs::create_dir(path).map_err(|e| format!("mkdir {}: {e}", path.display()))?;
        self.chown(path)
    }

    fn write_owned(&self, path: &Path, text: &str) -> Result<(), String> {
        fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
        self.chown(path)
    }

    fn append_owned(&self, path: &Path, text: &str) -> Result<(), String> {
        fs::OpenOptions::new()
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("append to {}: {e}", path.display()))
    }
}

/// A data dir made by `initdb` once per process and copied for each
/// cluster. Its watchdog removes it when the process ends.
struct Template {
    data: PathBuf,
    _watchdog: Mutex<(Child, ChildStdin)>,
}

/// The template, made on first use; true in the second field if it
/// already existed.
fn template(bin: &Path, run_as: Option<(u32, u32)>) -> Result<(&'static Template, bool), String> {
    static TEMPLATE: OnceLock<Result<Template, String>> = OnceLock::new();
    let mut made_now = false;
    let template = TEMPLATE.get_or_init(|| {
        made_now = true;
        let dir = make_dir("template", run_as)?;
        let data = dir.join("data");
        let watchdog = spawn_watchdog(bin, &dir, &data, run_as).inspect_err(|_| {
            let _ = fs::remove_dir_all(&dir);
        })?;
        let template = Template {
            data,
            _watchdog: Mutex::new(watchdog),
        };
        initdb(bin, &dir, &template.data, run_as)?;
        Ok(template)
    });
    match template {
        Ok(t) => Ok((t, !made_now)),
        Err(e) => Err(e.clone()),
    }
}

fn initdb(bin: &Path, home: &Path, data: &Path, run_as: Option<(u32, u32)>) -> Result<(), String> {
    let mut cmd = server_cmd(&bin.join("initdb"), home, run_as);
    cmd.arg("-D")
        .arg(data)
        .args(["-U", "postgres", "-A", "trust", "-E", "UTF8"])
        .args(["--locale=C.UTF-8", "--no-sync", "--no-instructions"]);
    let out = run(cmd, None, INITDB_TIMEOUT, "initdb")?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "initdb failed ({}): {}\n{}",
            out.status,
            tail(&out.stderr, 15),
            tail(&out.stdout, 5)
        ))
    }
}

fn server_cmd(program: &Path, home: &Path, run_as: Option<(u32, u32)>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .current_dir(home);
    if let Some((uid, gid)) = run_as {
        // std drops supplementary groups too when root sets a uid.
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// The directory the clusters' temp dirs go in: `$PGHARNESS_TMPDIR`, else
/// `/tmp`. (On this kind of VM, creating files on the ext4 `/tmp` is slow:
/// a data dir's ~1000 files take ~0.8 s; `/dev/shm` takes ~0.05 s, but
/// there fsync is a no-op.)
pub fn base_dir() -> PathBuf {
    std::env::var_os("PGHARNESS_TMPDIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
}

/// `BASE/pgh-NAME-PID-N` (see [`base_dir`]), owned by the server user, mode 0755.
fn make_dir(name: &str, run_as: Option<(u32, u32)>) -> Result<PathBuf, String> {
    let label: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(16)
        .collect();
    let pid = std::process::id();
    let mut last = String::new();
    for _ in 0..100 {
        let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = base_dir().join(format!("pgh-{label}-{pid}-{n}"));
        match fs::create_dir(&dir) {
            Ok(()) => {
                let set_up =
                    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).and_then(|()| {
                        match run_as {
                            Some((uid, gid)) => {
                                std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                            }
                            None => Ok(()),
                        }
                    });
                if let Err(e) = set_up {
                    let _ = fs::remove_dir_all(&dir);
                    return Err(format!("cannot prepare {}: {e}", dir.display()));
                }
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = e.to_string(),
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
    }
    Err(format!(
        "no unused temp dir name under {} in 100 tries: {last}",
        base_dir().display()
    ))
}

fn spawn_watchdog(
    bin: &Path,
    dir: &Path,
    data: &Path,
    run_as: Option<(u32, u32)>,
) -> Result<(Child, ChildStdin), String> {
    let mut cmd = server_cmd(Path::new("/bin/sh"), dir, run_as);
    cmd.arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .env("PGH_PG_CTL", bin.join("pg_ctl"))
        .env("PGH_DATA", data)
        .env("PGH_DIR", dir)
        // Own process group: a Ctrl-C to the test run's group doesn't reach it.
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the cluster watchdog (/bin/sh): {e}"))?;
    // std creates the pipe close-on-exec, so no other child (pg_ctl, psql,
    // postgres, another watchdog) inherits the write end: only this process
    // keeps the watchdog waiting.
    let stdin = child.stdin.take().ok_or("the watchdog has no stdin pipe")?;
    Ok((child, stdin))
}

impl Drop for Cluster {
    /// Closes the watchdog's pipe and waits (bounded) until it has stopped
    /// the server (`-m immediate`) and removed the directory.
    fn drop(&mut self) {
        let Some((mut child, stdin)) = self
            .watchdog
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        drop(stdin);
        let deadline = Instant::now() + WATCHDOG_TIMEOUT;
        let mut nap = Duration::from_millis(2);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    thread::sleep(nap);
                    nap = (nap * 2).min(Duration::from_millis(25));
                }
                other => {
                    eprintln!(
                        "pgharness: watchdog of cluster {:?} did not finish in {WATCHDOG_TIMEOUT:?} ({other:?}); {} may be left behind",
                        self.name,
                        self.dir.display()
                    );
                    return;
                }
            }
        }
    }
}
