//! The payloads of `/api/items/{id}` and `/api/report`, and their validators.

use bytes::Bytes;
use serde_json::json;

/// About 64 KiB of compressible JSON, built once at start-up.
pub(crate) fn report() -> Bytes {
    let items: Vec<_> = (0..560u32)
        .map(|i| {
            json!({
                "id": i,
                "sku": format!("SKU-{:06}", i * 7919 % 1_000_000),
                "name": format!("Item number {i}"),
                "price_cents": (i * 37) % 10_000,
                "in_stock": i % 3 == 0,
                "tags": [format!("tag-{}", i % 11), format!("tag-{}", i % 17)],
            })
        })
        .collect();
    let document = json!({ "title": "inventory report", "items": items });
    Bytes::from(document.to_string())
}

/// One item, as JSON.
pub(crate) fn item(id: u64) -> Bytes {
    let document = json!({
        "id": id,
        "name": format!("Item {id}"),
        "price_cents": id.wrapping_mul(37) % 10_000 + 100,
        "in_stock": !id.is_multiple_of(3),
    });
    Bytes::from(document.to_string())
}

/// A strong entity tag derived from the bytes (FNV-1a, 64 bits).
pub(crate) fn etag(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

/// Whether `If-None-Match` (weak comparison, RFC 9110 §13.1.2) matches `etag`.
pub(crate) fn if_none_match(header: &str, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag);
    header
        .split(',')
        .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_about_64_kib() {
        let size = report().len();
        assert!((60_000..70_000).contains(&size), "{size} bytes");
    }

    #[test]
    fn etags_change_with_the_content() {
        assert_ne!(etag(&item(1)), etag(&item(2)));
        assert_eq!(etag(&item(1)), etag(&item(1)));
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let tag = "\"abc\"";
        assert!(if_none_match("\"abc\"", tag));
        assert!(if_none_match("W/\"abc\"", tag));
        assert!(if_none_match("\"x\", W/\"abc\"", tag));
        assert!(if_none_match("*", tag));
        assert!(!if_none_match("\"abd\"", tag));
    }
}
