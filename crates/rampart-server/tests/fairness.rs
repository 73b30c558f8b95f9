//! One client must not lock the others out through the connection cap (issue 30, items 1 and
//! 5): an address that fills the cap with slow uploads, with idle keep-alive connections or
//! with heads it never finishes, from one address or from twelve, and probes from other
//! addresses still get in within 1 s. Before the per-address share and heaviest-first eviction,
//! only connections that had sent no head could be closed at the cap: busy and idle attackers
//! left probes in the backlog for as long as the attack lasted.

#![allow(clippy::unwrap_used)]

mod common;

use common::{connect_from, probe, start};
use rampart_metrics::Prometheus;
use rampart_server::Server;
use rampart_test_support::series;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CAP: usize = 48;

/// How an attacking connection holds its slot.
#[derive(Clone, Copy, Debug)]
enum Hold {
    /// Announces a 10 MB body and sends one byte of it.
    SlowUpload,
    /// Makes one request, then sits idle on the keep-alive connection.
    IdleKeepAlive,
    /// Sends half a head.
    HalfHead,
}

async fn attack(source: [u8; 4], addr: SocketAddr, hold: Hold) -> Option<TcpStream> {
    let mut stream = tokio::time::timeout(Duration::from_secs(2), connect_from(source, addr))
        .await
        .ok()?;
    match hold {
        Hold::SlowUpload => {
            let head = "POST /upload HTTP/1.1\r\nhost: a\r\ncontent-length: 10000000\r\n\r\nx";
            stream.write_all(head.as_bytes()).await.ok()?;
        }
        Hold::IdleKeepAlive => {
            stream
                .write_all(b"GET / HTTP/1.1\r\nhost: a\r\n\r\n")
                .await
                .ok()?;
            let mut answer = [0u8; 256];
            let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut answer));
            if !matches!(read.await, Ok(Ok(n)) if n > 0) {
                return None;
            }
        }
        Hold::HalfHead => stream
            .write_all(b"GET / HTTP/1.1\r\nhost: a\r\n")
            .await
            .ok()?,
    }
    Some(stream)
}

/// Fills the cap from `attackers` (each opening `CAP` connections in turn), then sends 40
/// probes from other addresses while the attackers keep reopening what is closed; the share
/// of probes answered within 1 s.
async fn probes_answered(attackers: &[[u8; 4]], hold: Hold, server: Server) -> f64 {
    let running = start(
        server
            .max_connections(CAP)
            .header_read_timeout(Duration::from_secs(30))
            .min_request_body_rate(None),
    )
    .await;
    let addr = running.addr;
    let mut held = Vec::new();
    for round in 0..CAP {
        let source = attackers[round % attackers.len()];
        held.extend(attack(source, addr, hold).await);
    }
    // The attackers reopen connections for as long as the probes run.
    let attackers = attackers.to_vec();
    let reopening = tokio::spawn(async move {
        let mut held = held;
        for round in 0.. {
            let source = attackers[round % attackers.len()];
            held.extend(attack(source, addr, hold).await);
            held.retain(|_| true);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let mut answered = 0;
    for n in 0..40u8 {
        answered += usize::from(probe([127, 1, 0, n], addr, Duration::from_secs(1)).await);
    }
    reopening.abort();
    let _ = running.stop.send(());
    answered as f64 / 40.0
}

fn twelve() -> Vec<[u8; 4]> {
    (0..12).map(|n| [127, 0, 9, n]).collect()
}

#[tokio::test]
async fn one_address_holding_the_cap_with_slow_uploads_locks_nobody_out() {
    // The share at the whole cap: only eviction makes room.
    let server = Server::new().max_connections_per_address(CAP);
    let answered = probes_answered(&[[127, 0, 0, 1]], Hold::SlowUpload, server).await;
    assert!(answered >= 0.99, "{answered}");
}

#[tokio::test]
async fn twelve_addresses_holding_the_cap_with_slow_uploads_lock_nobody_out() {
    let answered = probes_answered(&twelve(), Hold::SlowUpload, Server::new()).await;
    assert!(answered >= 0.99, "{answered}");
}

#[tokio::test]
async fn idle_keep_alive_connections_make_room_at_the_cap() {
    let server = Server::new().max_connections_per_address(CAP);
    let answered = probes_answered(&[[127, 0, 0, 1]], Hold::IdleKeepAlive, server).await;
    assert!(answered >= 0.99, "{answered}");
    let answered = probes_answered(&twelve(), Hold::IdleKeepAlive, Server::new()).await;
    assert!(answered >= 0.99, "{answered}");
}

#[tokio::test]
async fn half_heads_from_twelve_addresses_lock_nobody_out() {
    let answered = probes_answered(&twelve(), Hold::HalfHead, Server::new()).await;
    assert!(answered >= 0.99, "{answered}");
}

/// Item 5: under a slow-head flood from one address, a real client from another address that
/// sends its head 1 s after connecting is served; the flood's connections make room for each
/// other. (The oldest head-less connection used to go first, and the probe was the oldest.)
#[tokio::test]
async fn a_slow_flood_closes_its_own_connections_before_a_slow_client() {
    let running = start(
        Server::new()
            .max_connections(CAP)
            .max_connections_per_address(CAP)
            .header_read_timeout(Duration::from_secs(30)),
    )
    .await;
    let addr = running.addr;
    let mut flood = Vec::new();
    for _ in 0..CAP {
        flood.extend(attack([127, 0, 0, 1], addr, Hold::HalfHead).await);
    }
    let flooding = tokio::spawn(async move {
        loop {
            flood.extend(attack([127, 0, 0, 1], addr, Hold::HalfHead).await);
            flood.retain(|_| true);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    let mut served = 0;
    for n in 0..10u8 {
        let mut client = connect_from([127, 2, 0, n], addr).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let _ = client
            .write_all(b"GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
            .await;
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(2), client.read_to_end(&mut answer));
        served += usize::from(read.await.is_ok() && answer.starts_with(b"HTTP/1.1 200"));
    }
    flooding.abort();
    let _ = running.stop.send(());
    assert!(served >= 9, "{served}/10 slow clients served");
}

/// An address holds at most its share: past it, a new connection closes one of the address's
/// own idle connections, or is refused when all of them are busy; other addresses are not
/// touched. A trusted proxy has no share.
#[tokio::test]
async fn an_address_holds_its_share_and_a_trusted_proxy_has_none() {
    let prometheus = Prometheus::new();
    let running = start(
        Server::new()
            .max_connections(CAP)
            .max_connections_per_address(4)
            .min_request_body_rate(None)
            .trust_proxy("127.0.0.7".parse().unwrap())
            .with_recorder(prometheus.recorder()),
    )
    .await;
    let addr = running.addr;
    let mut busy = Vec::new();
    for _ in 0..4 {
        busy.push(
            attack([127, 0, 0, 1], addr, Hold::SlowUpload)
                .await
                .unwrap(),
        );
    }
    assert!(
        !probe([127, 0, 0, 1], addr, Duration::from_secs(1)).await,
        "past its share"
    );
    assert!(
        probe([127, 0, 0, 2], addr, Duration::from_secs(1)).await,
        "another address"
    );
    drop(busy);
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(
            attack([127, 0, 0, 3], addr, Hold::IdleKeepAlive)
                .await
                .unwrap(),
        );
    }
    assert!(
        probe([127, 0, 0, 3], addr, Duration::from_secs(1)).await,
        "an idle one made room"
    );
    let mut closed = 0;
    for stream in &mut idle {
        closed += usize::from(common::closed_within(stream, Duration::from_millis(300)).await);
    }
    assert_eq!(closed, 1, "exactly one of its own idle connections closed");
    // What the server did shows on the metrics page.
    let page = prometheus.render();
    let refused = series(
        &page,
        "rampart_server_connections_refused_total",
        &[("reason", "address_share")],
    );
    assert_eq!(refused, Some(1.0), "{page}");
    let evicted = series(&page, "rampart_server_connections_evicted_total", &[]);
    assert_eq!(evicted, Some(1.0), "{page}");
    let mut proxied = Vec::new();
    for _ in 0..12 {
        proxied.push(
            attack([127, 0, 0, 7], addr, Hold::SlowUpload)
                .await
                .unwrap(),
        );
    }
    assert!(
        probe([127, 0, 0, 7], addr, Duration::from_secs(1)).await,
        "no share for a proxy"
    );
    let _ = running.stop.send(());
}
