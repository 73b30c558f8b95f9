//! How a slot travels through Redis: `V` and a variant list's header names; or `R`, the
//! response's metadata (status, text headers, cache policy, tags) as length-prefixed JSON, then
//! the body raw.

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use http_cache_semantics::CachePolicy;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::SystemTime;

use crate::entry::Stored;
use crate::store::Slot;

/// A stored response's metadata as it travels through Redis; the body follows it raw.
#[derive(Serialize, Deserialize)]
struct Meta {
    status: u16,
    headers: Vec<(String, String)>,
    policy: CachePolicy,
    tags: Vec<String>,
}

const VARIANTS: u8 = b'V';
const RESPONSE: u8 = b'R';

/// `V` and the header names; or `R`, the metadata's length (u32, big-endian), the metadata
/// (JSON), and the body. `None` for headers that are not text (kept in the local tier only).
pub(super) fn encode(slot: &Slot) -> Option<Vec<u8>> {
    match slot {
        Slot::Variants(names) => {
            let joined: Vec<&str> = names.iter().map(HeaderName::as_str).collect();
            let mut out = vec![VARIANTS];
            out.extend_from_slice(joined.join(",").as_bytes());
            Some(out)
        }
        Slot::Response(stored) => {
            let headers = stored
                .headers
                .iter()
                .map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect::<Option<Vec<_>>>()?;
            let meta = Meta {
                status: stored.status.as_u16(),
                headers,
                policy: stored.policy.clone(),
                tags: stored.tags.iter().map(|tag| tag.to_string()).collect(),
            };
            let meta = serde_json::to_vec(&meta).ok()?;
            let mut out = BytesMut::with_capacity(5 + meta.len() + stored.body.len());
            out.put_u8(RESPONSE);
            out.put_u32(u32::try_from(meta.len()).ok()?);
            out.extend_from_slice(&meta);
            out.extend_from_slice(&stored.body);
            Some(out.to_vec())
        }
    }
}

pub(super) fn decode(bytes: &[u8], now: SystemTime) -> Option<Slot> {
    let (&kind, rest) = bytes.split_first()?;
    match kind {
        VARIANTS => {
            let text = std::str::from_utf8(rest).ok()?;
            let names = text
                .split(',')
                .filter(|name| !name.is_empty())
                .map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
                .collect::<Option<Vec<_>>>()?;
            Some(Slot::Variants(names.into()))
        }
        RESPONSE => {
            let length =
                usize::try_from(u32::from_be_bytes(rest.get(..4)?.try_into().ok()?)).ok()?;
            let meta: Meta = serde_json::from_slice(rest.get(4..4 + length)?).ok()?;
            let body = Bytes::copy_from_slice(rest.get(4 + length..)?);
            let mut headers = HeaderMap::with_capacity(meta.headers.len());
            for (name, value) in meta.headers {
                headers.append(
                    HeaderName::from_bytes(name.as_bytes()).ok()?,
                    HeaderValue::from_str(&value).ok()?,
                );
            }
            let status = StatusCode::from_u16(meta.status).ok()?;
            let tags = meta.tags.into_iter().map(Box::from).collect();
            let stored = Stored::from_parts(status, headers, body, meta.policy, tags, now);
            Some(Slot::Response(Arc::new(stored)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_survive_the_round_trip() {
        let now = SystemTime::now();
        let request = http::Request::get("/r")
            .body(())
            .expect("valid")
            .into_parts()
            .0;
        let response = http::Response::builder()
            .header("cache-control", "max-age=60")
            .header("cache-tag", "a b")
            .header("content-type", "application/json")
            .body(())
            .expect("valid")
            .into_parts()
            .0;
        let admitted = crate::entry::admit(&request, &response, &crate::CacheRule::new(), now)
            .expect("storable");
        let tag = HeaderName::from_static("cache-tag");
        let body = Bytes::from_static(b"{}");
        let stored = Stored::new(admitted, response.status, body, &tag, now);
        let bytes = encode(&Slot::Response(Arc::new(stored))).expect("encodable");
        let Some(Slot::Response(back)) = decode(&bytes, now) else {
            panic!("decodes to a response");
        };
        assert_eq!(back.body, "{}");
        assert_eq!(back.headers["content-type"], "application/json");
        assert_eq!(&*back.tags, &[Box::from("a"), Box::from("b")]);
        assert!(back.is_fresh(now));
    }

    #[test]
    fn variant_lists_survive_the_round_trip() {
        let slot = Slot::Variants(Arc::from([http::header::ACCEPT_ENCODING]));
        let bytes = encode(&slot).expect("encodable");
        let Some(Slot::Variants(names)) = decode(&bytes, SystemTime::now()) else {
            panic!("decodes to a variant list");
        };
        assert_eq!(&*names, &[http::header::ACCEPT_ENCODING]);
        assert!(decode(b"Rxx", SystemTime::now()).is_none());
    }
}
