//! `StackConfig`: defaults, TOML parsing, and errors that name the field at fault.

#![allow(clippy::unwrap_used)]

use rampart::breaker::{BreakerConfig, Window};
use rampart::compression::CompressionLevel;
use rampart::{Stack, StackConfig};
use std::time::Duration;

fn error_for(toml: &str) -> (String, String) {
    let error = StackConfig::from_toml_str(toml).unwrap_err();
    (error.field().to_owned(), error.to_string())
}

#[test]
fn an_empty_document_is_the_default() {
    let config = StackConfig::from_toml_str("").unwrap();
    assert_eq!(config, StackConfig::default());
    assert_eq!(config.timeout.default, Duration::from_secs(1));
    assert_eq!(config.compression.min_size, 1024);
    assert!(Stack::from_config(&config).is_ok());
}

#[test]
fn the_default_survives_a_round_trip_through_toml() {
    let mut config = StackConfig::default();
    config.compression.level = CompressionLevel::Precise(5);
    let mut cache = rampart::RouteCacheConfig::default();
    cache.default_ttl = Some(Duration::from_secs(30));
    cache.key_headers = vec!["x-tenant".to_owned()];
    cache.ignore_query_params = vec!["utm_source".to_owned()];
    cache.sort_query = false;
    let mut concurrency = rampart::concurrency::RouteConcurrencyConfig::default();
    concurrency.group = Some("database".to_owned());
    concurrency.critical = true;
    let mut slow = rampart::RouteConfig::default();
    slow.timeout = Some(Duration::from_millis(1500));
    slow.body_limit = Some(100 * 1024 * 1024);
    slow.breaker = Some(
        BreakerConfig::default()
            .window(Window::Time(Duration::from_secs(10)))
            .minimum_calls(3),
    );
    slow.ratelimit = Some(vec![]);
    slow.cache = Some(cache);
    slow.concurrency = Some(concurrency);
    config.routes.insert("/api/slow".to_owned(), slow);
    config.concurrency.retry_after = Duration::from_secs(3);
    let mut database = rampart::concurrency::LimitConfig::default();
    database.max = Some(64);
    config
        .concurrency
        .groups
        .insert("database".to_owned(), database);
    config.cache.max_bytes = 1024 * 1024;
    config.body_limit.default = 64 * 1024;
    config.ratelimit.client_ip = rampart::ratelimit::ClientIp::default()
        .trust("10.0.0.0/8".parse().unwrap())
        .header(rampart::ratelimit::ClientIpHeader::CfConnectingIp);
    let mut per_key = rampart::PolicyConfig::new(
        "per_key",
        10,
        Duration::from_secs(60),
        rampart::KeyConfig::Header("x-api-key".to_owned()),
    );
    per_key.burst = Some(3);
    per_key.on_missing_key = Some(rampart::MissingKeyConfig::Unauthorized);
    config.ratelimit.policies.push(per_key);
    let text = toml::to_string(&config).unwrap();
    assert_eq!(StackConfig::from_toml_str(&text).unwrap(), config);
}

#[test]
fn unknown_fields_are_rejected_by_name() {
    let (field, message) = error_for("[timeout]\ndefualt = \"1s\"\n");
    assert_eq!(field, "timeout.defualt");
    assert!(message.contains("unknown field `defualt`"), "{message}");

    let (_, message) = error_for("[ratelimt]\nenabled = true\n");
    assert!(message.contains("ratelimt"), "{message}");

    let (field, message) = error_for("[routes.\"/a\"]\ntimout = \"1s\"\n");
    assert_eq!(field, "routes.\"/a\".timout");
    assert!(message.contains("unknown field `timout`"), "{message}");
}

/// One quoting for every field path (serde's and validation's), and messages that say what is
/// expected.
#[test]
fn errors_quote_route_keys_one_way_and_say_what_is_expected() {
    let (field, message) = error_for("[routes.\"/v1/upstream\".breaker]\nminimum_cals = 10\n");
    assert_eq!(field, "routes.\"/v1/upstream\".breaker.minimum_cals");
    assert!(message.contains("`minimum_calls`"), "{message}");
    let (field, _) = error_for("[routes.\"/v1/upstream\".breaker]\nfailure_rate_threshold = 0\n");
    assert_eq!(
        field,
        "routes.\"/v1/upstream\".breaker.failure_rate_threshold"
    );
    let (field, _) = error_for("[routes.plain]\ntimeout = \"1s\"\n");
    assert_eq!(field, "routes.plain", "a key TOML writes bare stays bare");

    let (field, message) = error_for("[routes.\"/v1/upstream\".breaker]\nwindow = 20\n");
    assert_eq!(field, "routes.\"/v1/upstream\".breaker.window");
    assert!(
        message.contains("{ count = 100 }") && message.contains("{ time = \"10s\" }"),
        "{message}"
    );
    let (_, message) =
        error_for("[routes.\"/x\".breaker]\nwindow = { count = 10, time = \"1s\" }\n");
    assert!(message.contains("either `count` or `time`"), "{message}");
    let (_, message) = error_for("[routes.\"/x\".breaker]\nwindow = { time = \"soon\" }\n");
    assert!(message.contains("`time = \"soon\"`"), "{message}");

    let (field, message) = error_for("[timeout]\ndefault = 5\n");
    assert_eq!(field, "timeout.default");
    assert!(message.contains("\"250ms\""), "{message}");
}

#[test]
fn invalid_values_name_their_field() {
    let cases = [
        ("[timeout]\ndefault = \"-1s\"\n", "timeout.default"),
        ("[timeout]\ndefault = \"0s\"\n", "timeout.default"),
        ("[timeout]\ndefault = 5\n", "timeout.default"),
        ("[compression]\nmin_size = 0\n", "compression.min_size"),
        ("[compression]\nmin_size = -1\n", "compression.min_size"),
        (
            "[compression]\nmin_size = \"big\"\n",
            "compression.min_size",
        ),
        ("[compression]\nlevel = \"turbo\"\n", "compression.level"),
        (
            "[routes.\"/x\"]\ntimeout = \"0ms\"\n",
            "routes.\"/x\".timeout",
        ),
        ("[routes.\"x\"]\ntimeout = \"1s\"\n", "routes.x"),
        (
            "[routes.\"/x\".breaker]\nfailure_rate_threshold = 0\n",
            "routes.\"/x\".breaker.failure_rate_threshold",
        ),
        (
            "[routes.\"/x\".breaker]\nwindow = { count = 0 }\n",
            "routes.\"/x\".breaker.window",
        ),
        (
            "[routes.\"/x\".breaker]\nwindow = { hours = 1 }\n",
            "routes.\"/x\".breaker.window",
        ),
        (
            "[[ratelimit.policies]]\nname = \"p\"\nlimit = 0\nperiod = \"1s\"\nkey = \"global\"\n",
            "ratelimit.policies[0].limit",
        ),
        (
            "[[ratelimit.policies]]\nname = \"bad name\"\nlimit = 1\nperiod = \"1s\"\nkey = \"global\"\n",
            "ratelimit.policies[0].name",
        ),
        (
            "[[ratelimit.policies]]\nname = \"p\"\nlimit = 1\nperiod = \"1s\"\nkey = { header = \"bad header\" }\n",
            "ratelimit.policies[0].key",
        ),
        (
            "[ratelimit]\nclient_ip = { trusted_proxies = [\"10.0.0.0/99\"] }\n",
            "ratelimit.client_ip.trusted_proxies[0]",
        ),
        (
            "[routes.\"/x\"]\nratelimit = [{ name = \"p\", limit = 1, period = \"0s\", key = \"global\" }]\n",
            "routes.\"/x\".ratelimit[0].period",
        ),
        ("[cache]\nmax_bytes = 0\n", "cache.max_bytes"),
        (
            "[metrics]\nduration_buckets = [0.1, 0.05]\n",
            "metrics.duration_buckets",
        ),
        ("[metrics]\nsize_buckets = []\n", "metrics.size_buckets"),
        ("[cache]\ntag_header = \"bad header\"\n", "cache.tag_header"),
        (
            "[ratelimit]\nclient_ip = { trusted_proxies = [\"10.0.0.0/8\"] }\n",
            "ratelimit.client_ip.header",
        ),
        (
            "[ratelimit]\nclient_ip = { header = \"x-forwarded-for\" }\n",
            "ratelimit.client_ip.header",
        ),
        (
            "[ratelimit]\nclient_ip = { header = \"x-client-ip\" }\n",
            "ratelimit.client_ip.header",
        ),
        ("[cache.redis]\nurl = \"http://nope\"\n", "cache.redis.url"),
        (
            "[cache.redis]\nurl = \"redis://127.0.0.1/\"\nmax_bytes = 1000\n",
            "cache.redis.max_bytes",
        ),
        (
            "[cache.redis]\nurl = \"redis://127.0.0.1/\"\nmax_entries = 0\n",
            "cache.redis.max_entries",
        ),
        (
            "[routes.\"/x\".cache]\nkey_headers = [\"ok\", \"not ok\"]\n",
            "routes.\"/x\".cache.key_headers[1]",
        ),
        (
            "[routes.\"/x\".cache]\ndefault_ttl = \"soon\"\n",
            "routes.\"/x\".cache.default_ttl",
        ),
        ("[concurrency]\nmin = 0\n", "concurrency.min"),
        ("[concurrency]\nmin = 10\nmax = 5\n", "concurrency.max"),
        (
            "[concurrency]\nretry_after = \"0s\"\n",
            "concurrency.retry_after",
        ),
        (
            "[concurrency.groups.db]\nfixed = 0\n",
            "concurrency.groups.db.fixed",
        ),
        (
            "[concurrency.groups.db]\nmaximum = 5\n",
            "concurrency.groups.db.maximum",
        ),
        (
            "[routes.\"/x\".concurrency]\ngroup = \"db\"\n",
            "routes.\"/x\".concurrency.group",
        ),
        (
            "[concurrency.groups.db]\n[routes.\"/x\".concurrency]\ngroup = \"db\"\nmax = 5\n",
            "routes.\"/x\".concurrency.group",
        ),
        (
            "[routes.\"/x\".concurrency]\nmin = 8\nmax = 4\n",
            "routes.\"/x\".concurrency.max",
        ),
        (
            "[metrics]\nignore_routes = [\"/a\"]\n[metrics.grouped_routes]\n\"/g\" = [\"/a\"]\n",
            "metrics.grouped_routes./g",
        ),
    ];
    for (toml, expected) in cases {
        let (field, message) = error_for(toml);
        assert_eq!(field, expected, "{toml} -> {message}");
        assert!(message.contains(expected), "{message}");
    }
}

#[test]
fn malformed_toml_is_an_error_not_a_panic() {
    let (field, message) = error_for("[timeout\ndefault = ");
    assert_eq!(field, "");
    assert!(message.starts_with("invalid configuration"), "{message}");
}

#[test]
fn levels_parse_by_name_or_number() {
    let level = |text: &str| {
        StackConfig::from_toml_str(&format!("[compression]\nlevel = {text}\n"))
            .unwrap()
            .compression
            .level
    };
    assert_eq!(level("\"fastest\""), CompressionLevel::Fastest);
    assert_eq!(level("\"best\""), CompressionLevel::Best);
    assert_eq!(level("7"), CompressionLevel::Precise(7));
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let error = StackConfig::from_file("/nonexistent/rampart.toml").unwrap_err();
    assert!(error.to_string().contains("/nonexistent/rampart.toml"));
}

/// axum 0.7's `:id` and `*rest` are literal text to axum 0.8: such a route key would match no
/// request and do nothing. It is refused, with the template to write instead.
#[test]
fn route_keys_in_axum_07_syntax_are_refused_with_the_08_spelling() {
    let (field, message) = error_for("[routes.\"/v1/users/:id/files/*path\"]\ntimeout = \"2s\"\n");
    assert_eq!(field, "routes.\"/v1/users/:id/files/*path\"");
    assert!(
        message.contains("write `/v1/users/{id}/files/{*path}`"),
        "{message}"
    );
    // The 0.8 spelling is accepted.
    StackConfig::from_toml_str("[routes.\"/v1/users/{id}/files/{*path}\"]\ntimeout = \"2s\"\n")
        .unwrap();
}

#[test]
fn route_group_errors_name_the_group_and_the_route() {
    for (text, expected) in [
        ("[route_groups.a]\nroutes = []\n", "route_groups.a.routes"),
        (
            "[route_groups.a]\nroutes = [\"/x\", \"/users/:id\"]\n",
            "route_groups.a.routes[1]",
        ),
        (
            "[routes.\"/x\"]\ntimeout = \"2s\"\n[route_groups.a]\nroutes = [\"/x\"]\n",
            "route_groups.a.routes[0]",
        ),
        (
            "[route_groups.a]\nroutes = [\"/x\"]\n[route_groups.b]\nroutes = [\"/y\", \"/x\"]\n",
            "route_groups.b.routes[1]",
        ),
        (
            "[route_groups.a]\nroutes = [\"/x\"]\nsettings = { timeout = \"0s\" }\n",
            "route_groups.a.settings.timeout",
        ),
        (
            "[route_groups.a]\nroutes = [\"/x\"]\nsettings = { ratelimit = [{ name = \"a b\", limit = 1, period = \"1s\", key = \"global\" }] }\n",
            "route_groups.a.settings.ratelimit[0].name",
        ),
        (
            "[route_groups.a]\nroutes = [\"/x\"]\nsettings = { timeuot = \"1s\" }\n",
            "route_groups.a.settings.timeuot",
        ),
    ] {
        assert_eq!(error_for(text).0, expected, "{text}");
    }
}
