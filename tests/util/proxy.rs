//! A fault-injecting TCP proxy for PostgreSQL connections (plain std).
//!
//! [`Proxy::start`] listens on 127.0.0.1 (a free port) and forwards every
//! connection to an upstream server on the loopback interface. It follows
//! the frontend/backend protocol just enough to find COMMITs, and its
//! controls (on [`ProxyHandle`], which `Proxy` derefs to and which can be
//! cloned into other threads) inject the failures a real network or server
//! produces:
//!
//! * [`ProxyHandle::cut_after_next_commit`]: the next COMMIT is forwarded to
//!   the server; when the server's answer to it arrives (i.e. after the
//!   server has committed), both sockets are closed instead of forwarding
//!   it. The client sees a dropped connection, yet the data is committed.
//! * [`ProxyHandle::cut_before_next_commit`]: the next COMMIT is not
//!   forwarded; both sockets are closed instead, at once (answers to
//!   pipelined earlier messages still in flight are lost, as with a real
//!   cut). The server rolls back.
//! * [`ProxyHandle::cut_all`]: closes every open connection now.
//! * [`ProxyHandle::blackhole`]: a cut cable. While on, nothing is forwarded
//!   in either direction and nothing is closed; new connections are
//!   accepted but get no answer. Turning it off resumes everything that was
//!   held back, old connections included (like a cable plugged back in
//!   before TCP gave up); use `cut_all` to kill the stalled ones instead.
//!   A connection stalled for [`MAX_STALL`] is closed, so nothing hangs forever.
//! * [`ProxyHandle::refuse`]: the proxy closes its listening socket, so new
//!   connections are refused at once (ECONNREFUSED, like a stopped server);
//!   open connections are left alone (add `cut_all` for a server crash).
//!
//! How a COMMIT is recognised (client to server): a simple-query `Q` message
//! whose whole text is `COMMIT` or `END` (any case, optional `WORK` /
//! `TRANSACTION`, optional `AND [NO] CHAIN`, trailing `;` and whitespace
//! allowed; see [`is_commit_sql`]), or an extended-protocol `Execute` of a
//! portal that was `Bind`-ed to a statement whose `Parse` text is such a
//! COMMIT. Not recognised: COMMIT inside a multi-statement query string,
//! with comments, `COMMIT PREPARED`, or `ROLLBACK`.
//!
//! How "the server's answer to it" is found (server to client): every `Q`,
//! `Sync` and `FunctionCall` (and the startup packet) gets exactly one
//! `ReadyForQuery`; every `Execute` in a Sync group gets one completion
//! (`CommandComplete`, `EmptyQueryResponse` or `PortalSuspended`) unless an
//! `ErrorResponse` ends the group. The proxy counts those, so it cuts on the
//! completion (or error) that belongs to the COMMIT even when the client
//! pipelines, and forwards everything before it.
//!
//! TLS: the startup phase is forwarded transparently, `SSLRequest` and
//! `GSSENCRequest` included, and the server's one-byte answer goes back to
//! the client. If the server accepts (`S`/`G`), the rest of that connection
//! is encrypted, so the proxy forwards it as opaque bytes: `cut_all`,
//! `blackhole` and `refuse` still work on it, but COMMIT cuts never fire on
//! it (an armed cut stays armed for the next plain connection;
//! [`ProxyHandle::opaque_connections`] counts such connections). So commit
//! cuts need `sslmode=disable` on the client (or a server without TLS).
#![allow(
    clippy::needless_pass_by_value,
    clippy::struct_excessive_bools,
    reason = "a test harness: plain signatures over pedantry"
)]
#![expect(
    clippy::disallowed_methods,
    reason = "test harness threads (log readers, the proxy's pumps) live as long as their test"
)]

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A connection held back by `blackhole` for this long is closed.
pub const MAX_STALL: Duration = Duration::from_mins(5);
/// Timeout for the proxy's own connection to the upstream server.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `refuse` waits for the listener to close or reopen.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;

/// Whether `sql` is exactly a COMMIT: `COMMIT`/`END`, optionally followed by
/// `WORK`/`TRANSACTION` and `AND [NO] CHAIN`, any case, any whitespace,
/// trailing semicolons allowed.
pub fn is_commit_sql(sql: &str) -> bool {
    let body = sql
        .trim()
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    let words: Vec<String> = body
        .split_whitespace()
        .map(str::to_ascii_uppercase)
        .collect();
    let mut rest: &[String] = &words;
    match rest.first().map(String::as_str) {
        Some("COMMIT" | "END") => rest = &rest[1..],
        _ => return false,
    }
    if let Some("WORK" | "TRANSACTION") = rest.first().map(String::as_str) {
        rest = &rest[1..];
    }
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    matches!(
        rest.as_slice(),
        [] | ["AND", "CHAIN"] | ["AND", "NO", "CHAIN"]
    )
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// Shared state and controls
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Flags {
    blackhole: bool,
    refuse: bool,
    shutdown: bool,
    /// Whether the listening socket is open (maintained by the accept thread).
    listening: bool,
    /// Set by the accept thread when it could not reopen the listener.
    bind_error: Option<String>,
}

struct Shared {
    port: u16,
    upstream: SocketAddr,
    flags: Mutex<Flags>,
    changed: Condvar,
    arm_after: AtomicBool,
    arm_before: AtomicBool,
    cuts_after: AtomicU64,
    cuts_before: AtomicU64,
    accepted: AtomicU64,
    opaque: AtomicU64,
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
}

/// Where in the server's reply stream the answer to an armed COMMIT starts.
#[derive(Clone, Copy, Debug)]
struct Armed {
    /// ReadyForQuery messages the server sends before the COMMIT's group.
    ready_before: u64,
    /// Completions in the COMMIT's group before the COMMIT's own.
    completions_before: u64,
}

struct Conn {
    client: TcpStream,
    server: Mutex<Option<TcpStream>>,
    killed: AtomicBool,
    armed: Mutex<Option<Armed>>,
}

impl Shared {
    /// Waits while the blackhole is on. False: the connection must end.
    fn pass(&self, conn: &Conn) -> bool {
        let deadline = Instant::now() + MAX_STALL;
        let mut flags = lock(&self.flags);
        loop {
            if flags.shutdown || conn.killed.load(Ordering::SeqCst) {
                return false;
            }
            if !flags.blackhole {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                drop(flags);
                self.kill(conn);
                return false;
            }
            flags = self
                .changed
                .wait_timeout(flags, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// Closes both sockets of a connection (threads blocked on them wake up).
    fn kill(&self, conn: &Conn) {
        conn.killed.store(true, Ordering::SeqCst);
        let _ = conn.client.shutdown(Shutdown::Both);
        if let Some(server) = lock(&conn.server).as_ref() {
            let _ = server.shutdown(Shutdown::Both);
        }
        // Wake anything parked in `pass` so it sees `killed`.
        let _guard = lock(&self.flags);
        self.changed.notify_all();
    }

    /// Makes a blocked `accept` return so the accept thread rereads the flags.
    fn poke_listener(&self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(500));
    }
}

/// The thread-safe controls and counters of a [`Proxy`]; clone freely.
#[derive(Clone)]
pub struct ProxyHandle {
    shared: Arc<Shared>,
}

impl ProxyHandle {
    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.shared.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.shared.port))
    }

    /// The upstream server.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// Arms a one-shot cut: the next COMMIT on any (plain) connection reaches
    /// the server, its answer does not reach the client; both sockets close.
    /// Arming again before it fires changes nothing.
    pub fn cut_after_next_commit(&self) {
        self.shared.arm_after.store(true, Ordering::SeqCst);
    }

    /// Arms a one-shot cut: the next COMMIT is dropped with the connection.
    /// Takes precedence over `cut_after_next_commit` if both are armed.
    pub fn cut_before_next_commit(&self) {
        self.shared.arm_before.store(true, Ordering::SeqCst);
    }

    /// Disarms both commit cuts (one already in flight still fires).
    pub fn disarm(&self) {
        self.shared.arm_after.store(false, Ordering::SeqCst);
        self.shared.arm_before.store(false, Ordering::SeqCst);
    }

    /// How many times a cut-after-commit has happened.
    pub fn cuts_after_commit(&self) -> u64 {
        self.shared.cuts_after.load(Ordering::SeqCst)
    }

    /// How many times a cut-before-commit has happened.
    pub fn cuts_before_commit(&self) -> u64 {
        self.shared.cuts_before.load(Ordering::SeqCst)
    }

    /// Closes every open connection now (new ones still work).
    pub fn cut_all(&self) {
        let conns: Vec<Arc<Conn>> = lock(&self.shared.conns).values().cloned().collect();
        for conn in conns {
            self.shared.kill(&conn);
        }
    }

    /// Turns the dead line on or off (see the module docs).
    pub fn blackhole(&self, on: bool) {
        let mut flags = lock(&self.shared.flags);
        flags.blackhole = on;
        self.shared.changed.notify_all();
    }

    /// `true`: close the listening socket, so connecting fails at once with
    /// "connection refused"; returns once it is closed. `false`: reopen it
    /// on the same port; fails if the port could not be bound again.
    pub fn refuse(&self, on: bool) -> Result<(), String> {
        let shared = &self.shared;
        {
            let mut flags = lock(&shared.flags);
            if flags.refuse == on && flags.listening != on {
                return Ok(());
            }
            flags.refuse = on;
            flags.bind_error = None;
            shared.changed.notify_all();
        }
        if on {
            shared.poke_listener();
        }
        let deadline = Instant::now() + CONTROL_TIMEOUT;
        let mut flags = lock(&shared.flags);
        loop {
            if let Some(e) = flags.bind_error.take() {
                return Err(e);
            }
            if flags.listening != on {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "proxy on port {} did not {} its listener within {CONTROL_TIMEOUT:?}",
                    shared.port,
                    if on { "close" } else { "reopen" }
                ));
            }
            flags = shared
                .changed
                .wait_timeout(flags, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// Connections accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        lock(&self.shared.conns).len()
    }

    /// Connections that switched to TLS/GSS and were forwarded as opaque bytes.
    pub fn opaque_connections(&self) -> u64 {
        self.shared.opaque.load(Ordering::SeqCst)
    }
}

/// A running proxy; dropping it closes the listener and every connection.
pub struct Proxy {
    handle: ProxyHandle,
    accept_thread: Option<JoinHandle<()>>,
}

impl Deref for Proxy {
    type Target = ProxyHandle;
    fn deref(&self) -> &ProxyHandle {
        &self.handle
    }
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream`, which
    /// must be a loopback address.
    pub fn start(upstream: impl ToSocketAddrs) -> Result<Proxy, String> {
        let upstream = upstream
            .to_socket_addrs()
            .map_err(|e| format!("proxy upstream address: {e}"))?
            .next()
            .ok_or("proxy upstream address resolved to nothing")?;
        if !upstream.ip().is_loopback() {
            return Err(format!(
                "proxy upstream {upstream} is not a loopback address; tests may only contact 127.0.0.1"
            ));
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("proxy cannot bind 127.0.0.1:0: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("proxy listener address: {e}"))?
            .port();
        let shared = Arc::new(Shared {
            port,
            upstream,
            flags: Mutex::new(Flags {
                listening: true,
                ..Flags::default()
            }),
            changed: Condvar::new(),
            arm_after: AtomicBool::new(false),
            arm_before: AtomicBool::new(false),
            cuts_after: AtomicU64::new(0),
            cuts_before: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            opaque: AtomicU64::new(0),
            next_id: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
        });
        let for_thread = shared.clone();
        let accept_thread = thread::Builder::new()
            .name(format!("pg-proxy-{port}"))
            .spawn(move || accept_loop(for_thread, listener))
            .map_err(|e| format!("cannot start the proxy thread: {e}"))?;
        Ok(Proxy {
            handle: ProxyHandle { shared },
            accept_thread: Some(accept_thread),
        })
    }

    /// A clonable, `Send + Sync` handle to the controls.
    pub fn handle(&self) -> ProxyHandle {
        self.handle.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let shared = &self.handle.shared;
        let listening = {
            let mut flags = lock(&shared.flags);
            flags.shutdown = true;
            shared.changed.notify_all();
            flags.listening
        };
        if listening {
            shared.poke_listener();
        }
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        self.handle.cut_all();
    }
}

// ---------------------------------------------------------------------------
// Accepting
// ---------------------------------------------------------------------------

fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut listener = Some(listener);
    loop {
        // Apply `refuse` / `shutdown` before (re)entering accept.
        {
            let mut flags = lock(&shared.flags);
            loop {
                if flags.shutdown {
                    flags.listening = false;
                    shared.changed.notify_all();
                    return;
                }
                if flags.refuse {
                    if listener.take().is_some() {
                        flags.listening = false;
                        shared.changed.notify_all();
                    }
                    flags = shared
                        .changed
                        .wait_timeout(flags, Duration::from_secs(1))
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                    continue;
                }
                if listener.is_none() {
                    drop(flags);
                    let bound = rebind(shared.port);
                    flags = lock(&shared.flags);
                    match bound {
                        Ok(l) => listener = Some(l),
                        Err(e) => {
                            flags.bind_error = Some(e);
                            flags.refuse = true;
                            shared.changed.notify_all();
                            continue;
                        }
                    }
                }
                if !flags.listening {
                    flags.listening = true;
                    shared.changed.notify_all();
                }
                break;
            }
        }
        let Some(l) = listener.as_ref() else { continue };
        match l.accept() {
            Ok((client, _)) => {
                let flags = lock(&shared.flags);
                if flags.shutdown || flags.refuse {
                    continue; // a poke, or a client racing `refuse(true)`
                }
                drop(flags);
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
                let for_conn = shared.clone();
                let spawned = thread::Builder::new()
                    .name(format!("pg-proxy-conn-{id}"))
                    .spawn(move || serve(for_conn, id, client));
                if let Err(e) = spawned {
                    eprintln!("pg proxy: cannot start a connection thread: {e}");
                }
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn rebind(port: u16) -> Result<TcpListener, String> {
    let mut last = None;
    for _ in 0..50 {
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
        thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "proxy could not listen on 127.0.0.1:{port} again: {}",
        last.map_or_else(String::new, |e| e.to_string())
    ))
}

// ---------------------------------------------------------------------------
// One connection
// ---------------------------------------------------------------------------

fn serve(shared: Arc<Shared>, id: u64, client: TcpStream) {
    let _ = client.set_nodelay(true);
    let Ok(client_ref) = client.try_clone() else {
        return;
    };
    let conn = Arc::new(Conn {
        client: client_ref,
        server: Mutex::new(None),
        killed: AtomicBool::new(false),
        armed: Mutex::new(None),
    });
    lock(&shared.conns).insert(id, conn.clone());
    let _ = relay(&shared, &conn, client);
    shared.kill(&conn);
    lock(&shared.conns).remove(&id);
}

fn relay(shared: &Arc<Shared>, conn: &Arc<Conn>, mut client: TcpStream) -> io::Result<()> {
    // Accepted during a blackhole: hold the client until it is lifted.
    if !shared.pass(conn) {
        return Ok(());
    }
    let mut server = TcpStream::connect_timeout(&shared.upstream, UPSTREAM_CONNECT_TIMEOUT)?;
    let _ = server.set_nodelay(true);
    *lock(&conn.server) = Some(server.try_clone()?);
    if conn.killed.load(Ordering::SeqCst) {
        return Ok(()); // cut while connecting; `serve` closes it
    }
    let parsed = startup(shared, conn, &mut client, &mut server)?;
    if !parsed {
        shared.opaque.fetch_add(1, Ordering::SeqCst);
    }
    let (s2c_shared, s2c_conn) = (shared.clone(), conn.clone());
    let (s2c_from, s2c_to) = (server.try_clone()?, client.try_clone()?);
    let back = thread::spawn(move || {
        let _ = server_to_client(&s2c_shared, &s2c_conn, s2c_from, s2c_to, parsed);
    });
    let _ = client_to_server(shared, conn, client, server, parsed);
    let _ = back.join();
    Ok(())
}

/// Forwards the startup phase. True: a protocol-3 session follows (parse
/// it). False: forward the rest as opaque bytes (TLS, GSS, cancel, unknown).
fn startup(
    shared: &Shared,
    conn: &Conn,
    client: &mut TcpStream,
    server: &mut TcpStream,
) -> io::Result<bool> {
    // At most SSL + GSS negotiation, then the real startup packet.
    for _ in 0..4 {
        let mut head = [0u8; 8];
        client.read_exact(&mut head)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if !(8..=10_000).contains(&len) {
            // Not a startup packet (e.g. a direct TLS ClientHello).
            if !shared.pass(conn) {
                return Err(io::ErrorKind::ConnectionAborted.into());
            }
            server.write_all(&head)?;
            return Ok(false);
        }
        let mut packet = head.to_vec();
        packet.resize(len, 0);
        client.read_exact(&mut packet[8..])?;
        if !shared.pass(conn) {
            return Err(io::ErrorKind::ConnectionAborted.into());
        }
        server.write_all(&packet)?;
        match code {
            SSL_REQUEST | GSSENC_REQUEST => {
                let mut answer = [0u8; 1];
                server.read_exact(&mut answer)?;
                if !shared.pass(conn) {
                    return Err(io::ErrorKind::ConnectionAborted.into());
                }
                client.write_all(&answer)?;
                if answer[0] != b'N' {
                    return Ok(false);
                }
            }
            c if c >> 16 == 3 => return Ok(true),
            _ => return Ok(false), // CancelRequest or unknown
        }
    }
    Ok(false)
}

/// What a message handler decides.
#[derive(PartialEq, Eq)]
enum Verdict {
    Forward,
    Cut,
}

/// Splits a byte stream into protocol messages (type byte + 4-byte length).
/// Messages whose type `capture` selects are buffered and handed over
/// whole; others are passed through as they arrive, with only the type seen.
struct Framer {
    head: [u8; 5],
    head_len: usize,
    /// Body bytes of the current pass-through message still to come.
    remaining: usize,
    /// Body of the current captured message and its expected length.
    captured: Option<(u8, Vec<u8>, usize)>,
    /// After a malformed header: forward everything untouched.
    broken: bool,
}

impl Framer {
    fn new() -> Self {
        Framer {
            head: [0; 5],
            head_len: 0,
            remaining: 0,
            captured: None,
            broken: false,
        }
    }

    /// Appends what may be forwarded to `out`; returns true when a handler
    /// said `Cut` (then `out` ends just before that message).
    fn feed(
        &mut self,
        mut data: &[u8],
        out: &mut Vec<u8>,
        capture: impl Fn(u8) -> bool,
        mut on_message: impl FnMut(u8, Option<&[u8]>) -> Verdict,
    ) -> bool {
        while !data.is_empty() {
            if self.broken {
                out.extend_from_slice(data);
                return false;
            }
            if self.remaining > 0 {
                let n = self.remaining.min(data.len());
                out.extend_from_slice(&data[..n]);
                self.remaining -= n;
                data = &data[n..];
                continue;
            }
            if let Some((ty, body, want)) = &mut self.captured {
                let n = (*want - body.len()).min(data.len());
                body.extend_from_slice(&data[..n]);
                data = &data[n..];
                if body.len() == *want {
                    let (ty, body) = (*ty, std::mem::take(body));
                    self.captured = None;
                    if on_message(ty, Some(&body)) == Verdict::Cut {
                        return true;
                    }
                    out.push(ty);
                    out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
                    out.extend_from_slice(&body);
                }
                continue;
            }
            let n = (5 - self.head_len).min(data.len());
            self.head[self.head_len..self.head_len + n].copy_from_slice(&data[..n]);
            self.head_len += n;
            data = &data[n..];
            if self.head_len < 5 {
                continue;
            }
            self.head_len = 0;
            let ty = self.head[0];
            let len = u32::from_be_bytes([self.head[1], self.head[2], self.head[3], self.head[4]])
                as usize;
            if len < 4 {
                self.broken = true;
                out.extend_from_slice(&self.head);
                continue;
            }
            if capture(ty) {
                self.captured = Some((ty, Vec::with_capacity(len - 4), len - 4));
                if len == 4 {
                    // Empty body: complete at once.
                    self.captured = None;
                    if on_message(ty, Some(&[])) == Verdict::Cut {
                        return true;
                    }
                    out.extend_from_slice(&self.head);
                }
            } else {
                if on_message(ty, None) == Verdict::Cut {
                    return true;
                }
                out.extend_from_slice(&self.head);
                self.remaining = len - 4;
            }
        }
        false
    }
}

/// A NUL-terminated string at `*pos` in `body`.
fn cstr<'a>(body: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let start = *pos;
    let end = start + body.get(start..)?.iter().position(|&b| b == 0)?;
    *pos = end + 1;
    Some(&body[start..end])
}

fn sql_is_commit(text: &[u8]) -> bool {
    is_commit_sql(&String::from_utf8_lossy(text))
}

/// What the client side has sent, as far as COMMIT detection needs.
struct ClientTrack {
    /// Messages sent so far that get one ReadyForQuery each (startup, Q,
    /// Sync, FunctionCall).
    ready_points: u64,
    /// Executes since the last Sync.
    executes_in_group: u64,
    /// Prepared statement name -> is a COMMIT.
    statements: HashMap<Vec<u8>, bool>,
    /// Portal name -> is a COMMIT.
    portals: HashMap<Vec<u8>, bool>,
}

impl ClientTrack {
    /// Updates the state for one client message; `Some` if it is a COMMIT
    /// (with where its answer will be in the server's stream).
    fn observe(&mut self, ty: u8, body: Option<&[u8]>) -> Option<Armed> {
        let body = body.unwrap_or(&[]);
        let mut pos = 0;
        match ty {
            b'Q' => {
                let commit = cstr(body, &mut pos).is_some_and(sql_is_commit);
                let at = Armed {
                    ready_before: self.ready_points,
                    completions_before: 0,
                };
                self.ready_points += 1;
                return commit.then_some(at);
            }
            b'P' => {
                let name = cstr(body, &mut pos).unwrap_or_default().to_vec();
                let commit = cstr(body, &mut pos).is_some_and(sql_is_commit);
                self.statements.insert(name, commit);
            }
            b'B' => {
                let portal = cstr(body, &mut pos).unwrap_or_default().to_vec();
                let stmt = cstr(body, &mut pos).unwrap_or_default();
                let commit = self.statements.get(stmt).copied().unwrap_or(false);
                self.portals.insert(portal, commit);
            }
            b'E' => {
                let portal = cstr(body, &mut pos).unwrap_or_default();
                let commit = self.portals.get(portal).copied().unwrap_or(false);
                let at = Armed {
                    ready_before: self.ready_points,
                    completions_before: self.executes_in_group,
                };
                self.executes_in_group += 1;
                return commit.then_some(at);
            }
            b'C' => {
                // Close: 'S' statement or 'P' portal, then the name.
                let kind = body.first().copied();
                pos = 1;
                let name = cstr(body, &mut pos).unwrap_or_default();
                match kind {
                    Some(b'S') => {
                        self.statements.remove(name);
                    }
                    Some(b'P') => {
                        self.portals.remove(name);
                    }
                    _ => {}
                }
            }
            b'S' => {
                self.ready_points += 1;
                self.executes_in_group = 0;
            }
            b'F' => self.ready_points += 1,
            _ => {}
        }
        None
    }
}

fn client_to_server(
    shared: &Shared,
    conn: &Conn,
    mut from: TcpStream,
    mut to: TcpStream,
    parsed: bool,
) -> io::Result<()> {
    let mut framer = Framer::new();
    let mut track = ClientTrack {
        ready_points: 1, // the startup packet
        executes_in_group: 0,
        statements: HashMap::new(),
        portals: HashMap::new(),
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(buf.len());
    loop {
        let n = from.read(&mut buf)?;
        if !shared.pass(conn) {
            return Ok(());
        }
        if n == 0 {
            let _ = to.shutdown(Shutdown::Write);
            return Ok(());
        }
        if !parsed {
            to.write_all(&buf[..n])?;
            continue;
        }
        out.clear();
        let cut = framer.feed(
            &buf[..n],
            &mut out,
            |ty| matches!(ty, b'Q' | b'P' | b'B' | b'E' | b'C'),
            |ty, body| {
                let Some(at) = track.observe(ty, body) else {
                    return Verdict::Forward;
                };
                if shared.arm_before.swap(false, Ordering::SeqCst) {
                    shared.cuts_before.fetch_add(1, Ordering::SeqCst);
                    return Verdict::Cut;
                }
                if shared.arm_after.swap(false, Ordering::SeqCst) {
                    // Recorded before the COMMIT is written, so the other
                    // direction knows before any answer can arrive.
                    *lock(&conn.armed) = Some(at);
                }
                Verdict::Forward
            },
        );
        to.write_all(&out)?;
        if cut {
            shared.kill(conn);
            return Ok(());
        }
    }
}

fn server_to_client(
    shared: &Shared,
    conn: &Conn,
    mut from: TcpStream,
    mut to: TcpStream,
    parsed: bool,
) -> io::Result<()> {
    let mut framer = Framer::new();
    let mut ready_seen: u64 = 0;
    let mut completions_in_group: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(buf.len());
    loop {
        let n = from.read(&mut buf)?;
        if !shared.pass(conn) {
            return Ok(());
        }
        if n == 0 {
            let _ = to.shutdown(Shutdown::Write);
            return Ok(());
        }
        if !parsed {
            to.write_all(&buf[..n])?;
            continue;
        }
        out.clear();
        let cut = framer.feed(
            &buf[..n],
            &mut out,
            |_| false,
            |ty, _| {
                let mut armed = lock(&conn.armed);
                if let Some(at) = *armed {
                    if ready_seen == at.ready_before {
                        let completion = matches!(ty, b'C' | b'I' | b's');
                        if ty == b'E'
                            || (completion && completions_in_group == at.completions_before)
                        {
                            *armed = None;
                            shared.cuts_after.fetch_add(1, Ordering::SeqCst);
                            return Verdict::Cut;
                        }
                    } else if ready_seen > at.ready_before {
                        *armed = None; // its group ended without an answer
                    }
                }
                match ty {
                    b'Z' => {
                        ready_seen += 1;
                        completions_in_group = 0;
                    }
                    b'C' | b'I' | b's' => completions_in_group += 1,
                    _ => {}
                }
                Verdict::Forward
            },
        );
        to.write_all(&out)?;
        if cut {
            shared.kill(conn);
            return Ok(());
        }
    }
}
