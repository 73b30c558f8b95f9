//! A build without the `redis` feature refuses a Redis section by name, rather than ignoring
//! it (quotas that silently stop being shared) or calling it an unknown field. CI runs this
//! with `cargo test -p rampart-stack --no-default-features --features toml --test without_redis`.

#![cfg(all(not(feature = "redis"), feature = "toml"))]
#![allow(clippy::unwrap_used)]

use rampart::StackConfig;

#[test]
fn a_redis_section_names_the_missing_feature() {
    for (toml, field) in [
        (
            "[ratelimit.redis]\nurl = \"redis://127.0.0.1/\"\n",
            "ratelimit.redis",
        ),
        (
            "[cache.redis]\nurl = \"redis://127.0.0.1/\"\n",
            "cache.redis",
        ),
    ] {
        let error = StackConfig::from_toml_str(toml).unwrap_err();
        assert_eq!(error.field(), field);
        assert!(error.message().contains("`redis` Cargo feature"), "{error}");
    }
    assert!(StackConfig::from_toml_str("[ratelimit]\nheaders = false\n").is_ok());
}
