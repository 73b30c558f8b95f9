//! The figures of a run, from its records.

use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Status(u16),
    /// No answer: a timeout, a refused or reset connection.
    Error,
    /// Not sent: too many requests already in flight.
    Skipped,
}

/// One request: when it was scheduled (from the start), and how long after that it was over.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record {
    pub(crate) at: Duration,
    pub(crate) latency: Duration,
    pub(crate) outcome: Outcome,
}

/// One reading of the watched series.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) at: Duration,
    pub(crate) value: f64,
}

/// The figures of one window of the timeline.
#[derive(Debug)]
pub(crate) struct Window {
    pub(crate) start: Duration,
    pub(crate) goodput_per_s: f64,
    pub(crate) p99_ok: Duration,
    pub(crate) refused_per_s: f64,
    pub(crate) limit: Option<f64>,
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * fraction).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latencies(records: &[Record], status: u16) -> Vec<Duration> {
    let mut latencies: Vec<Duration> = records
        .iter()
        .filter(|record| record.outcome == Outcome::Status(status))
        .map(|record| record.latency)
        .collect();
    latencies.sort_unstable();
    latencies
}

fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

/// The whole run's figures.
pub(crate) fn totals(records: &[Record], run: Duration, good: Duration) -> Value {
    let ok = latencies(records, 200);
    let refused = latencies(records, 503);
    let count =
        |wanted: fn(&Outcome) -> bool| records.iter().filter(|r| wanted(&r.outcome)).count();
    let good_count = ok.iter().filter(|latency| **latency <= good).count();
    json!({
        "seconds": run.as_secs_f64(),
        "sent": count(|o| *o != Outcome::Skipped),
        "ok": ok.len(),
        "goodput_per_s": (good_count as f64 / run.as_secs_f64()).round(),
        "p50_ok_ms": ms(percentile(&ok, 0.50)),
        "p99_ok_ms": ms(percentile(&ok, 0.99)),
        "refused": refused.len(),
        "p99_refused_ms": ms(percentile(&refused, 0.99)),
        "other_status": count(|o| matches!(o, Outcome::Status(s) if *s != 200 && *s != 503)),
        "errors": count(|o| *o == Outcome::Error),
        "skipped": count(|o| *o == Outcome::Skipped),
    })
}

/// The run cut in windows of `width`, by scheduled start.
pub(crate) fn windows(
    records: &[Record],
    samples: &[Sample],
    run: Duration,
    width: Duration,
    good: Duration,
) -> Vec<Window> {
    let count = (run.as_secs_f64() / width.as_secs_f64()).ceil() as usize;
    (0..count)
        .map(|index| {
            let start = width.mul_f64(index as f64);
            let end = start + width;
            let inside: Vec<Record> = records
                .iter()
                .filter(|record| record.at >= start && record.at < end)
                .copied()
                .collect();
            let ok = latencies(&inside, 200);
            let per_s = |n: usize| n as f64 / width.as_secs_f64();
            Window {
                start,
                goodput_per_s: per_s(ok.iter().filter(|latency| **latency <= good).count()),
                p99_ok: percentile(&ok, 0.99),
                refused_per_s: per_s(latencies(&inside, 503).len()),
                limit: samples
                    .iter()
                    .rfind(|sample| sample.at < end)
                    .map(|sample| sample.value),
            }
        })
        .collect()
}

/// When, in seconds from the start, the series last entered the band of ±25 % around where it
/// ends (the median of its last 2 s) and stayed there; only samples after `from` count.
pub(crate) fn settle(samples: &[Sample], from: f64, run: Duration) -> Option<f64> {
    let after: Vec<Sample> = samples
        .iter()
        .filter(|sample| sample.at.as_secs_f64() >= from)
        .copied()
        .collect();
    let tail_start = run.as_secs_f64() - 2.0;
    let mut tail: Vec<f64> = after
        .iter()
        .filter(|sample| sample.at.as_secs_f64() >= tail_start)
        .map(|sample| sample.value)
        .collect();
    tail.sort_by(f64::total_cmp);
    let settled = *tail.get(tail.len() / 2)?;
    let inside = |value: f64| (value - settled).abs() <= settled * 0.25;
    let last_outside = after.iter().rposition(|sample| !inside(sample.value));
    let first_inside = last_outside.map_or(0, |index| index + 1);
    after
        .get(first_inside)
        .map(|sample| sample.at.as_secs_f64())
}

/// When, in seconds from the start, the p99 of `200`s per second went under `target` after
/// `from` and stayed there.
pub(crate) fn recovered(
    records: &[Record],
    from: f64,
    run: Duration,
    target: Duration,
) -> Option<f64> {
    let seconds: Vec<f64> = (0..)
        .map(|n| from + f64::from(n))
        .take_while(|second| *second + 1.0 <= run.as_secs_f64())
        .collect();
    let over = |second: f64| {
        let inside: Vec<Record> = records
            .iter()
            .filter(|r| (second..second + 1.0).contains(&r.at.as_secs_f64()))
            .copied()
            .collect();
        percentile(&latencies(&inside, 200), 0.99) > target
    };
    let last_over = seconds.iter().rposition(|second| over(*second));
    match last_over {
        None => Some(from),
        Some(index) => seconds.get(index + 1).copied(),
    }
}
