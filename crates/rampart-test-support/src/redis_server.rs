//! A real `redis-server` on a free loopback port, started for one test and stopped after it.

use rustix::process::{Pid, Signal, kill_process};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::Certificates;

/// A `redis-server` child process. Dropping it kills the server.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    /// Settings beyond the defaults, e.g. `["--maxmemory", "8mb"]`.
    settings: Vec<String>,
    /// Set: the server speaks TLS only, with these certificates.
    tls: Option<Certificates>,
}

impl RedisServer {
    /// Starts a server on a free port of 127.0.0.1, or returns `None` (with a loud message)
    /// when `redis-server` is not installed.
    ///
    /// # Panics
    ///
    /// When `redis-server` is missing and `RAMPART_REQUIRE_REDIS=1` (as in CI), or when it
    /// does not start answering within 10 s.
    pub async fn start() -> Option<Self> {
        Self::start_with(&[]).await
    }

    /// [`RedisServer::start`] with `settings` on its command line, e.g.
    /// `["--maxmemory", "8mb", "--maxmemory-policy", "noeviction"]`.
    ///
    /// # Panics
    ///
    /// As [`RedisServer::start`].
    pub async fn start_with(settings: &[&str]) -> Option<Self> {
        Self::start_as(settings, false).await
    }

    /// [`RedisServer::start`], speaking TLS only (`rediss://`), with a certificate for
    /// 127.0.0.1 signed by a CA of its own ([`RedisServer::tls_ca`]); clients are not asked
    /// for certificates.
    ///
    /// # Panics
    ///
    /// As [`RedisServer::start`], and when the `openssl` command is missing.
    pub async fn start_tls() -> Option<Self> {
        Self::start_as(&[], true).await
    }

    async fn start_as(settings: &[&str], tls: bool) -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            let required = std::env::var("RAMPART_REQUIRE_REDIS").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "redis-server is not installed and RAMPART_REQUIRE_REDIS=1"
            );
            eprintln!(
                "\n!!!!! SKIPPED: redis-server is not installed; this Redis test did not run. \
                 Install it (apt-get install redis-server) or set RAMPART_REQUIRE_REDIS=1 to \
                 make this a failure. !!!!!\n"
            );
            return None;
        }
        let port = free_port();
        let mut server = Self {
            port,
            child: None,
            settings: settings.iter().map(|&setting| setting.to_owned()).collect(),
            tls: tls.then(Certificates::generate),
        };
        server.spawn().await;
        Some(server)
    }

    fn command(&self) -> Command {
        let mut command = Command::new("redis-server");
        let port = self.port.to_string();
        match &self.tls {
            None => command.args(["--port", &port]),
            Some(certificates) => command
                .args([
                    "--port",
                    "0",
                    "--tls-port",
                    &port,
                    "--tls-auth-clients",
                    "no",
                ])
                .arg("--tls-cert-file")
                .arg(certificates.server_certificate())
                .arg("--tls-key-file")
                .arg(certificates.server_key())
                .arg("--tls-ca-cert-file")
                .arg(certificates.ca()),
        };
        command
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(&self.settings)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    async fn spawn(&mut self) {
        let child = self.command().spawn().expect("start redis-server");
        self.child = Some(child);
        for _ in 0..200 {
            // A TLS server is ready when its port takes connections (it binds after loading).
            let ready = match self.tls {
                None => ping(self.port).await,
                Some(_) => tokio::net::TcpStream::connect(self.addr()).await.is_ok(),
            };
            if ready {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "redis-server on port {} did not answer within 10 s",
            self.port
        );
    }

    /// `redis://127.0.0.1:<port>/`, or `rediss://…` for a TLS server.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}/", self.port)
    }

    /// The certificate (PEM) of the CA that signed a TLS server's certificate: what a client
    /// must trust. `None` for a server without TLS.
    pub fn tls_ca(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(Certificates::ca)
    }

    /// Kills the server, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A paused server would not die until continued.
            if let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
                let _ = kill_process(pid, Signal::CONT);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// Stops the server without closing anything (`SIGSTOP`), as a hung server.
    ///
    /// # Panics
    ///
    /// When the signal cannot be sent.
    pub fn pause(&self) {
        self.signal(Signal::STOP);
    }

    /// Lets a paused server go on (`SIGCONT`).
    ///
    /// # Panics
    ///
    /// When the signal cannot be sent.
    pub fn resume(&self) {
        self.signal(Signal::CONT);
    }

    fn signal(&self, signal: Signal) {
        let pid = self.child.as_ref().expect("a running server").id();
        let pid = i32::try_from(pid)
            .ok()
            .and_then(Pid::from_raw)
            .expect("a process id");
        kill_process(pid, signal).expect("signal redis-server");
    }

    /// Starts it again on the same port, empty.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

async fn ping(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if stream.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut reply)).await,
        Ok(Ok(_))
    ) && &reply == b"+PONG\r\n"
}
