//! A flood of distinct rate-limit keys cannot grow the process without bound: past the cap on
//! keys a policy tracks (`DEFAULT_MAX_KEYS`, 100 000), new keys evict old ones, and the resident
//! set stops growing. Measured as the process's RSS, not as the limiter's own count.

#![allow(clippy::unwrap_used)]

use rampart_tests::{Flood, flood, resident_bytes, start};

/// Keys a policy tracks at most (`rampart_ratelimit::DEFAULT_MAX_KEYS`).
const MAX_KEYS: u64 = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_distinct_keys_past_the_cap_does_not_grow_resident_memory() {
    let server = start(
        r#"
[[stack.ratelimit.policies]]
name = "per_key"
limit = 1000000
period = "1s"
key = { header = "x-api-key" }
"#,
    )
    .await;
    let mut attack = Flood {
        requests: MAX_KEYS,
        connections: 4,
        junk_bytes: 16,
        path: "/api/hello".to_owned(),
        distinct_header: Some("x-api-key: a{n}".to_owned()),
    };
    // Fills the policy to its cap with 241-byte keys, and grows every buffer the rest needs.
    let filled = flood(server.addr(), &attack).await.unwrap();
    assert_eq!(filled.success, MAX_KEYS, "{filled:?}");
    let Some((at_cap, _)) = resident_bytes() else {
        eprintln!("SKIPPED: /proc/self/status is not readable here");
        return;
    };
    // As many keys again, all new, each evicting one: the allocator settles into what eviction
    // frees (measured: +5.7 to +6.6 MB here, then +1.6 to +5.4 MB over the next two rounds, and
    // a plateau: +0.8 MB over five rounds).
    attack.distinct_header = Some("x-api-key: b{n}".to_owned());
    flood(server.addr(), &attack).await.unwrap();
    let (settled, _) = resident_bytes().unwrap();
    for round in ["c", "d"] {
        attack.distinct_header = Some(format!("x-api-key: {round}{{n}}"));
        let answers = flood(server.addr(), &attack).await.unwrap();
        assert_eq!(answers.success, MAX_KEYS, "{answers:?}");
    }
    let (after, _) = resident_bytes().unwrap();
    let grown = after.saturating_sub(settled);
    eprintln!(
        "resident memory: {at_cap} bytes at the cap, {settled} after one round of evictions, \
         then grew {grown} more over {} new keys",
        2 * MAX_KEYS
    );
    // 200 000 new keys of 241 bytes are 48 MB of key text alone: keeping them beside the old
    // ones would grow by at least that; the bound is a quarter of it.
    assert!(
        grown <= 12 * 1024 * 1024,
        "resident memory grew {grown} bytes past the key cap"
    );
}
