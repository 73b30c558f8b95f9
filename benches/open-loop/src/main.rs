//! A constant-rate (open-loop) HTTP load generator for `scripts/overload.sh`.
//!
//! Requests leave on a fixed schedule whatever the server does, and each one's latency runs
//! from its *scheduled* start, so a server that stalls is charged for every request it delayed
//! (no coordinated omission, unlike a closed loop such as wrk).
//!
//! ```text
//! open-loop URL RATE SECONDS [--timeout-ms 2000] [--max-outstanding 4096]
//!     [--watch METRICS_URL SERIES] [--change-at SECONDS POST_URL TOKEN JSON]
//!     [--target-ms 50] [--timeline FILE]
//! ```
//!
//! Prints one JSON object: goodput (`200`s within 200 ms, per second), p50/p99 of the `200`s,
//! p99 of the `503`s, the other outcomes, and, with `--watch`, how long the watched series (a
//! concurrency limit) took to settle, from the start and from `--change-at`. `--timeline`
//! writes the same figures per 250 ms window as CSV, for the plot.

#![allow(clippy::print_stdout)]

use serde_json::json;
use std::error::Error;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

mod options;
mod summary;

use options::Options;
use summary::{Outcome, Record, Sample};

/// The latency within which a `200` counts as goodput.
const GOOD: Duration = Duration::from_millis(200);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let options = Options::parse(std::env::args().skip(1).collect())?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(options.timeout)
        .build()?;
    let start = Instant::now();
    let run = Duration::from_secs_f64(options.seconds);
    let watch = options.watch.clone().map(|(url, series)| {
        let client = client.clone();
        tokio::spawn(watch_series(client, url, series, start, run))
    });
    let change = options.change.clone().map(|change| {
        let client = client.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(start + Duration::from_secs_f64(change.at)).await;
            client
                .post(&change.url)
                .bearer_auth(&change.token)
                .body(change.body.clone())
                .send()
                .await
                .map(|response| response.status().as_u16())
        })
    });

    let outstanding = Arc::new(AtomicUsize::new(0));
    let interval = Duration::from_secs_f64(1.0 / options.rate);
    let count = (options.rate * options.seconds).round() as usize;
    let mut calls = Vec::with_capacity(count);
    for index in 0..count {
        let scheduled = start + interval.mul_f64(index as f64);
        // tokio's timer ticks in milliseconds: sleep to a millisecond before, then yield until
        // the exact time, so the schedule is kept to microseconds (the generator has a core
        // of its own) and timer lateness is not charged to the server.
        tokio::time::sleep_until(scheduled - Duration::from_millis(1)).await;
        while Instant::now() < scheduled {
            tokio::task::yield_now().await;
        }
        if outstanding.load(Ordering::Relaxed) >= options.max_outstanding {
            calls.push(tokio::spawn(std::future::ready(Record {
                at: scheduled - start,
                latency: Duration::ZERO,
                outcome: Outcome::Skipped,
            })));
            continue;
        }
        outstanding.fetch_add(1, Ordering::Relaxed);
        let (client, url, outstanding) = (client.clone(), options.url.clone(), outstanding.clone());
        calls.push(tokio::spawn(async move {
            let outcome = match client.get(&url).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    match response.bytes().await {
                        Ok(_) => Outcome::Status(status),
                        Err(_) => Outcome::Error,
                    }
                }
                Err(_) => Outcome::Error,
            };
            outstanding.fetch_sub(1, Ordering::Relaxed);
            Record {
                at: scheduled - start,
                latency: scheduled.elapsed(),
                outcome,
            }
        }));
    }
    let mut records = Vec::with_capacity(count);
    for call in calls {
        records.push(call.await?);
    }
    let samples = match watch {
        Some(watch) => watch.await?,
        None => Vec::new(),
    };
    let change_status = match change {
        Some(change) => Some(change.await?.map_err(|error| error.to_string())?),
        None => None,
    };

    let windows = summary::windows(&records, &samples, run, Duration::from_millis(250), GOOD);
    if let Some(path) = &options.timeline {
        let mut csv = String::from("t,goodput_per_s,p99_ok_ms,refused_per_s,limit\n");
        for window in &windows {
            let _ = writeln!(
                csv,
                "{:.2},{:.0},{:.1},{:.0},{}",
                window.start.as_secs_f64(),
                window.goodput_per_s,
                window.p99_ok.as_secs_f64() * 1000.0,
                window.refused_per_s,
                window
                    .limit
                    .map_or(String::new(), |limit| format!("{limit}")),
            );
        }
        std::fs::write(path, csv)?;
    }
    let change_at = options.change.as_ref().map(|change| change.at);
    let mut report = summary::totals(&records, run, GOOD);
    report["rate"] = json!(options.rate);
    report["settle_s"] = json!(summary::settle(&samples, 0.0, run));
    if let Some(at) = change_at {
        report["change_status"] = json!(change_status);
        report["settle_after_change_s"] =
            json!(summary::settle(&samples, at, run).map(|settled| settled - at));
        report["p99_back_under_target_s"] = json!(
            summary::recovered(&records, at, run, options.target).map(|recovered| recovered - at)
        );
    }
    println!("{report}");
    Ok(())
}

/// Reads `series` from the Prometheus page at `url` every 100 ms until the run ends.
async fn watch_series(
    client: reqwest::Client,
    url: String,
    series: String,
    start: Instant,
    run: Duration,
) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while start.elapsed() < run {
        tick.tick().await;
        let Ok(response) = client.get(&url).send().await else {
            continue;
        };
        let Ok(text) = response.text().await else {
            continue;
        };
        let value = text.lines().find_map(|line| {
            line.strip_prefix(series.as_str())?
                .trim()
                .parse::<f64>()
                .ok()
        });
        if let Some(value) = value {
            samples.push(Sample {
                at: start.elapsed(),
                value,
            });
        }
    }
    samples
}
