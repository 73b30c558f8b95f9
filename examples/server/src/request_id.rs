//! `x-request-id`: kept when the client sends a sane one, generated otherwise, echoed back.

use http::{HeaderName, HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};
use uuid::Uuid;

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

/// Makes a random (version 4) UUID for a request that came without a usable id.
///
/// tower-http's `MakeRequestUuid` asks the operating system for fresh random bytes on every
/// request: one `getrandom` system call per request, which under load cost more wall-clock time
/// than any layer of the stack. A request id must be unique, not unpredictable, so the bytes
/// come from `fastrand`'s thread-local generator instead.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MakeRandomUuid;

impl MakeRequestId for MakeRandomUuid {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let uuid = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
        let mut text = Uuid::encode_buffer();
        let text = uuid.hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).ok().map(RequestId::new)
    }
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

    #[test]
    fn generated_ids_are_distinct_version_4_uuids() {
        let request = Request::new(());
        let mut ids = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = MakeRandomUuid.make_request_id(&request).unwrap();
            let text = id.header_value().to_str().unwrap().to_owned();
            let uuid = Uuid::parse_str(&text).unwrap();
            assert_eq!(uuid.get_version_num(), 4, "{text}");
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{text}");
            assert_eq!(
                text,
                uuid.hyphenated().to_string(),
                "lower-case, hyphenated"
            );
            assert!(ids.insert(text));
        }
    }
}
