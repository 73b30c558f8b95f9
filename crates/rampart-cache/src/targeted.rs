//! Targeted cache-control fields (RFC 9213): `Rampart-Cache-Control` (ours) and
//! `CDN-Cache-Control`, read as the Structured Field Dictionaries they are.
//!
//! A targeted field that does not parse, or whose directive has the wrong type
//! (`max-age="60"`), is ignored as a whole (RFC 9213 §2.1), and the next one, or
//! `Cache-Control`, applies. A valid one is turned into the `Cache-Control` syntax the policy
//! reads: `no-store=?0` (false) drops the directive, parameters are dropped. The parser is
//! `sfparse` (no allocation, no dependencies), by nghttp2's author.

use http::{HeaderMap, HeaderName, HeaderValue};
use sfparse::{Parser, Value};

/// rampart's own targeted cache-control field (RFC 9213 3): for this cache alone.
pub const RAMPART_CACHE_CONTROL: HeaderName = HeaderName::from_static("rampart-cache-control");

/// The targeted field every CDN-class cache obeys (RFC 9213 3.1).
pub const CDN_CACHE_CONTROL: HeaderName = HeaderName::from_static("cdn-cache-control");

/// Directives whose value is a number of seconds.
const SECONDS: [&str; 4] = [
    "max-age",
    "s-maxage",
    "stale-while-revalidate",
    "stale-if-error",
];

/// The first valid targeted field, most specific first (RFC 9213 2.2), as `Cache-Control`.
pub(crate) fn cache_control(headers: &HeaderMap) -> Option<HeaderValue> {
    [RAMPART_CACHE_CONTROL, CDN_CACHE_CONTROL]
        .iter()
        .filter_map(|name| headers.get(name))
        .find_map(|value| as_cache_control(value.as_bytes()))
}

/// `field` as `Cache-Control`, or `None` when it is empty or not a valid targeted field.
fn as_cache_control(field: &[u8]) -> Option<HeaderValue> {
    let mut parser = Parser::new(field);
    let mut out = Vec::with_capacity(field.len());
    let mut members = 0;
    while let Some((key, value)) = parser.parse_dict().ok()? {
        members += 1;
        let start = out.len();
        if start > 0 {
            out.extend_from_slice(b", ");
        }
        match value {
            Value::Integer(n) if n >= 0 => {
                out.extend_from_slice(format!("{key}={n}").as_bytes());
            }
            _ if SECONDS.contains(&key) => return None,
            Value::Bool(true) => out.extend_from_slice(key.as_bytes()),
            Value::Token(range) => {
                out.extend_from_slice(key.as_bytes());
                out.push(b'=');
                out.extend_from_slice(field.get(range)?);
            }
            Value::String { range, .. } => {
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(b"=\"");
                out.extend_from_slice(field.get(range)?);
                out.push(b'"');
            }
            // `?0` turns a directive off; other types mean nothing to a cache.
            _ => out.truncate(start),
        }
    }
    if members == 0 {
        return None;
    }
    HeaderValue::from_bytes(&out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(field: &str) -> Option<String> {
        as_cache_control(field.as_bytes()).map(|value| value.to_str().unwrap_or("").to_owned())
    }

    #[test]
    fn valid_dictionaries_read_as_cache_control() {
        assert_eq!(read("max-age=60").as_deref(), Some("max-age=60"));
        assert_eq!(
            read("max-age=60, no-store=?0, must-revalidate;x=1").as_deref(),
            Some("max-age=60, must-revalidate")
        );
        assert_eq!(
            read(r#"no-cache="set-cookie", private"#).as_deref(),
            Some(r#"no-cache="set-cookie", private"#)
        );
        assert_eq!(read("no-store=?0").as_deref(), Some(""));
    }

    #[test]
    fn invalid_or_mistyped_fields_are_ignored_whole() {
        for field in [
            "",
            "max-age=10000, &&&&&",
            r#"max-age="10000""#,
            "max-age=-1",
            "max-age=1.5",
            "Max-Age=60",
            "max-age=60,",
        ] {
            assert_eq!(read(field), None, "{field}");
        }
    }

    #[test]
    fn the_most_specific_valid_field_wins() {
        let mut headers = HeaderMap::new();
        headers.insert(
            RAMPART_CACHE_CONTROL,
            HeaderValue::from_static("max-age=\"1\""),
        );
        headers.insert(CDN_CACHE_CONTROL, HeaderValue::from_static("max-age=2"));
        assert_eq!(
            cache_control(&headers),
            Some(HeaderValue::from_static("max-age=2"))
        );
        headers.insert(RAMPART_CACHE_CONTROL, HeaderValue::from_static("max-age=1"));
        assert_eq!(
            cache_control(&headers),
            Some(HeaderValue::from_static("max-age=1"))
        );
    }
}
