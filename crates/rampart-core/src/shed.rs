//! The contract between a layer that sheds load and the layers that judge the service below.

/// In the extensions of an answer a layer made instead of calling the service below it, to
/// shed load (a concurrency limit's `503 overloaded`): the service was never asked, so the
/// answer says nothing about its health, whatever its status.
///
/// A circuit breaker above such a layer counts the call neither as a failure nor as a
/// success: an overloaded service must not open its own breaker, and refusals must not dilute
/// the failures the breaker is there to see.
///
/// # Example
///
/// ```
/// use http::{Response, StatusCode};
/// use rampart_core::shed::Shed;
///
/// let mut response = Response::new(());
/// *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
/// response.extensions_mut().insert(Shed);
/// assert!(Shed::is_shed(&response));
/// assert!(!Shed::is_shed(&Response::new(())));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shed;

impl Shed {
    /// True when a layer below shed this call.
    pub fn is_shed<B>(response: &http::Response<B>) -> bool {
        response.extensions().get::<Self>().is_some()
    }
}
