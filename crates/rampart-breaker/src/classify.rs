use http::Response;

/// Decides whether a call failed, from its response or its error.
///
/// Implemented by [`DefaultClassifier`] and by every closure
/// `Fn(Result<&Response<B>, &E>) -> bool` (true means failure).
///
/// # Example
///
/// ```
/// use http::{Response, StatusCode};
/// use rampart_breaker::{BreakerConfig, CircuitBreakerLayer};
/// use std::convert::Infallible;
///
/// // 429 from the dependency counts as a failure too.
/// let layer = CircuitBreakerLayer::new(BreakerConfig::default()).classifier(
///     |result: Result<&Response<String>, &Infallible>| match result {
///         Ok(response) => {
///             response.status().is_server_error()
///                 || response.status() == StatusCode::TOO_MANY_REQUESTS
///         }
///         Err(_) => true,
///     },
/// );
/// ```
pub trait Classifier<B, E> {
    /// True when the call failed.
    fn is_failure(&self, result: Result<&Response<B>, &E>) -> bool;
}

/// Failures are 5xx responses and errors of the inner service; 4xx are the client's doing and
/// count as successes. Timeouts are failures too: see the [crate docs](crate#timeouts).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultClassifier;

impl<B, E> Classifier<B, E> for DefaultClassifier {
    fn is_failure(&self, result: Result<&Response<B>, &E>) -> bool {
        result.map_or(true, |response| response.status().is_server_error())
    }
}

impl<F, B, E> Classifier<B, E> for F
where
    F: Fn(Result<&Response<B>, &E>) -> bool,
{
    fn is_failure(&self, result: Result<&Response<B>, &E>) -> bool {
        self(result)
    }
}
