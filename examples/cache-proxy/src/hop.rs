//! Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection, so a proxy never
//! forwards them, nor any field the `Connection` header names.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Fields that belong to one connection whatever `Connection` says.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
];

/// `Via` as this proxy adds it (RFC 9110 §7.6.3).
pub(crate) const VIA: HeaderValue = HeaderValue::from_static("1.1 rampart");

/// Drops the hop-by-hop fields of `headers` and adds this proxy to `Via`.
pub(crate) fn strip(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.append(header::VIA, VIA);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_fields_and_the_fields_it_names_go() {
        let mut headers = HeaderMap::new();
        headers.insert("connection", HeaderValue::from_static("close, X-Secret"));
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("te", HeaderValue::from_static("trailers"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        headers.insert("via", HeaderValue::from_static("1.0 edge"));
        strip(&mut headers);
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["x-kept", "via"]);
        let via: Vec<&HeaderValue> = headers.get_all("via").iter().collect();
        assert_eq!(via, [&HeaderValue::from_static("1.0 edge"), &VIA]);
    }
}
