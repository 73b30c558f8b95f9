//! The generic cell rate algorithm, as plain arithmetic on nanoseconds.
//!
//! State is one number per key: the theoretical arrival time (TAT) of the next request if the
//! client sent at exactly the allowed rate. A request at `now` is admitted when, after it, the
//! TAT is at most `burst` intervals ahead of `now`. A key whose TAT is in the past is
//! indistinguishable from a key never seen, which is what makes pruning safe.

/// The outcome of one request against one quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Admitted; store `tat`. `remaining` more requests would be admitted right now, and the
    /// quota is whole again after `reset` nanoseconds.
    Allow {
        tat: u64,
        remaining: u64,
        reset: u64,
    },
    /// Refused; the same request is admitted after `retry_after` nanoseconds.
    Deny { retry_after: u64, reset: u64 },
}

/// Decides one request at `now` for a key whose stored TAT is `tat`.
pub(crate) const fn decide(tat: u64, now: u64, interval: u64, burst: u64) -> Decision {
    let start = if tat > now { tat } else { now };
    let next = start.saturating_add(interval);
    let span = interval.saturating_mul(burst);
    let ahead = next - now;
    if ahead <= span {
        Decision::Allow {
            tat: next,
            remaining: (span - ahead) / interval,
            reset: ahead,
        }
    } else {
        Decision::Deny {
            retry_after: ahead - span,
            reset: start - now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn a_fresh_key_gets_its_burst_then_one_per_interval() {
        // 10 per second, burst 3: interval 100 ms.
        let interval = SECOND / 10;
        let mut tat = 0;
        for expected_remaining in [2, 1, 0] {
            match decide(tat, 0, interval, 3) {
                Decision::Allow {
                    tat: next,
                    remaining,
                    ..
                } => {
                    assert_eq!(remaining, expected_remaining);
                    tat = next;
                }
                Decision::Deny { .. } => panic!("burst refused"),
            }
        }
        assert_eq!(
            decide(tat, 0, interval, 3),
            Decision::Deny {
                retry_after: interval,
                reset: 3 * interval
            }
        );
        // One interval later exactly one more is admitted.
        assert!(matches!(
            decide(tat, interval, interval, 3),
            Decision::Allow { remaining: 0, .. }
        ));
        assert!(matches!(
            decide(tat, interval - 1, interval, 3),
            Decision::Deny { retry_after: 1, .. }
        ));
    }

    #[test]
    fn a_quiet_key_is_whole_again() {
        let interval = SECOND;
        let tat = 5 * SECOND;
        match decide(tat, 100 * SECOND, interval, 4) {
            Decision::Allow {
                remaining, reset, ..
            } => {
                assert_eq!(remaining, 3);
                assert_eq!(reset, interval);
            }
            Decision::Deny { .. } => panic!("a quiet key was refused"),
        }
    }
}
