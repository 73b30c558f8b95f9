//! The limit against a simulated resource: a pool of `size` connections, each call holding one
//! for `HOLD`, demand always above capacity (every permitted call is in flight). A call's
//! latency is its own hold plus its wait for a connection, which grows with the queue.

use proptest::prelude::*;
use rampart_concurrency::GradientLimit;
use std::time::Duration;
use tokio::time::Instant;

const HOLD: Duration = Duration::from_millis(10);

/// What `seconds` of saturated demand on a pool of `size` did, step by step (one hold each).
struct Run {
    /// The limit at each step.
    limits: Vec<usize>,
    /// The latency of the calls completed at each step.
    latencies: Vec<Duration>,
}

impl Run {
    /// The mean limit over the last `steps` steps.
    fn mean_limit(&self, steps: usize) -> f64 {
        let tail = &self.limits[self.limits.len() - steps..];
        tail.iter().map(|&l| l as f64).sum::<f64>() / tail.len() as f64
    }

    /// The largest latency over the last `steps` steps.
    fn worst_latency(&self, steps: usize) -> Duration {
        self.latencies[self.latencies.len() - steps..]
            .iter()
            .copied()
            .max()
            .unwrap_or_default()
    }
}

fn saturate(limit: &mut GradientLimit, now: &mut Instant, size: usize, seconds: u64) -> Run {
    let mut run = Run {
        limits: Vec::new(),
        latencies: Vec::new(),
    };
    for _ in 0..seconds * 100 {
        let in_flight = limit.limit();
        // Beyond the pool, calls queue: on average `in_flight / size` holds each.
        let latency = HOLD.mul_f64((in_flight as f64 / size as f64).max(1.0));
        // A pool of `size` completes `size` calls per hold (or all there are).
        for _ in 0..in_flight.min(size) {
            limit.on_sample(*now - latency, *now, in_flight);
        }
        // Demand is always above the limit: somebody is refused at every step.
        limit.on_refused(*now);
        run.limits.push(in_flight);
        run.latencies.push(latency);
        *now += HOLD;
    }
    run
}

#[test]
fn the_limit_settles_just_above_the_pool_and_keeps_latency_near_unloaded() {
    let mut limit = GradientLimit::new();
    let mut now = Instant::now();
    let run = saturate(&mut limit, &mut now, 8, 30);
    assert_eq!(limit.min_rtt(), Some(HOLD));
    let mean = run.mean_limit(500);
    // Measured: 13.6 (a fixed limit of 20 would hold latency at 2.5 holds).
    assert!(
        (9.0..=16.0).contains(&mean),
        "mean limit {mean} for a pool of 8"
    );
    let worst = run.worst_latency(500);
    assert!(worst <= HOLD * 2, "latency up to {worst:?}");
}

#[test]
fn the_limit_follows_a_pool_that_halves_then_doubles() {
    let mut limit = GradientLimit::new();
    let mut now = Instant::now();
    let before = saturate(&mut limit, &mut now, 16, 20).mean_limit(500);
    let halved = saturate(&mut limit, &mut now, 8, 5);
    let after = halved.mean_limit(200);
    assert!(
        after < before && after <= 16.0,
        "mean limit {after} in the 2 s after the pool went from 16 to 8 (was {before})"
    );
    assert!(halved.worst_latency(200) <= HOLD * 2);
    let doubled = saturate(&mut limit, &mut now, 32, 10).mean_limit(500);
    assert!(
        (32.0..=64.0).contains(&doubled),
        "mean limit {doubled} once the pool is 32"
    );
}

#[test]
fn the_unloaded_latency_is_measured_again_at_min() {
    let mut limit = GradientLimit::new()
        .min(2)
        .min_rtt_interval(Duration::from_secs(1))
        .min_rtt_samples(10);
    let mut now = Instant::now();
    saturate(&mut limit, &mut now, 8, 2);
    assert_eq!(limit.min_rtt(), Some(HOLD));
    // The resource got three times slower for good: the next measurement sees it, and calls
    // started before the measurement (under the full limit, queueing) do not count in it.
    let mut measured_at_min = false;
    for _ in 0..400 {
        measured_at_min |= limit.limit() == 2;
        limit.on_sample(now - Duration::from_secs(5), now, 8);
        limit.on_sample(now - HOLD * 3, now, 8);
        limit.on_refused(now);
        now += HOLD;
    }
    assert!(measured_at_min);
    assert_eq!(limit.min_rtt(), Some(HOLD * 3));
}

proptest! {
    /// Whatever the samples, drops and clock, the limit stays within its bounds.
    #[test]
    fn the_limit_never_leaves_its_bounds(
        min in 1usize..20,
        span in 0usize..200,
        events in prop::collection::vec(
            (0u64..500_000, 0u64..300_000, 0u8..3, 0usize..300),
            0..500,
        ),
    ) {
        let max = min + span;
        let mut limit = GradientLimit::new()
            .min(min)
            .max(max)
            .min_rtt_samples(5)
            .min_rtt_interval(Duration::from_secs(2));
        let mut now = Instant::now() + Duration::from_secs(1);
        for (rtt_us, step_us, event, in_flight) in events {
            match event {
                0 => limit.on_dropped(now),
                1 => limit.on_refused(now),
                _ => limit.on_sample(now - Duration::from_micros(rtt_us), now, in_flight),
            }
            now += Duration::from_micros(step_us);
            prop_assert!((min..=max).contains(&limit.limit()), "{} not in {min}..={max}", limit.limit());
        }
    }
}
