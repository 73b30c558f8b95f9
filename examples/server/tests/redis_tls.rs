//! Redis over TLS (`rediss://`, the `redis-tls` feature): the server keeps its quotas in a
//! TLS-only `redis-server` whose CA it trusts through `SSL_CERT_FILE`, and refuses one whose
//! certificate it cannot verify (then each instance decides alone, as with Redis down).

#![allow(clippy::unwrap_used)]

mod support;

use rampart_test_support::{Certificates, RedisServer};
use std::path::Path;
use support::{bound_address, client, server};

const CONFIG: &str = r#"
[[stack.ratelimit.policies]]
name = "per_ip"
limit = 10
period = "1h"
key = "client_ip"
"#;

/// Two instances keeping quotas in `redis` and trusting the CA in `ca`, each asked `count`
/// times: how many requests they admitted.
async fn admitted_by_two_instances(redis: &RedisServer, ca: &Path, count: usize) -> usize {
    let dir = std::env::temp_dir().join(format!(
        "rampart-tls-{}-{}",
        std::process::id(),
        redis.addr().port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("tls.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut admitted = 0;
    let mut instances = Vec::new();
    for _ in 0..2 {
        let mut child = server()
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("RAMPART_REDIS_URL", redis.url())
            .env("SSL_CERT_FILE", ca)
            .spawn()
            .unwrap();
        let addr = bound_address(&mut child).await;
        instances.push((child, addr));
    }
    let client = client();
    for (_, addr) in &instances {
        for _ in 0..count {
            let response = client
                .get(format!("http://{addr}/api/hello"))
                .send()
                .await
                .unwrap();
            assert!(
                [200, 429].contains(&response.status().as_u16()),
                "{}",
                response.status()
            );
            admitted += usize::from(response.status() == 200);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    admitted
}

#[tokio::test]
async fn quotas_are_shared_through_a_redis_that_speaks_only_tls() {
    let Some(redis) = RedisServer::start_tls().await else {
        return;
    };
    let ca = redis.tls_ca().unwrap();
    assert_eq!(admitted_by_two_instances(&redis, &ca, 8).await, 10);
}

#[tokio::test]
async fn a_redis_whose_certificate_cannot_be_verified_is_not_used() {
    let Some(redis) = RedisServer::start_tls().await else {
        return;
    };
    let stranger = Certificates::generate();
    // Each instance decides alone (fail open): 8 of 8 each, where one quota would admit 10.
    assert_eq!(
        admitted_by_two_instances(&redis, &stranger.ca(), 8).await,
        16
    );
}
