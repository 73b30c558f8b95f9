//! The adaptive limit itself: a function of the samples and the times it is given, so it is
//! tested without a runtime and shared by whatever admits calls around it.

use std::time::Duration;
use tokio::time::Instant;

/// Samples kept per window; a window that gets more keeps the first ones (the percentile of a
/// few hundred calls is as good as that of thousands).
const WINDOW_CAPACITY: usize = 512;
/// How much a dropped call takes off the limit.
const BACKOFF: f64 = 0.9;

/// An adaptive concurrency limit from the latency of completed calls (see the crate docs).
///
/// # Example
///
/// ```
/// use rampart_concurrency::GradientLimit;
/// use std::time::Duration;
/// use tokio::time::Instant;
///
/// let mut limit = GradientLimit::new()
///     .min(2)
///     .max(100)
///     .initial(10)
///     .sample_window(Duration::from_millis(100))
///     .min_rtt_interval(Duration::from_secs(60))
///     .min_rtt_samples(5)
///     .min_rtt_buffer(0.25);
/// let mut now = Instant::now();
/// let ms = Duration::from_millis;
/// // Before it knows the resource's unloaded latency it measures it, at the limit it has
/// // while nobody is refused, at `min` calls once somebody is.
/// assert_eq!((limit.limit(), limit.min_rtt()), (10, None));
/// limit.on_refused(now);
/// assert_eq!(limit.limit(), 2);
/// for _ in 0..5 {
///     limit.on_sample(now, now + ms(10), 2);
/// }
/// assert_eq!(limit.min_rtt(), Some(Duration::from_millis(10)));
/// assert_eq!(limit.limit(), 10);
///
/// // Calls as fast as unloaded, with demand at the limit: it grows, window after window.
/// for _ in 0..20 {
///     now += ms(100);
///     limit.on_sample(now - ms(10), now, limit.limit());
/// }
/// let grown = limit.limit();
/// assert!(grown > 10);
/// // Demand far below it: it stays.
/// for _ in 0..20 {
///     now += ms(100);
///     limit.on_sample(now - ms(10), now, 1);
/// }
/// assert_eq!(limit.limit(), grown);
///
/// // Calls four times slower (queueing): it shrinks.
/// for _ in 0..20 {
///     now += ms(100);
///     limit.on_sample(now - ms(40), now, limit.limit());
/// }
/// assert!(limit.limit() < grown);
///
/// // A call the deadline dropped is congestion.
/// let before = limit.limit();
/// limit.on_dropped(now);
/// assert!(limit.limit() < before || before == 2);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct GradientLimit {
    limit: f64,
    min: f64,
    max: f64,
    sample_window: Duration,
    min_rtt_interval: Duration,
    min_rtt_samples: usize,
    min_rtt_buffer: f64,
    min_rtt: Option<Duration>,
    phase: Phase,
}

#[derive(Debug, Clone)]
enum Phase {
    /// The unloaded latency is being measured: only calls started since (`None`: since ever)
    /// count. Unpinned, the limit stays where it was: demand below it does not queue for the
    /// resource either (the limit tracks the resource), so its calls are unloaded ones and
    /// nobody is refused. A refusal says demand reached the limit: the calls then queue, so
    /// the measurement starts again pinned at `min`.
    Measuring {
        since: Option<Instant>,
        samples: Vec<Duration>,
        pinned: bool,
    },
    /// The limit follows the latency of each window against the unloaded one.
    Adapting {
        window_start: Option<Instant>,
        samples: Vec<Duration>,
        /// The most calls in flight seen in the window: a limit that demand does not reach
        /// does not grow.
        busiest: usize,
        measure_again_at: Option<Instant>,
    },
}

impl Default for GradientLimit {
    fn default() -> Self {
        Self::new()
    }
}

impl GradientLimit {
    /// A limit starting at 20 once the unloaded latency is known, within `[3, 1000]`; windows
    /// of 100 ms; the unloaded latency measured over 50 calls, again every 60 s, with a 25 %
    /// buffer (Envoy's adaptive-concurrency defaults, but the window: Envoy's is 250 ms).
    pub const fn new() -> Self {
        Self {
            limit: 20.0,
            min: 3.0,
            max: 1000.0,
            sample_window: Duration::from_millis(100),
            min_rtt_interval: Duration::from_secs(60),
            min_rtt_samples: 50,
            min_rtt_buffer: 0.25,
            min_rtt: None,
            phase: Phase::Measuring {
                since: None,
                samples: Vec::new(),
                pinned: false,
            },
        }
    }

    /// The lowest the limit goes, and how many calls run while the unloaded latency is
    /// measured (default 3; at least 1). `max` and the limit are raised to it if below.
    pub fn min(mut self, min: usize) -> Self {
        self.min = count(min).max(1.0);
        self.max = self.max.max(self.min);
        self.limit = self.limit.max(self.min);
        self
    }

    /// The highest the limit goes (default 1000); below `min`, it is `min`.
    pub fn max(mut self, max: usize) -> Self {
        self.max = count(max).max(self.min);
        self.limit = self.limit.min(self.max);
        self
    }

    /// The limit once the unloaded latency is known (default 20), within `[min, max]`.
    pub fn initial(mut self, initial: usize) -> Self {
        self.limit = count(initial).clamp(self.min, self.max);
        self
    }

    /// How long the limit collects samples before it moves (default 100 ms; at least 1 ms).
    pub fn sample_window(mut self, window: Duration) -> Self {
        self.sample_window = window.max(Duration::from_millis(1));
        self
    }

    /// How often the unloaded latency is measured again (default 60 s), so a resource that
    /// got slower or faster for good is followed.
    pub const fn min_rtt_interval(mut self, interval: Duration) -> Self {
        self.min_rtt_interval = interval;
        self
    }

    /// How many calls a measurement of the unloaded latency takes (default 50; at least 1).
    pub fn min_rtt_samples(mut self, samples: usize) -> Self {
        self.min_rtt_samples = samples.max(1);
        self
    }

    /// How much slower than unloaded a window may be before the limit shrinks (default 0.25,
    /// that is 25 %; at least 0).
    pub fn min_rtt_buffer(mut self, buffer: f64) -> Self {
        self.min_rtt_buffer = if buffer.is_finite() {
            buffer.max(0.0)
        } else {
            0.0
        };
        self
    }

    /// How many calls may be in flight now: `min` while the unloaded latency is measured
    /// after a refusal.
    #[must_use]
    pub fn limit(&self) -> usize {
        let limit = match self.phase {
            Phase::Measuring { pinned: true, .. } => self.min,
            _ => self.limit,
        };
        // Kept within [min, max], both of which came from a usize.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let limit = limit.floor() as usize;
        limit
    }

    /// The unloaded latency the windows are judged against, once measured.
    #[must_use]
    pub const fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    /// A call that started at `started` completed at `now`, with `in_flight` calls in flight
    /// (itself included).
    pub fn on_sample(&mut self, started: Instant, now: Instant, in_flight: usize) {
        let rtt = now.saturating_duration_since(started);
        match &mut self.phase {
            Phase::Measuring { since, samples, .. } => {
                if since.is_some_and(|since| started < since) {
                    return;
                }
                samples.push(rtt);
                if samples.len() >= self.min_rtt_samples {
                    self.min_rtt = Some(percentile(samples, 50));
                    self.phase = Phase::Adapting {
                        window_start: None,
                        samples: Vec::new(),
                        busiest: 0,
                        measure_again_at: now.checked_add(self.min_rtt_interval),
                    };
                }
            }
            Phase::Adapting {
                window_start,
                samples,
                busiest,
                measure_again_at,
            } => {
                let start = *window_start.get_or_insert(now);
                if samples.len() < WINDOW_CAPACITY {
                    samples.push(rtt);
                }
                *busiest = (*busiest).max(in_flight);
                if now.saturating_duration_since(start) < self.sample_window {
                    return;
                }
                let window = percentile(samples, 90);
                let reached = count(*busiest) * 2.0 >= self.limit;
                samples.clear();
                *busiest = 0;
                *window_start = Some(now);
                if measure_again_at.is_some_and(|at| now >= at) {
                    self.phase = Phase::Measuring {
                        since: Some(now),
                        samples: Vec::new(),
                        pinned: false,
                    };
                    return;
                }
                self.adapt(window, reached);
            }
        }
    }

    /// Whether another sample would be kept: false while the current window already holds
    /// all it keeps (the next sample only serves to see the window end).
    pub(crate) fn wants_samples(&self) -> bool {
        match &self.phase {
            Phase::Measuring { .. } => true,
            Phase::Adapting { samples, .. } => samples.len() < WINDOW_CAPACITY,
        }
    }

    /// A call was refused at `now`: demand reached the limit. A measurement of the unloaded
    /// latency in progress starts again with the limit pinned at `min`, since calls admitted
    /// at the full limit queue.
    pub fn on_refused(&mut self, now: Instant) {
        self.pin_measurement(now);
    }

    /// A call was dropped by its deadline at `now`: congestion, so the limit backs off, and a
    /// measurement in progress starts again pinned at `min` (its calls were queueing).
    pub fn on_dropped(&mut self, now: Instant) {
        self.limit = (self.limit * BACKOFF).clamp(self.min, self.max);
        self.pin_measurement(now);
    }

    fn pin_measurement(&mut self, now: Instant) {
        if let Phase::Measuring {
            since,
            samples,
            pinned: pinned @ false,
        } = &mut self.phase
        {
            *pinned = true;
            *since = Some(now);
            samples.clear();
        }
    }

    /// Moves the limit by the gradient of a window whose 90th percentile was `window`. A limit
    /// that demand did not come near (`reached`: half of it in flight at once) does not grow:
    /// it would grow to `max` under light load and let the next surge queue for the resource.
    fn adapt(&mut self, window: Duration, reached: bool) {
        let Some(min_rtt) = self.min_rtt else {
            return;
        };
        let allowed = min_rtt.as_secs_f64() * (1.0 + self.min_rtt_buffer);
        // A zero-length window (a clock that did not move) would make the gradient infinite.
        let gradient = (allowed / window.as_secs_f64().max(1e-6)).clamp(0.5, 2.0);
        let headroom = self.limit.sqrt();
        let next = self.limit * gradient + headroom;
        if next > self.limit && !reached {
            return;
        }
        self.limit = next.clamp(self.min, self.max);
    }
}

/// The `p`th percentile of `samples` (which it sorts), zero for none.
fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let index = (samples.len() - 1) * p / 100;
    samples[index]
}

/// A count as a float (for the limit's arithmetic and for gauges); counts this large do not
/// occur, so the rounding never matters.
#[allow(clippy::cast_precision_loss)]
pub(crate) const fn count(n: usize) -> f64 {
    n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_keep_min_below_max_and_the_limit_between() {
        let measured = |limit: GradientLimit| {
            let mut limit = limit.min_rtt_samples(1);
            let now = Instant::now();
            limit.on_sample(now, now + Duration::from_millis(1), 1);
            limit.limit()
        };
        assert_eq!(measured(GradientLimit::new().max(5).min(10)), 10);
        assert_eq!(measured(GradientLimit::new().min(0).max(0)), 1);
        assert_eq!(measured(GradientLimit::new().min(3).max(8).initial(100)), 8);
    }

    #[test]
    fn a_drop_while_measuring_unpinned_pins_the_measurement() {
        let mut limit = GradientLimit::new().min(2).min_rtt_samples(3);
        let now = Instant::now();
        // Calls queueing inside a limit of 20 that nobody reached: their latency is not the
        // unloaded one, and the deadline dropping one says so.
        limit.on_sample(now, now + Duration::from_millis(900), 20);
        limit.on_dropped(now + Duration::from_secs(1));
        assert_eq!(limit.limit(), 2);
        let later = now + Duration::from_secs(2);
        for _ in 0..3 {
            limit.on_sample(later, later + Duration::from_millis(10), 2);
        }
        assert_eq!(limit.min_rtt(), Some(Duration::from_millis(10)));
    }

    #[test]
    fn percentiles_pick_from_the_sorted_samples() {
        let mut samples: Vec<Duration> = (1..=10).rev().map(Duration::from_millis).collect();
        assert_eq!(percentile(&mut samples, 90), Duration::from_millis(9));
        assert_eq!(percentile(&mut samples, 50), Duration::from_millis(5));
        assert_eq!(percentile(&mut [], 90), Duration::ZERO);
    }
}
