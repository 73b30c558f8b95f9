//! A build that leaves a layer or Redis out refuses its section of the configuration by name,
//! rather than ignoring it (quotas that silently stop being kept or shared) or calling it an
//! unknown field. CI runs this file with the features that leave each of them out:
//! `cargo test -p rampart-stack --no-default-features --features toml[,ratelimit,cache] --tests`.

#![cfg(feature = "toml")]
#![allow(clippy::unwrap_used)]

use rampart::StackConfig;

/// `toml` is refused at `field`, with a message naming `feature`.
#[cfg_attr(
    all(
        feature = "redis",
        feature = "ratelimit",
        feature = "cache",
        feature = "breaker"
    ),
    allow(dead_code)
)]
fn refused(toml: &str, field: &str, feature: &str) {
    let error = StackConfig::from_toml_str(toml).unwrap_err();
    assert_eq!(error.field(), field, "{error}");
    assert!(
        error
            .message()
            .ends_with(&format!("turn on the `{feature}` Cargo feature")),
        "{error}"
    );
}

#[cfg(all(not(feature = "redis"), feature = "ratelimit", feature = "cache"))]
#[test]
fn a_redis_section_names_the_missing_feature() {
    refused(
        "[ratelimit.redis]\nurl = \"redis://127.0.0.1/\"\n",
        "ratelimit.redis",
        "redis",
    );
    refused(
        "[cache.redis]\nurl = \"redis://127.0.0.1/\"\n",
        "cache.redis",
        "redis",
    );
    assert!(StackConfig::from_toml_str("[ratelimit]\nheaders = false\n").is_ok());
}

#[cfg(not(feature = "ratelimit"))]
#[test]
fn a_rate_limit_section_names_the_missing_feature() {
    refused("[ratelimit]\nheaders = false\n", "ratelimit", "ratelimit");
    refused(
        "[routes.\"/x\"]\nratelimit = []\n",
        "routes.\"/x\".ratelimit",
        "ratelimit",
    );
}

#[cfg(not(feature = "cache"))]
#[test]
fn a_cache_section_names_the_missing_feature() {
    refused("[cache]\nmax_bytes = 1024\n", "cache", "cache");
    refused(
        "[routes.\"/x\".cache]\ndefault_ttl = \"1s\"\n",
        "routes.\"/x\".cache",
        "cache",
    );
}

#[cfg(not(feature = "breaker"))]
#[test]
fn a_breaker_section_names_the_missing_feature() {
    refused(
        "[route_groups.a]\nroutes = [\"/x\"]\nsettings = { breaker = {} }\n",
        "route_groups.a.settings.breaker",
        "breaker",
    );
}

#[test]
fn a_misspelt_section_is_still_called_unknown() {
    let error = StackConfig::from_toml_str("[cahce]\nmax_bytes = 1\n").unwrap_err();
    assert!(
        error.message().starts_with("unknown field `cahce`"),
        "{error}"
    );
}
