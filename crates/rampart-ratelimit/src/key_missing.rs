use std::fmt;

/// Why the layer answered `400` (or `401`, per [`OnMissingKey`](crate::OnMissingKey)): the
/// request carries no usable key for a policy (no such header, or the extension an
/// authentication layer should have set). In the answer's response extensions, for the layers
/// above and the application (an access log, a custom body).
///
/// # Example
///
/// ```
/// use rampart_ratelimit::KeyMissing;
///
/// let reason = KeyMissing::new("per_api_key");
/// assert_eq!(reason.policy(), "per_api_key");
/// assert_eq!(
///     reason.to_string(),
///     "the request carries no usable key for rate limit policy `per_api_key`"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMissing {
    policy: Box<str>,
}

impl KeyMissing {
    /// The request had no key for the policy named `policy`.
    pub fn new(policy: impl Into<Box<str>>) -> Self {
        Self {
            policy: policy.into(),
        }
    }

    /// The name of the policy that found no key.
    pub fn policy(&self) -> &str {
        &self.policy
    }
}

impl fmt::Display for KeyMissing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the request carries no usable key for rate limit policy `{}`",
            self.policy
        )
    }
}

impl std::error::Error for KeyMissing {}
