//! The command line.

use std::error::Error;
use std::time::Duration;

/// A capacity change posted mid-run (`/admin/chaos`).
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub(crate) at: f64,
    pub(crate) url: String,
    pub(crate) token: String,
    pub(crate) body: String,
}

#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) url: String,
    pub(crate) rate: f64,
    pub(crate) seconds: f64,
    pub(crate) timeout: Duration,
    /// Requests in flight past which the generator records a request as skipped rather than
    /// open more sockets: a bound on what the run costs the machine.
    pub(crate) max_outstanding: usize,
    pub(crate) watch: Option<(String, String)>,
    pub(crate) change: Option<Change>,
    /// The p99 of `200`s that counts as recovered after a change.
    pub(crate) target: Duration,
    pub(crate) timeline: Option<String>,
}

impl Options {
    pub(crate) fn parse(args: Vec<String>) -> Result<Self, Box<dyn Error>> {
        let usage = "usage: open-loop URL RATE SECONDS [--timeout-ms N] [--max-outstanding N] \
                     [--watch METRICS_URL SERIES] [--change-at S POST_URL TOKEN JSON] \
                     [--target-ms N] [--timeline FILE]";
        let mut args = args.into_iter();
        let mut next = |what: &str| {
            args.next()
                .ok_or_else(|| format!("{what} missing; {usage}"))
        };
        let url = next("URL")?;
        let rate: f64 = next("RATE")?.parse()?;
        let seconds: f64 = next("SECONDS")?.parse()?;
        if !(rate > 0.0 && rate <= 100_000.0 && seconds > 0.0 && seconds <= 600.0) {
            return Err(format!("RATE in (0, 100000] and SECONDS in (0, 600]; {usage}").into());
        }
        let mut options = Self {
            url,
            rate,
            seconds,
            timeout: Duration::from_secs(2),
            max_outstanding: 4096,
            watch: None,
            change: None,
            target: Duration::from_millis(50),
            timeline: None,
        };
        while let Ok(flag) = next("") {
            match flag.as_str() {
                "--timeout-ms" => options.timeout = Duration::from_millis(next(&flag)?.parse()?),
                "--max-outstanding" => options.max_outstanding = next(&flag)?.parse()?,
                "--watch" => options.watch = Some((next(&flag)?, next(&flag)?)),
                "--change-at" => {
                    options.change = Some(Change {
                        at: next(&flag)?.parse()?,
                        url: next(&flag)?,
                        token: next(&flag)?,
                        body: next(&flag)?,
                    });
                }
                "--target-ms" => options.target = Duration::from_millis(next(&flag)?.parse()?),
                "--timeline" => options.timeline = Some(next(&flag)?),
                other => return Err(format!("unknown flag `{other}`; {usage}").into()),
            }
        }
        Ok(options)
    }
}
