//! A client's conditional request against a stored response (RFC 9110 13.1.2, 13.1.3).

use http::header::{DATE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use http::{HeaderMap, StatusCode};

/// Whether a `GET`/`HEAD` with `request` headers should get `304 Not Modified` for a stored
/// `status` response with `stored` headers. `If-None-Match` decides when present (weak
/// comparison); otherwise `If-Modified-Since` against `Last-Modified`, or, without one, the
/// stored `Date` (RFC 9111 4.3.2: the response was as it is then).
pub(crate) fn not_modified(request: &HeaderMap, status: StatusCode, stored: &HeaderMap) -> bool {
    if status != StatusCode::OK {
        return false;
    }
    if request.contains_key(IF_NONE_MATCH) {
        let Some(etag) = stored.get(ETAG).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let etag = opaque(etag);
        return request
            .get_all(IF_NONE_MATCH)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|list| list.split(','))
            .map(str::trim)
            .any(|candidate| candidate == "*" || opaque(candidate) == etag);
    }
    // Most requests are unconditional: no date is parsed for them.
    let Some(since) = request
        .get(IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    else {
        return false;
    };
    stored
        .get(LAST_MODIFIED)
        .or_else(|| stored.get(DATE))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .is_some_and(|modified| modified <= since)
}

/// The entity tag without its weakness marker: weak comparison.
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(http::HeaderName, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), HeaderValue::from_static(value)))
            .collect()
    }

    #[test]
    fn etags_compare_weakly() {
        let stored = headers(&[(ETAG, "W/\"v1\"")]);
        let ok = StatusCode::OK;
        assert!(not_modified(
            &headers(&[(IF_NONE_MATCH, "\"v0\", \"v1\"")]),
            ok,
            &stored
        ));
        assert!(not_modified(&headers(&[(IF_NONE_MATCH, "*")]), ok, &stored));
        assert!(!not_modified(
            &headers(&[(IF_NONE_MATCH, "\"v2\"")]),
            ok,
            &stored
        ));
        assert!(!not_modified(&HeaderMap::new(), ok, &stored));
    }

    #[test]
    fn if_none_match_wins_over_dates() {
        let stored = headers(&[
            (ETAG, "\"v1\""),
            (LAST_MODIFIED, "Sun, 01 Nov 2026 00:00:00 GMT"),
        ]);
        let request = headers(&[
            (IF_NONE_MATCH, "\"v2\""),
            (IF_MODIFIED_SINCE, "Mon, 02 Nov 2026 00:00:00 GMT"),
        ]);
        assert!(!not_modified(&request, StatusCode::OK, &stored));
    }

    #[test]
    fn without_last_modified_the_date_stands_in() {
        let stored = headers(&[(DATE, "Sun, 01 Nov 2026 00:00:00 GMT")]);
        let since = headers(&[(IF_MODIFIED_SINCE, "Mon, 02 Nov 2026 00:00:00 GMT")]);
        assert!(not_modified(&since, StatusCode::OK, &stored));
        let before = headers(&[(IF_MODIFIED_SINCE, "Sat, 31 Oct 2026 00:00:00 GMT")]);
        assert!(!not_modified(&before, StatusCode::OK, &stored));
        assert!(!not_modified(&since, StatusCode::OK, &HeaderMap::new()));
    }

    #[test]
    fn dates_compare_by_second() {
        let stored = headers(&[(LAST_MODIFIED, "Sun, 01 Nov 2026 00:00:00 GMT")]);
        let later = headers(&[(IF_MODIFIED_SINCE, "Sun, 01 Nov 2026 00:00:00 GMT")]);
        let earlier = headers(&[(IF_MODIFIED_SINCE, "Sat, 31 Oct 2026 00:00:00 GMT")]);
        assert!(not_modified(&later, StatusCode::OK, &stored));
        assert!(!not_modified(&earlier, StatusCode::OK, &stored));
    }
}
