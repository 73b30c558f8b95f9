//! A throwaway certificate authority and a server certificate for 127.0.0.1 and `localhost`,
//! made by the `openssl` command (Debian's `openssl` package) in a directory of their own.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A CA (`ca.crt`) and a server key and certificate it signed (`server.key`, `server.crt`,
/// for `IP:127.0.0.1` and `DNS:localhost`), valid for a day. The directory goes on drop.
#[derive(Debug)]
pub struct Certificates {
    dir: PathBuf,
}

impl Certificates {
    /// Makes them in a fresh directory under the system's temporary directory.
    ///
    /// # Panics
    ///
    /// When `openssl` is missing or fails: the test cannot run.
    pub fn generate() -> Self {
        let dir =
            std::env::temp_dir().join(format!("rampart-certs-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).expect("a directory for the certificates");
        let certificates = Self { dir };
        std::fs::write(
            certificates.path("server.ext"),
            "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n",
        )
        .expect("write server.ext");
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        certificates.openssl(
            &[
                &["req", "-x509"],
                &ec[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.crt",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=rampart test CA",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign",
                ],
            ]
            .concat(),
        );
        certificates.openssl(
            &[
                &["req"],
                &ec[..],
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=localhost",
                ],
            ]
            .concat(),
        );
        certificates.openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "1",
            "-extfile",
            "server.ext",
        ]);
        certificates
    }

    /// The CA's certificate (PEM): what a client trusts.
    pub fn ca(&self) -> PathBuf {
        self.path("ca.crt")
    }

    /// The server's certificate (PEM).
    pub fn server_certificate(&self) -> PathBuf {
        self.path("server.crt")
    }

    /// The server's private key (PEM).
    pub fn server_key(&self) -> PathBuf {
        self.path("server.key")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn openssl(&self, args: &[&str]) {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .expect("the `openssl` command (apt-get install openssl)");
        assert!(
            output.status.success(),
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Certificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
