use std::time::Duration;

/// A wait in whole seconds, rounded up, as `Retry-After` (RFC 9110 10.2.3), the `RateLimit`
/// fields and `Cache-Status`' `ttl` carry it: a client told a second too early would come back
/// to be refused again. Zero stays zero.
///
/// # Example
///
/// ```
/// use rampart_core::whole_seconds_up;
/// use std::time::Duration;
///
/// assert_eq!(whole_seconds_up(Duration::from_millis(300)), 1);
/// assert_eq!(whole_seconds_up(Duration::from_millis(1000)), 1);
/// assert_eq!(whole_seconds_up(Duration::from_millis(1001)), 2);
/// assert_eq!(whole_seconds_up(Duration::from_nanos(1)), 1);
/// assert_eq!(whole_seconds_up(Duration::ZERO), 0);
/// ```
#[must_use]
pub const fn whole_seconds_up(wait: Duration) -> u64 {
    wait.as_secs() + (wait.subsec_nanos() > 0) as u64
}
