//! `x-request-id`: kept when the client sends a sane one, generated otherwise, echoed back.

use http::{HeaderName, Request};

pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-chosen id we keep; a longer one is replaced rather than logged and echoed.
const MAX_LEN: usize = 128;

/// Drops a client's request id that is too long or holds characters that do not belong in an
/// id (and in a log line), so that a fresh one is generated in its place.
pub(crate) fn drop_unusable_id<B>(mut request: Request<B>) -> Request<B> {
    let usable = request.headers().get(&X_REQUEST_ID).is_none_or(|id| {
        id.len() <= MAX_LEN
            && id
                .as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    if !usable {
        request.headers_mut().remove(&X_REQUEST_ID);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(id: &str) -> bool {
        let request = Request::builder()
            .header(X_REQUEST_ID, id)
            .body(())
            .unwrap_or_default();
        drop_unusable_id(request)
            .headers()
            .contains_key(X_REQUEST_ID)
    }

    #[test]
    fn sane_ids_are_kept_and_others_dropped() {
        assert!(kept("3f2a-41c0_req.1:2"));
        assert!(!kept(&"a".repeat(129)));
        assert!(!kept("has space"));
        assert!(!kept("new\tline"));
    }
}
