//! Connection-level attacks on a real server process: stalled request heads, a slow body, idle keep-alive
//! connections and a connection flood are all closed in bounded time while honest devices keep syncing; TLS
//! with a certificate made here; `/metrics` only on its own listener.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use gridline_testkit::{free_port, log_id, Server, ServerOptions};

/// How long the default configuration may keep a stalled connection (within 30 s).
const STALLED_CLOSE_LIMIT: Duration = Duration::from_secs(30);

fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).expect("connect")
}

/// A connection that sent `bytes` and then nothing more.
fn stall(port: u16, bytes: &[u8]) -> TcpStream {
    let mut stream = connect(port);
    stream.write_all(bytes).expect("write");
    stream
}

/// Reads until the server closes the connection (EOF or reset) or `deadline` passes; returns when it closed
/// and what it sent, or `None` if it was still open at the deadline.
fn wait_closed(stream: &mut TcpStream, deadline: Instant) -> Option<(Instant, Vec<u8>)> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?;
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut buf) {
            Ok(0) => return Some((Instant::now(), received)),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(_) => return Some((Instant::now(), received)),
        }
    }
}

/// Reads until `needle` has arrived (bounded); panics if the connection closes first.
fn read_until(stream: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !received.windows(needle.len()).any(|w| w == needle) {
        assert!(Instant::now() < deadline, "no {:?} within 10 s", String::from_utf8_lossy(needle));
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "closed before {:?}: {}", String::from_utf8_lossy(needle), String::from_utf8_lossy(&received));
        received.extend_from_slice(&buf[..n]);
    }
    received
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// `GET /healthz` on a new connection: whether it answered 200 within 5 s.
fn fresh_healthz(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    if stream.write_all(HEALTHZ).is_err() {
        return false;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    while Instant::now() < deadline && !received.ends_with(b"ok") {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => received.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    received.starts_with(b"HTTP/1.1 200") && received.ends_with(b"ok")
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[test]
fn stalled_request_heads_are_closed_within_30s_while_honest_devices_sync() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Default limits: this test is the one that shows the shipped head timeout.
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "王网格长", "grid_leader", &["G01"]);
    let log = log_id(&community, "G01");
    let mut timed_sync = |round: &str| {
        leader.write(&log, &format!("checkin/{round}"), round);
        let started = Instant::now();
        leader.sync().expect("honest sync");
        started.elapsed()
    };
    let before: Vec<Duration> = (0..5).map(|i| timed_sync(&format!("before-{i}"))).collect();
    let rss_before = server.peak_rss_kib();

    let attack = Instant::now();
    let mut stalled: Vec<TcpStream> =
        (0..300).map(|_| stall(server.port, b"POST /v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")).collect();
    assert!(server.healthy(), "healthz during the attack");
    let during: Vec<Duration> = (0..5).map(|i| timed_sync(&format!("during-{i}"))).collect();
    let honest_done = attack.elapsed();
    let rss_during = server.peak_rss_kib();

    let mut last_closed = Duration::ZERO;
    for (n, stream) in stalled.iter_mut().enumerate() {
        let (closed, _) = wait_closed(stream, attack + STALLED_CLOSE_LIMIT).unwrap_or_else(|| {
            panic!("stalled connection {n} still open {STALLED_CLOSE_LIMIT:?} after the attack began")
        });
        last_closed = last_closed.max(closed - attack);
    }
    eprintln!(
        "300 stalled heads: all closed {last_closed:.1?} after the attack began; honest syncs done at {honest_done:.1?}; \
         honest sync median {:.1?} before, {:.1?} during; peak RSS {} KiB before, {} KiB holding 300 connections",
        median(before),
        median(during.clone()),
        rss_before,
        rss_during
    );
    assert!(during.iter().all(|d| *d < Duration::from_secs(1)), "honest syncs during the attack: {during:?}");
    assert!(fresh_healthz(server.port), "the server answers after the attack");
}

#[test]
fn a_slow_body_is_cut_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let body_timeout = Duration::from_millis(2000);
    let server = Server::start_with(dir.path(), &ServerOptions::args(&["--body-timeout-ms", "2000"]));
    let community = server.community_with_roster();
    let leader = server.enroll(&community, "王网格长", "grid_leader", &["G01"]);

    let head = format!(
        "POST /v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/cbor\r\n\
         Content-Encoding: gzip\r\nContent-Length: 100000\r\n\r\n",
        leader.info.token
    );
    let mut stream = stall(server.port, head.as_bytes());
    let started = Instant::now();
    let mut writer = stream.try_clone().expect("clone");
    // Four bytes a second, for up to 20 s.
    let trickle = std::thread::spawn(move || {
        for _ in 0..80 {
            if writer.write_all(&[0x1f]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    let (closed, response) =
        wait_closed(&mut stream, started + Duration::from_secs(15)).expect("slow body still open after 15 s");
    let took = closed - started;
    let response = String::from_utf8_lossy(&response).to_string();
    assert!(took >= body_timeout - Duration::from_millis(200), "closed before the body timeout: {took:?}");
    assert!(took < body_timeout + Duration::from_secs(3), "closed {took:?} after the head");
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("body_timeout"), "{response}");
    trickle.join().expect("writer");
    assert!(fresh_healthz(server.port));
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(dir.path(), &ServerOptions::args(&["--idle-timeout-ms", "1500"]));
    let mut stream = connect(server.port);
    stream.write_all(HEALTHZ).expect("write");
    read_until(&mut stream, b"\r\n\r\nok");
    // Idle for less than the limit: the connection is kept and serves the next request.
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(HEALTHZ).expect("write");
    read_until(&mut stream, b"\r\n\r\nok");
    let idle_since = Instant::now();
    // The head timeout (10 s) would close it much later: closing near 1.5 s is the idle limit.
    let (closed, rest) = wait_closed(&mut stream, idle_since + Duration::from_secs(8)).expect("idle connection kept");
    let idle = closed - idle_since;
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    assert!(idle >= Duration::from_millis(1300) && idle < Duration::from_secs(4), "closed after {idle:?} idle");
}

#[test]
fn connections_over_the_cap_are_closed_and_the_server_answers_once_they_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Stalled heads are kept a minute here, so only their going frees the slots.
    let server = Server::start_with(
        dir.path(),
        &ServerOptions::args(&["--max-connections", "8", "--header-timeout-ms", "60000"]),
    );
    let stalled: Vec<TcpStream> = (0..8).map(|_| stall(server.port, b"GET /healthz HTTP/1.1\r\nHo")).collect();
    // Every slot is taken (one perhaps by the test client's pooled connection): a new connection waits
    // briefly and is closed unanswered.
    let mut over = stall(server.port, HEALTHZ);
    let sent = Instant::now();
    let (closed, answer) = wait_closed(&mut over, sent + Duration::from_secs(10)).expect("over-cap connection kept");
    assert!(answer.is_empty(), "answered over the cap: {}", String::from_utf8_lossy(&answer));
    assert!(closed - sent < Duration::from_secs(5), "over-cap connection held {:?}", closed - sent);
    // A flood beyond the cap waits in the kernel's backlog: the server's memory does not grow with it.
    let rss_before = server.peak_rss_kib();
    // (100: more would wait for the kernel's listen queue, which the server drains at 4 a second while full.)
    let flood: Vec<TcpStream> = (0..100).map(|_| stall(server.port, HEALTHZ)).collect();
    std::thread::sleep(Duration::from_secs(1));
    let rss_flooded = server.peak_rss_kib();
    eprintln!("100 connections over a cap of 8: peak RSS {rss_before} KiB before, {rss_flooded} KiB after 1 s");
    assert!(rss_flooded < rss_before + 4 * 1024, "RSS grew from {rss_before} to {rss_flooded} KiB");
    drop(flood);
    drop(stalled);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fresh_healthz(server.port) {
        assert!(Instant::now() < deadline, "no answer 10 s after the stalled connections went");
    }
}

#[test]
fn tls_serves_https_and_refuses_plain_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("cert");
    let cert_pem = certified.cert.pem();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, &cert_pem).expect("write cert");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write key");
    let data = dir.path().join("data");
    let options = ServerOptions {
        args: ["--tls-cert", cert.to_str().expect("path"), "--tls-key", key.to_str().expect("path")]
            .into_iter()
            .chain(["--handshake-timeout-ms", "1000"])
            .map(String::from)
            .collect(),
        tls_root_pem: Some(cert_pem.into_bytes()),
        ..ServerOptions::default()
    };
    let server = Server::start_with(&data, &options);
    assert!(server.url("/").starts_with("https://"));
    let res = server.http.get(server.url("/healthz")).send().expect("https healthz");
    assert_eq!(res.status().as_u16(), 200);

    // An honest device enrolls and syncs over TLS.
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "王网格长", "grid_leader", &["G01"]);
    leader.write(&log_id(&community, "G01"), "checkin/tls", "over TLS");
    leader.sync().expect("sync over TLS");

    let plain = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    let answer = plain.get(format!("http://127.0.0.1:{}/healthz", server.port)).send();
    assert!(!answer.as_ref().is_ok_and(|r| r.status().is_success()), "plain HTTP answered: {answer:?}");
    assert!(!fresh_healthz(server.port), "a plain request on the TLS port was answered");

    // A client that never starts its handshake is closed after the handshake timeout.
    let mut silent = connect(server.port);
    let opened = Instant::now();
    let (closed, _) = wait_closed(&mut silent, opened + Duration::from_secs(8)).expect("silent TLS client kept");
    assert!(closed - opened < Duration::from_secs(4), "silent TLS client held {:?}", closed - opened);
}

#[test]
fn metrics_are_served_only_on_their_own_listener() {
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics_port = free_port();
    let addr = format!("127.0.0.1:{metrics_port}");
    let server = Server::start_with(dir.path(), &ServerOptions::args(&["--metrics-listen", &addr]));
    let on_api = server.http.get(server.url("/metrics")).send().expect("api port");
    assert_eq!(on_api.status().as_u16(), 404);
    let res = server.http.get(format!("http://{addr}/metrics")).send().expect("metrics port");
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text().expect("text").contains("gridline_http_requests_total"));
    // The metrics listener serves nothing else.
    let res = server.http.get(format!("http://{addr}/healthz")).send().expect("metrics port");
    assert_eq!(res.status().as_u16(), 404);
}

#[test]
fn a_taken_default_metrics_port_does_not_stop_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Hold the default metrics port (if another process holds it already, it is taken all the same).
    let _holder = TcpListener::bind("127.0.0.1:9187");
    let server = Server::start_with(dir.path(), &ServerOptions { default_metrics: true, ..ServerOptions::default() });
    assert!(server.healthy());
    assert_eq!(server.http.get(server.url("/metrics")).send().expect("api port").status().as_u16(), 404);
}

#[test]
fn an_explicit_metrics_address_that_cannot_be_bound_fails_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let holder = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = holder.local_addr().expect("addr").to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridline-server"))
        .args(["serve", "--data"])
        .arg(dir.path())
        .args(["--listen", &format!("127.0.0.1:{}", free_port()), "--metrics-listen", &addr])
        .output()
        .expect("run serve");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("io_error"), "{said}");
}

#[test]
fn an_oversized_request_head_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let mut stream = connect(server.port);
    let head = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: {}\r\n\r\n", "a".repeat(20 * 1024));
    // The server may close before it has read everything; what it answered is what counts.
    let _ = stream.write_all(head.as_bytes());
    let (_, answer) = wait_closed(&mut stream, Instant::now() + Duration::from_secs(10)).expect("kept open");
    let answer = String::from_utf8_lossy(&answer).to_string();
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(fresh_healthz(server.port));
}

#[test]
fn sigterm_stops_the_server_promptly_with_connections_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start_with(dir.path(), &ServerOptions::args(&["--header-timeout-ms", "60000"]));
    let _stalled = stall(server.port, b"POST /v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty");
    let mut idle = connect(server.port);
    idle.write_all(HEALTHZ).expect("write");
    read_until(&mut idle, b"\r\n\r\nok");
    let status =
        std::process::Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(exit) = server.child.try_wait().expect("wait") {
            assert!(exit.success(), "{exit:?}");
            break;
        }
        assert!(Instant::now() < deadline, "server still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}
