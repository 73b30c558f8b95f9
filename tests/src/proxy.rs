//! A loopback TCP proxy that can go silent, as a network path does when a NAT entry or a
//! firewall state expires: the bytes stop, and neither end hears a FIN or an RST.

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Which connections pass bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Silence {
    /// Connections opened before this many had been accepted stay silent for good.
    before: u64,
}

/// A proxy from a free port of 127.0.0.1 to `upstream`. Dropping it closes everything.
#[derive(Debug)]
pub struct SilentProxy {
    addr: SocketAddr,
    accepted: Arc<std::sync::atomic::AtomicU64>,
    silence: watch::Sender<Silence>,
    task: JoinHandle<()>,
}

impl SilentProxy {
    /// Starts forwarding to `upstream`.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let accepted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (silence, watching) = watch::channel(Silence::default());
        let counter = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let mut tasks = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let number = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tasks.spawn(pump(client_read, server_write, number, watching.clone()));
                tasks.spawn(pump(server_read, client_write, number, watching.clone()));
            }
        });
        Self {
            addr,
            accepted,
            silence,
            task,
        }
    }

    /// `redis://<proxy>/`.
    pub fn redis_url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// Every connection open now stops passing bytes, for good, without closing; new
    /// connections pass.
    pub fn silence_open_connections(&self) {
        let before = self.accepted.load(std::sync::atomic::Ordering::SeqCst);
        self.silence.send_replace(Silence { before });
    }
}

impl Drop for SilentProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies `from` to `to` while the connection numbered `number` is not silenced; once it is,
/// holds both ends open and passes nothing.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    number: u64,
    mut silence: watch::Receiver<Silence>,
) {
    let mut buffer = vec![0; 16 * 1024];
    let silenced = |silence: &Silence| number < silence.before;
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            _ = silence.wait_for(silenced) => break,
        };
        let Ok(n @ 1..) = read else { return };
        if silenced(&silence.borrow()) || to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    // Silent: keep the sockets open and unread until the proxy is dropped.
    std::future::pending::<()>().await;
    drop((from, to));
}
