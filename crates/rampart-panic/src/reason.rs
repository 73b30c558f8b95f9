use std::fmt;

/// Why the layer answered `500`: the inner service panicked. In the answer's response
/// extensions, for the layers above and the application; the panic's message stays in the log,
/// never in the answer.
///
/// # Example
///
/// ```
/// use rampart_panic::PanicCaught;
///
/// assert_eq!(PanicCaught.to_string(), "the inner service panicked");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PanicCaught;

impl fmt::Display for PanicCaught {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the inner service panicked")
    }
}

impl std::error::Error for PanicCaught {}
