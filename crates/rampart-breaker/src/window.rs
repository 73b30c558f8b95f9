//! Sliding windows of call outcomes that really slide.

use std::time::Duration;

use crate::Window;

/// What a window holds: calls, and how many of them failed or were slow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) calls: u32,
    pub(crate) failures: u32,
    pub(crate) slow: u32,
}

impl Tally {
    pub(crate) fn add(&mut self, failed: bool, slow: bool) {
        self.calls += 1;
        self.failures += u32::from(failed);
        self.slow += u32::from(slow);
    }

    fn remove(&mut self, other: Self) {
        self.calls -= other.calls;
        self.failures -= other.failures;
        self.slow -= other.slow;
    }

    /// Failure percentage, 0 for an empty tally.
    pub(crate) fn failure_rate(self) -> f64 {
        percent(self.failures, self.calls)
    }

    /// Slow-call percentage, 0 for an empty tally.
    pub(crate) fn slow_rate(self) -> f64 {
        percent(self.slow, self.calls)
    }

    /// Whether `part` of the calls reach `threshold` percent: `part / calls >= threshold / 100`
    /// without a division on the hot path.
    pub(crate) fn reaches(self, part: u32, threshold: f64) -> bool {
        f64::from(part) * 100.0 >= threshold * f64::from(self.calls)
    }
}

fn percent(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        0.0
    } else {
        f64::from(part) * 100.0 / f64::from(whole)
    }
}

/// Outcome bits of one call in a count window.
const FAILED: u8 = 1;
const SLOW: u8 = 2;

#[derive(Debug)]
pub(crate) enum SlidingWindow {
    /// The last `ring.len()` calls; `next` is where the next outcome goes.
    Count {
        ring: Box<[u8]>,
        next: usize,
        tally: Tally,
    },
    /// Per-second buckets; `latest` is the last second the window was moved to.
    Time {
        buckets: Box<[(u64, Tally)]>,
        latest: Option<u64>,
        tally: Tally,
    },
}

impl SlidingWindow {
    pub(crate) fn new(window: Window) -> Self {
        match window {
            Window::Count(size) => Self::Count {
                ring: vec![0; size as usize].into_boxed_slice(),
                next: 0,
                tally: Tally::default(),
            },
            Window::Time(span) => Self::Time {
                buckets: vec![(0, Tally::default()); seconds(span)].into_boxed_slice(),
                latest: None,
                tally: Tally::default(),
            },
        }
    }

    /// Records one outcome at `second` (seconds since the breaker was made).
    pub(crate) fn record(&mut self, second: u64, failed: bool, slow: bool) {
        match self {
            Self::Count { ring, next, tally } => {
                let full = tally.calls as usize == ring.len();
                let slot = &mut ring[*next];
                // Slots start at 0 but count only once a call has filled them.
                if full {
                    tally.remove(Tally {
                        calls: 1,
                        failures: u32::from(*slot & FAILED != 0),
                        slow: u32::from(*slot & SLOW != 0),
                    });
                }
                *slot = if failed { FAILED } else { 0 } | if slow { SLOW } else { 0 };
                tally.add(failed, slow);
                // A compare instead of `%`: a division per call is measurable here.
                *next += 1;
                if *next == ring.len() {
                    *next = 0;
                }
            }
            Self::Time { .. } => {
                self.advance(second);
                if let Self::Time {
                    buckets,
                    latest: Some(latest),
                    tally,
                } = self
                {
                    let len = buckets.len() as u64;
                    // A call measured before the window moved on, by a thread that took the
                    // lock late: count it only while its second is still in the window.
                    if second + len > *latest {
                        buckets[(second % len) as usize].1.add(failed, slow);
                        tally.add(failed, slow);
                    }
                }
            }
        }
    }

    /// What the window holds at `second`.
    pub(crate) fn tally(&mut self, second: u64) -> Tally {
        self.advance(second);
        match self {
            Self::Count { tally, .. } | Self::Time { tally, .. } => *tally,
        }
    }

    /// Ages out the buckets of seconds that have left a time window.
    fn advance(&mut self, second: u64) {
        let Self::Time {
            buckets,
            latest,
            tally,
        } = self
        else {
            return;
        };
        let len = buckets.len() as u64;
        // Buckets are reused only for seconds after `latest`, and at most one full turn.
        let first = match *latest {
            Some(latest) if second <= latest => return,
            Some(latest) => latest + 1,
            None => 0,
        }
        .max(second.saturating_sub(len - 1));
        for s in first..=second {
            let bucket = &mut buckets[(s % len) as usize];
            tally.remove(bucket.1);
            *bucket = (s, Tally::default());
        }
        *latest = Some(second);
    }

    pub(crate) fn clear(&mut self) {
        match self {
            Self::Count { ring, next, tally } => {
                ring.fill(0);
                *next = 0;
                *tally = Tally::default();
            }
            Self::Time {
                buckets,
                latest,
                tally,
            } => {
                buckets.fill((0, Tally::default()));
                *latest = None;
                *tally = Tally::default();
            }
        }
    }
}

fn seconds(span: Duration) -> usize {
    usize::try_from(span.as_secs().max(1)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_window_forgets_the_oldest_call() {
        let mut window = SlidingWindow::new(Window::Count(3));
        window.record(0, true, false);
        window.record(0, true, true);
        window.record(0, false, false);
        assert_eq!(
            window.tally(0),
            Tally {
                calls: 3,
                failures: 2,
                slow: 1
            }
        );
        window.record(0, false, false);
        assert_eq!(
            window.tally(0),
            Tally {
                calls: 3,
                failures: 1,
                slow: 1
            }
        );
        window.record(0, false, false);
        window.record(0, false, false);
        assert_eq!(window.tally(0).failures, 0);
    }

    #[test]
    fn a_time_window_ages_out_whole_seconds() {
        let mut window = SlidingWindow::new(Window::Time(Duration::from_secs(3)));
        window.record(1, true, false);
        window.record(2, false, false);
        window.record(3, true, false);
        assert_eq!(window.tally(3).calls, 3);
        // At second 4 the window is seconds 2..=4: the call at 1 has left.
        assert_eq!(window.tally(4).calls, 2);
        assert_eq!(window.tally(4).failures, 1);
        // Long silence: everything leaves.
        assert_eq!(window.tally(100).calls, 0);
        window.record(100, true, true);
        assert_eq!(window.tally(100).calls, 1);
    }
}
