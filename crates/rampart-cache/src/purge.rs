use serde::{Deserialize, Serialize};

/// What to remove from the cache.
///
/// In JSON (the admin endpoint, the Redis invalidation channel): `{"key": "/api/items/7"}`,
/// `{"prefix": "/api/items/"}`, `{"tag": "items"}`, `"all"`.
///
/// # Example
///
/// ```
/// use rampart_cache::Purge;
///
/// let purge: Purge = serde_json::from_str(r#"{"prefix": "/api/items/"}"#).unwrap();
/// assert_eq!(purge, Purge::Prefix("/api/items/".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purge {
    /// Every variant, on every host, of one path and query (`/api/items?id=7`); query
    /// parameters match in any order.
    Key(String),
    /// Everything whose path starts with this prefix.
    Prefix(String),
    /// Everything the origin tagged with this tag (in the tag header, `Cache-Tag` by default).
    Tag(String),
    /// Everything.
    All,
}
