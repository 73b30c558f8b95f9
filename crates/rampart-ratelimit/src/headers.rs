//! The IETF rate-limit header fields, draft-ietf-httpapi-ratelimit-headers-09:
//! `RateLimit-Policy: "per_ip";q=100;w=1` and `RateLimit: "per_ip";r=42;t=1`.

use http::HeaderValue;
use rampart_core::whole_seconds_up;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use crate::Policy;

pub(crate) const RATELIMIT_POLICY: http::HeaderName =
    http::HeaderName::from_static("ratelimit-policy");
pub(crate) const RATELIMIT: http::HeaderName = http::HeaderName::from_static("ratelimit");

/// `RateLimit-Policy` for a route's policies: quota `q` per window `w` seconds.
pub(crate) fn policy_header(policies: &[Policy]) -> Option<HeaderValue> {
    let mut value = String::new();
    for policy in policies {
        if !value.is_empty() {
            value.push_str(", ");
        }
        let window = whole_seconds_up(policy.quota.period()).max(1);
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

/// Room for a `RateLimit` value on the stack: a policy name of up to ~80 bytes and two numbers.
const HEADER_BUFFER: usize = 128;

/// `RateLimit` for one policy: `r` requests left, quota whole again in `t` seconds.
///
/// Written on every admitted request, so it is assembled in a stack buffer and copied once
/// into the header value; only a policy name too long for the buffer takes the slow way.
pub(crate) fn ratelimit_header(
    policy: &str,
    remaining: u64,
    reset: Duration,
) -> Option<HeaderValue> {
    let reset = whole_seconds_up(reset);
    let (mut remaining_digits, mut reset_digits) = (itoa::Buffer::new(), itoa::Buffer::new());
    let parts: [&[u8]; 6] = [
        b"\"",
        policy.as_bytes(),
        b"\";r=",
        remaining_digits.format(remaining).as_bytes(),
        b";t=",
        reset_digits.format(reset).as_bytes(),
    ];
    let mut buffer = [0_u8; HEADER_BUFFER];
    let mut free: &mut [u8] = &mut buffer;
    if parts.iter().all(|part| free.write_all(part).is_ok()) {
        let written = HEADER_BUFFER - free.len();
        return HeaderValue::from_bytes(&buffer[..written]).ok();
    }
    HeaderValue::from_str(&format!("\"{policy}\";r={remaining};t={reset}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratelimit_header_names_the_policy_and_counts() {
        let value = ratelimit_header("per_ip", 42, Duration::from_millis(1500));
        assert_eq!(
            value.as_ref().and_then(|v| v.to_str().ok()),
            Some("\"per_ip\";r=42;t=2")
        );
        let long = "p".repeat(200);
        let value = ratelimit_header(&long, u64::MAX, Duration::ZERO);
        let expected = format!("\"{long}\";r={};t=0", u64::MAX);
        assert_eq!(
            value.as_ref().and_then(|v| v.to_str().ok()),
            Some(expected.as_str())
        );
    }
}
