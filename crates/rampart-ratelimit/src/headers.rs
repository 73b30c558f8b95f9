//! The IETF rate-limit header fields, draft-ietf-httpapi-ratelimit-headers-09:
//! `RateLimit-Policy: "per_ip";q=100;w=1` and `RateLimit: "per_ip";r=42;t=1`.

use http::HeaderValue;
use std::fmt::Write;
use std::time::Duration;

use crate::Policy;

pub(crate) const RATELIMIT_POLICY: http::HeaderName =
    http::HeaderName::from_static("ratelimit-policy");
pub(crate) const RATELIMIT: http::HeaderName = http::HeaderName::from_static("ratelimit");

/// Whole seconds, rounded up; never 0 for a positive wait.
pub(crate) fn ceil_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(u64::from(!wait.is_zero()))
}

/// `RateLimit-Policy` for a route's policies: quota `q` per window `w` seconds.
pub(crate) fn policy_header(policies: &[Policy]) -> Option<HeaderValue> {
    let mut value = String::new();
    for policy in policies {
        if !value.is_empty() {
            value.push_str(", ");
        }
        let window = ceil_seconds(policy.quota.period()).max(1);
        let _ = write!(
            value,
            "\"{}\";q={};w={}",
            policy.name,
            policy.quota.limit(),
            window
        );
    }
    HeaderValue::from_str(&value).ok()
}

/// `RateLimit` for one policy: `r` requests left, quota whole again in `t` seconds.
pub(crate) fn ratelimit_header(
    policy: &str,
    remaining: u64,
    reset: Duration,
) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "\"{policy}\";r={remaining};t={}",
        ceil_seconds(reset)
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_and_are_never_zero() {
        assert_eq!(ceil_seconds(Duration::from_millis(300)), 1);
        assert_eq!(ceil_seconds(Duration::from_millis(1000)), 1);
        assert_eq!(ceil_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(ceil_seconds(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_seconds(Duration::ZERO), 0);
    }
}
