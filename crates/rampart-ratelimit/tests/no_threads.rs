//! Building limiters starts no thread: a router with one rate-limited entry per route builds
//! one limiter per entry. Alone in its own test binary, so no other test's threads count.

#![allow(clippy::unwrap_used)]

use rampart_ratelimit::{Quota, RateLimiter};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn building_limiters_starts_no_thread() {
    let before = threads();
    let limiters: Vec<RateLimiter> = (0..64)
        .map(|_| {
            RateLimiter::builder()
                .policy("per_ip", Quota::per_second(10))
                .build()
                .unwrap()
        })
        .collect();
    assert_eq!(threads(), before, "{} limiters", limiters.len());
}
