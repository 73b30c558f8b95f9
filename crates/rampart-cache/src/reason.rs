use std::fmt;

/// Why the cache answered `504` on its own: the request said `Cache-Control: only-if-cached`
/// (RFC 9111 5.2.1.7) and nothing stored satisfies it. In the answer's response extensions, for
/// the layers above and the application (an access log, a custom body).
///
/// # Example
///
/// ```
/// use rampart_cache::OnlyIfCachedMiss;
///
/// assert_eq!(
///     OnlyIfCachedMiss.to_string(),
///     "only-if-cached was requested and no stored response satisfies it"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OnlyIfCachedMiss;

impl fmt::Display for OnlyIfCachedMiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("only-if-cached was requested and no stored response satisfies it")
    }
}

impl std::error::Error for OnlyIfCachedMiss {}
