//! Byte ranges served from a stored complete response (RFC 9110 14): a client that asks for
//! `Range: bytes=0-99` of a stored `200` gets a `206` with those bytes, without the origin.
//!
//! One range only; several ranges (which would need a `multipart/byteranges` body), other
//! units, an unsatisfiable or unreadable range, or an `If-Range` that does not match the stored
//! response are answered with the whole response, as RFC 9110 14.2 allows a server to do.
//! Ranges are not stored: a `206` from the origin passes through.

use http::HeaderMap;
use http::header::{ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
use std::ops::Range;

/// The bytes of a `len`-byte stored response the request asks for, when the cache can serve
/// them as one range.
pub(crate) fn requested(
    request: &HeaderMap,
    stored: &HeaderMap,
    len: usize,
) -> Option<Range<usize>> {
    let mut values = request.get_all(RANGE).iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() || !if_range_holds(request, stored) {
        return None;
    }
    let (unit, spec) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return None;
    }
    let (first, last) = spec.trim().split_once('-')?;
    let number = |text: &str| -> Option<usize> {
        let text = text.trim();
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
    };
    let range = match (first.trim().is_empty(), last.trim().is_empty()) {
        // `-n`: the last n bytes.
        (true, false) => {
            let suffix = number(last)?;
            (suffix > 0).then(|| len.saturating_sub(suffix)..len)?
        }
        // `a-`: from a to the end.
        (false, true) => number(first)?..len,
        (false, false) => {
            let (first, last) = (number(first)?, number(last)?);
            (first <= last).then(|| first..last.saturating_add(1).min(len))?
        }
        (true, true) => return None,
    };
    (range.start < len && range.start < range.end).then_some(range)
}

/// `If-Range` (RFC 9110 13.1.5): absent, or the stored response's strong entity tag, or its
/// `Last-Modified` date, exactly.
fn if_range_holds(request: &HeaderMap, stored: &HeaderMap) -> bool {
    let Some(condition) = request.get(IF_RANGE) else {
        return true;
    };
    let condition = condition.as_bytes();
    if condition.starts_with(b"\"") {
        stored
            .get(ETAG)
            .is_some_and(|etag| etag.as_bytes() == condition)
    } else {
        stored
            .get(LAST_MODIFIED)
            .is_some_and(|modified| modified.as_bytes() == condition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn asked(range: &str, len: usize) -> Option<Range<usize>> {
        let mut request = HeaderMap::new();
        request.insert(RANGE, HeaderValue::from_str(range).expect("valid"));
        requested(&request, &HeaderMap::new(), len)
    }

    #[test]
    fn the_three_forms_of_one_byte_range() {
        assert_eq!(asked("bytes=0-4", 10), Some(0..5));
        assert_eq!(asked("bytes=5-", 10), Some(5..10));
        assert_eq!(asked("bytes=-3", 10), Some(7..10));
        assert_eq!(asked("bytes=-30", 10), Some(0..10));
        assert_eq!(asked("bytes=8-100", 10), Some(8..10));
        assert_eq!(asked("Bytes = 0-0", 10), Some(0..1));
    }

    #[test]
    fn what_the_cache_answers_with_the_whole_response() {
        for range in [
            "bytes=0-1,3-4",
            "bytes=10-",
            "bytes=5-4",
            "bytes=-0",
            "bytes=-",
            "items=0-1",
            "bytes=a-b",
            "bytes=+1-2",
        ] {
            assert_eq!(asked(range, 10), None, "{range}");
        }
    }

    #[test]
    fn if_range_must_name_the_stored_response() {
        let mut stored = HeaderMap::new();
        stored.insert(ETAG, HeaderValue::from_static("\"v1\""));
        stored.insert(
            LAST_MODIFIED,
            HeaderValue::from_static("Sun, 01 Nov 2026 00:00:00 GMT"),
        );
        let mut request = HeaderMap::new();
        request.insert(RANGE, HeaderValue::from_static("bytes=0-0"));
        for (condition, holds) in [
            ("\"v1\"", true),
            ("\"v2\"", false),
            ("W/\"v1\"", false),
            ("Sun, 01 Nov 2026 00:00:00 GMT", true),
            ("Mon, 02 Nov 2026 00:00:00 GMT", false),
        ] {
            request.insert(IF_RANGE, HeaderValue::from_static(condition));
            assert_eq!(
                requested(&request, &stored, 10).is_some(),
                holds,
                "{condition}"
            );
        }
    }
}
