//! The response directives http-cache-semantics does not read: the stale windows of RFC 5861
//! and whether any stale serving is forbidden.

use http::HeaderMap;
use http::header::CACHE_CONTROL;
use std::time::Duration;

/// How long past its freshness a stored response may still be served, and when.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StaleWindows {
    /// Served at once while one background request refreshes it.
    pub(crate) while_revalidate: Duration,
    /// Served when the origin fails (5xx, error, deadline, open circuit).
    pub(crate) if_error: Duration,
    /// `must-revalidate`, `proxy-revalidate` or `no-cache`: never served stale, not even to a
    /// client that asks for `max-stale`.
    pub(crate) forbidden: bool,
}

impl StaleWindows {
    /// Reads `stale-while-revalidate=N` and `stale-if-error=N`. `must-revalidate`,
    /// `proxy-revalidate` and `no-cache` forbid serving stale at all (RFC 9111 5.2.2), so they
    /// close both windows.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let mut windows = Self::default();
        for (name, argument) in cache_control(headers) {
            match name.as_str() {
                "stale-while-revalidate" => windows.while_revalidate = seconds(argument),
                "stale-if-error" => windows.if_error = seconds(argument),
                "must-revalidate" | "proxy-revalidate" | "no-cache" => {
                    return Self {
                        forbidden: true,
                        ..Self::default()
                    };
                }
                _ => {}
            }
        }
        windows
    }

    /// The longer of the two windows: how long an entry stays useful past its freshness.
    pub(crate) fn longest(&self) -> Duration {
        self.while_revalidate.max(self.if_error)
    }
}

/// What a request's `Cache-Control` (or `Pragma: no-cache`) asks of the cache (RFC 9111 5.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RequestDirectives {
    pub(crate) no_cache: bool,
    pub(crate) no_store: bool,
    pub(crate) only_if_cached: bool,
    pub(crate) max_age: Option<Duration>,
    pub(crate) min_fresh: Option<Duration>,
    /// `Some(None)`: any staleness; `Some(Some(d))`: at most `d` stale.
    pub(crate) max_stale: Option<Option<Duration>>,
}

impl RequestDirectives {
    /// Reads the request's directives; nothing to read (the common case) costs two lookups.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let mut directives = Self::default();
        for (name, argument) in cache_control(headers) {
            match name.as_str() {
                "no-cache" => directives.no_cache = true,
                "no-store" => directives.no_store = true,
                "only-if-cached" => directives.only_if_cached = true,
                "max-age" => directives.max_age = Some(seconds(argument)),
                "min-fresh" => directives.min_fresh = Some(seconds(argument)),
                "max-stale" => directives.max_stale = Some(argument.map(|_| seconds(argument))),
                _ => {}
            }
        }
        if !headers.contains_key(CACHE_CONTROL) {
            directives.no_cache = headers
                .get_all(http::header::PRAGMA)
                .iter()
                .any(|value| value.as_bytes().eq_ignore_ascii_case(b"no-cache"));
        }
        directives
    }
}

/// Every `Cache-Control` directive: its lower-cased name and its argument, unquoted.
fn cache_control(headers: &HeaderMap) -> impl Iterator<Item = (String, Option<&str>)> {
    headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(split)
        .map(|directive| match directive.split_once('=') {
            Some((name, argument)) => (
                name.trim().to_ascii_lowercase(),
                Some(argument.trim().trim_matches('"')),
            ),
            None => (directive.trim().to_ascii_lowercase(), None),
        })
}

/// The directives of one `Cache-Control` value: split at commas outside quoted strings
/// (`no-cache="a, b", max-age=60` is two directives), empty ones skipped.
pub(crate) fn split(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        let mut quoted = false;
        let mut escaped = false;
        let end = text.char_indices().find_map(|(at, c)| {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ',' if !quoted => return Some(at),
                _ => {}
            }
            None
        });
        let (directive, next) = match end {
            Some(at) => (&text[..at], Some(&text[at + 1..])),
            None => (text, None),
        };
        rest = next;
        Some(directive.trim())
    })
    .filter(|directive| !directive.is_empty())
}

/// A directive's number of seconds; an unreadable or missing one is the strictest reading, 0.
fn seconds(argument: Option<&str>) -> Duration {
    Duration::from_secs(argument.and_then(|a| a.parse().ok()).unwrap_or(0))
}

/// Whether the response says anything about its freshness itself.
pub(crate) fn has_freshness(headers: &HeaderMap) -> bool {
    headers.contains_key(CACHE_CONTROL) || headers.contains_key(http::header::EXPIRES)
}

/// Whether `Cache-Control` names `directive` (`public`, `s-maxage`, ...).
pub(crate) fn has_directive(headers: &HeaderMap, directive: &str) -> bool {
    cache_control(headers).any(|(name, _)| name == directive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(cache_control: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache_control));
        headers
    }

    #[test]
    fn windows_are_read_in_seconds() {
        let windows = StaleWindows::of(&headers(
            "max-age=60, stale-while-revalidate=30, stale-if-error=\"300\"",
        ));
        assert_eq!(windows.while_revalidate, Duration::from_secs(30));
        assert_eq!(windows.if_error, Duration::from_secs(300));
        assert_eq!(windows.longest(), Duration::from_secs(300));
    }

    #[test]
    fn must_revalidate_closes_every_window() {
        let windows = StaleWindows::of(&headers("max-age=60, stale-if-error=300, must-revalidate"));
        assert_eq!(windows.longest(), Duration::ZERO);
        assert!(windows.forbidden);
    }

    #[test]
    fn request_directives() {
        let directives = RequestDirectives::of(&headers("max-age=5, max-stale, min-fresh=x"));
        assert_eq!(directives.max_age, Some(Duration::from_secs(5)));
        assert_eq!(directives.max_stale, Some(None));
        assert_eq!(directives.min_fresh, Some(Duration::ZERO));
        let mut pragma = HeaderMap::new();
        pragma.insert(http::header::PRAGMA, HeaderValue::from_static("no-cache"));
        assert!(RequestDirectives::of(&pragma).no_cache);
        assert!(!RequestDirectives::of(&HeaderMap::new()).no_cache);
    }

    #[test]
    fn commas_inside_quoted_arguments_do_not_split() {
        let directives: Vec<&str> =
            split(r#"no-cache="a, b", max-age=60,, private="c\",d""#).collect();
        assert_eq!(
            directives,
            [r#"no-cache="a, b""#, "max-age=60", r#"private="c\",d""#]
        );
    }

    #[test]
    fn directives_are_found_by_name() {
        let cc = headers("max-age=1, S-MAXAGE=5");
        assert!(has_directive(&cc, "s-maxage"));
        assert!(!has_directive(&cc, "public"));
    }
}
