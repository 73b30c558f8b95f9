//! What a connection's watchdog decides once per period, after the first request: keep it, or
//! close it because its next head is too slow or it has been idle too long.
//!
//! A pure function of the connection's counters and the time, so it is tested without sockets.

use std::time::Duration;
use tokio::time::Instant;

use crate::activity::Activity;

/// Why the watchdog closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Keep,
    /// Bytes of a next head came, and the head did not complete within the header-read timeout.
    HeadTooSlow,
    /// Nothing in flight and nothing sent for the idle timeout.
    Idle,
}

/// One connection's watchdog between requests.
#[derive(Debug)]
pub(crate) struct Watchdog {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    started: u64,
    /// Since when nothing has been in flight and no new request started.
    quiet_since: Instant,
    /// When bytes of a next head were first seen (HTTP/1 only).
    head_since: Option<Instant>,
}

impl Watchdog {
    pub(crate) fn new(
        header_read_timeout: Duration,
        idle_timeout: Duration,
        activity: &Activity,
        now: Instant,
    ) -> Self {
        Self {
            header_read_timeout,
            idle_timeout,
            started: activity.started(),
            quiet_since: now,
            head_since: None,
        }
    }

    /// How often [`Watchdog::check`] must run: a head that starts just after a check is closed
    /// one to two header-read timeouts later.
    pub(crate) fn period(&self) -> Duration {
        self.header_read_timeout.min(self.idle_timeout)
    }

    pub(crate) fn check(&mut self, activity: &Activity, now: Instant) -> Verdict {
        let started = activity.started();
        if started != self.started || activity.is_answering() {
            self.started = started;
            self.quiet_since = now;
            self.head_since = None;
            return Verdict::Keep;
        }
        if !activity.is_multiplexed() && activity.next_head_started() {
            let since = *self.head_since.get_or_insert(now);
            if now.saturating_duration_since(since) >= self.header_read_timeout {
                return Verdict::HeadTooSlow;
            }
            return Verdict::Keep;
        }
        if now.saturating_duration_since(self.quiet_since) >= self.idle_timeout {
            return Verdict::Idle;
        }
        Verdict::Keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const HEAD: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(75);

    fn after_one_request() -> (Arc<Activity>, Watchdog, Instant) {
        let activity = Arc::new(Activity::default());
        activity.read(40);
        drop(activity.start());
        let now = Instant::now();
        let watchdog = Watchdog::new(HEAD, IDLE, &activity, now);
        (activity, watchdog, now)
    }

    /// Checks every period from `from` for `periods` periods; the first verdict that closes.
    fn run(
        activity: &Activity,
        watchdog: &mut Watchdog,
        from: Instant,
        periods: u32,
    ) -> (Verdict, u32) {
        for n in 1..=periods {
            let verdict = watchdog.check(activity, from + watchdog.period() * n);
            if verdict != Verdict::Keep {
                return (verdict, n);
            }
        }
        (Verdict::Keep, periods)
    }

    #[test]
    fn an_idle_keep_alive_connection_lasts_the_idle_timeout_not_the_head_timeout() {
        let (activity, mut watchdog, now) = after_one_request();
        assert_eq!(watchdog.period(), HEAD);
        // Closed at the first check at or past 75 s: the eighth, at 80 s.
        assert_eq!(run(&activity, &mut watchdog, now, 20), (Verdict::Idle, 8));
    }

    #[test]
    fn a_next_head_counts_from_its_first_byte() {
        let (activity, mut watchdog, now) = after_one_request();
        assert_eq!(watchdog.check(&activity, now + HEAD), Verdict::Keep);
        activity.read(1);
        assert_eq!(watchdog.check(&activity, now + HEAD * 2), Verdict::Keep);
        activity.read(1);
        assert_eq!(
            watchdog.check(&activity, now + HEAD * 3),
            Verdict::HeadTooSlow
        );
    }

    #[test]
    fn a_head_that_completes_starts_the_quiet_time_again() {
        let (activity, mut watchdog, now) = after_one_request();
        activity.read(10);
        assert_eq!(watchdog.check(&activity, now + HEAD), Verdict::Keep);
        drop(activity.start());
        // Quiet again from the check at 20 s: idle at the first check at or past 95 s.
        assert_eq!(
            run(&activity, &mut watchdog, now + HEAD, 8),
            (Verdict::Keep, 8)
        );
        assert_eq!(watchdog.check(&activity, now + HEAD * 10), Verdict::Idle);
    }

    #[test]
    fn body_bytes_read_while_answering_are_not_a_next_head() {
        let (activity, mut watchdog, now) = after_one_request();
        let answering = activity.start();
        assert_eq!(watchdog.check(&activity, now + HEAD), Verdict::Keep);
        activity.read(5_000);
        drop(answering);
        assert_eq!(
            run(&activity, &mut watchdog, now + HEAD, 6),
            (Verdict::Keep, 6)
        );
        assert_eq!(watchdog.check(&activity, now + HEAD * 9), Verdict::Idle);
    }

    #[test]
    fn an_answer_in_flight_is_never_closed() {
        let (activity, mut watchdog, now) = after_one_request();
        let _answering = activity.start();
        assert_eq!(
            run(&activity, &mut watchdog, now, 100),
            (Verdict::Keep, 100)
        );
    }

    #[test]
    fn http2_frames_between_requests_are_not_a_head() {
        let (activity, mut watchdog, now) = after_one_request();
        activity.multiplexed();
        for n in 1..=7 {
            activity.read(17);
            assert_eq!(watchdog.check(&activity, now + HEAD * n), Verdict::Keep);
        }
        assert_eq!(watchdog.check(&activity, now + HEAD * 8), Verdict::Idle);
    }
}
