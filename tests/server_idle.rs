//! `kv serve` as a process holding 10,000 idle connections: its memory stays
//! bounded, and a new client is still served at once.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod serve_bin;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rlimit::Resource;

const MANIFEST: &str = "application \"demo-app\" {\n  kv_store \"demo-cache\" {}\n}\n";
const API_KEY: &str = "idle-test-key";

/// The idle connections the server holds.
const IDLE: usize = 10_000;
/// What the server may grow by for them: 4 KiB each. A connection that has sent
/// nothing costs its task and socket, under 1 KiB (it cost about 18 KiB when hyper took
/// it at once); this is a bound with a wide margin, not a benchmark.
const MAX_GROWTH_BYTES: u64 = IDLE as u64 * 4 * 1024;

struct Serve {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kv serve` under `sh -c "{prelude} exec kv serve ..."`.
fn serve(prelude: &str) -> Serve {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("raindrop.manifest"), MANIFEST).unwrap();
    std::fs::write(
        dir.path().join("kv.toml"),
        "[defaults]\nbackend = \"memory\"\n",
    )
    .unwrap();
    // Idle connections stay open for two minutes, longer than the test takes.
    let script = format!(
        "{prelude} exec \"$0\" serve --addr 127.0.0.1:0 --config kv.toml --header-read-timeout 120"
    );
    let mut child = Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_kv")])
        .current_dir(dir.path())
        .env("KV_API_KEY", API_KEY)
        .env("RUST_LOG", "error")
        .env_remove("KV_USERNAME")
        .env_remove("KV_JWT_SECRET")
        .env_remove("KV_JWKS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let base = serve_bin::address(&mut child);
    let addr = base.trim_start_matches("http://").parse().unwrap();
    Serve {
        child,
        addr,
        _dir: dir,
    }
}

/// The resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// One request on a new connection; the status line, within `limit`.
fn request(addr: SocketAddr, request: &str, limit: Duration) -> String {
    let mut s = TcpStream::connect_timeout(&addr, limit).unwrap();
    s.set_read_timeout(Some(limit)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !out.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).expect("a response in time");
        assert!(n > 0, "closed without a response");
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

fn put(addr: SocketAddr, key: &str, limit: Duration) -> String {
    request(
        addr,
        &format!(
            "PUT /client/v4/accounts/a/storage/kv/namespaces/demo-cache/values/{key} HTTP/1.1\r\n\
             Host: kv\r\nAuthorization: Bearer {API_KEY}\r\nContent-Length: 5\r\n\
             Connection: close\r\n\r\nhello"
        ),
        limit,
    )
}

/// Raises this process's limit on open files to hold `IDLE` sockets and more (the
/// server inherits it), the hard limit too when allowed (as root); `None`, saying why,
/// if it stays too low.
fn raise_file_limit() -> Option<()> {
    let need = IDLE as u64 + 1_024;
    let (soft, hard) = rlimit::getrlimit(Resource::NOFILE).unwrap();
    if hard < need && rlimit::setrlimit(Resource::NOFILE, need, need).is_ok() {
        return Some(());
    }
    if hard < need {
        let why = format!(
            "the open-file limit is {hard}, under the {need} this test needs (raise it with ulimit -Hn)"
        );
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("SKIPPED — {why}");
        return None;
    }
    rlimit::setrlimit(Resource::NOFILE, soft.max(need), hard).unwrap();
    Some(())
}

/// Opens `n` connections that send nothing.
fn open_idle(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            TcpStream::connect_timeout(&addr, Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("idle connection {i}: {e}"))
        })
        .collect()
}

#[test]
fn ten_thousand_idle_connections_keep_memory_bounded_and_new_clients_served() {
    if raise_file_limit().is_none() {
        return;
    }
    let server = serve("");
    for i in 0..50 {
        assert_eq!(
            put(server.addr, &format!("warm-{i}"), Duration::from_secs(5)),
            "HTTP/1.1 200 OK"
        );
    }
    let before = rss(server.child.id());
    let started = Instant::now();
    let idle = open_idle(server.addr, IDLE);
    let opened = started.elapsed();
    // Served behind all of them (the listener accepts in order), and promptly.
    let asked = Instant::now();
    assert_eq!(
        put(server.addr, "after", Duration::from_secs(5)),
        "HTTP/1.1 200 OK"
    );
    let served_in = asked.elapsed();
    let after = rss(server.child.id());
    let growth = after.saturating_sub(before);
    eprintln!(
        "{IDLE} idle connections opened in {opened:?}; RSS {} MiB -> {} MiB \
         ({} bytes per connection); a new request served in {served_in:?}",
        before >> 20,
        after >> 20,
        growth / IDLE as u64
    );
    assert!(
        growth < MAX_GROWTH_BYTES,
        "RSS grew by {growth} bytes for {IDLE} idle connections (bound {MAX_GROWTH_BYTES})"
    );
    // The idle connections are still open: the server made room without dropping them.
    for s in idle.iter().step_by(97) {
        s.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        let read = (&*s).read(&mut byte);
        assert!(
            matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "an idle connection was closed early: {read:?}"
        );
    }
    drop(idle);
}

/// Started with the usual soft limit of 1024 open files (and a higher hard limit, as
/// systemd and most shells give), `kv serve` raises it and so still serves a new client
/// while 3,000 idle ones are connected.
#[test]
fn kv_serve_raises_a_low_soft_open_file_limit() {
    if raise_file_limit().is_none() {
        return;
    }
    let server = serve("ulimit -S -n 1024 &&");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.child.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let idle = open_idle(server.addr, 3_000);
    assert_eq!(
        put(server.addr, "after", Duration::from_secs(5)),
        "HTTP/1.1 200 OK",
        "{line}"
    );
    drop(idle);
}

/// A burst of 2,000 new connections while `kv serve` is not accepting (stopped, as a
/// busy process may be for a moment) waits in its listen backlog instead of having
/// connection attempts dropped (tokio's default backlog of 1024 drops the rest, and
/// their clients retry a second later), and all are served once it runs again.
#[test]
fn a_burst_of_connections_waits_in_the_listen_backlog() {
    const BURST: usize = 2_000;
    if raise_file_limit().is_none() {
        return;
    }
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if somaxconn < BURST + 100 {
        eprintln!("SKIPPED — net.core.somaxconn is {somaxconn}: the kernel caps every backlog");
        return;
    }
    let server = serve("");
    let pid = server.child.id().to_string();
    let signal = |sig: &str| {
        assert!(
            Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    signal("-STOP");
    let burst: Vec<Result<TcpStream, std::io::Error>> = (0..BURST)
        .map(|_| TcpStream::connect_timeout(&server.addr, Duration::from_millis(500)))
        .collect();
    signal("-CONT");
    let refused = burst.iter().filter(|c| c.is_err()).count();
    assert_eq!(
        refused, 0,
        "{refused} of {BURST} connections were not queued"
    );
    let mut burst: Vec<TcpStream> = burst.into_iter().map(Result::unwrap).collect();
    for s in burst.iter_mut().step_by(50) {
        s.write_all(b"GET /health HTTP/1.1\r\nHost: kv\r\n\r\n")
            .unwrap();
    }
    for s in burst.iter_mut().step_by(50) {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
    }
}
