//! A local rate-limit decision on an existing key: rampart's `RateLimiter` beside governor's
//! keyed limiter (what tower_governor calls per request), in the same run.
//!
//! Run with `cargo bench -p rampart-benches --bench ratelimit`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::net::IpAddr;
use std::num::NonZeroU32;
use tokio::time::Instant;

fn bench(c: &mut Criterion) {
    let client: IpAddr = "203.0.113.7".parse().expect("an address");
    // A quota no benchmark can exhaust: every decision is an admission on an existing key.
    let huge = 1_000_000_000;

    let rampart = rampart_ratelimit::RateLimiter::builder()
        .policy("per_ip", rampart_ratelimit::Quota::per_second(huge))
        .build()
        .expect("a valid quota");
    let keys = [rampart_ratelimit::Key::ip(client, 64)];
    assert!(rampart.check(&keys, Instant::now()).is_ok());

    let governor = governor::RateLimiter::keyed(governor::Quota::per_second(
        NonZeroU32::new(huge).expect("non-zero"),
    ));
    assert!(governor.check_key(&client).is_ok());

    let mut group = c.benchmark_group("ratelimit_decision");
    group.bench_function("rampart", |b| {
        b.iter(|| black_box(rampart.check(black_box(&keys), Instant::now()).is_ok()));
    });
    group.bench_function("governor_keyed", |b| {
        b.iter(|| black_box(governor.check_key(black_box(&client)).is_ok()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
