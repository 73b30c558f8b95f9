//! How response fields are read, as the RFC 9111 test suite (cache-tests.fyi) checks them.

mod support;

use rampart_cache::CacheRule;
use std::time::{Duration, SystemTime};
use support::{Origin, cached, get, send};

/// Whether a response with `fields` is reused for a second request.
async fn reused(fields: Vec<(&'static str, String)>) -> bool {
    let origin = Origin::new(move |_| {
        let mut builder = http::Response::builder();
        for (name, value) in &fields {
            builder = builder.header(*name, value.as_str());
        }
        builder
            .body(http_body_util::Full::new(bytes::Bytes::from_static(b"x")))
            .expect("valid response")
    });
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/a", &[])).await;
    send(&cache, get("/a", &[])).await;
    origin.calls() == 1
}

fn owned(fields: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    fields
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn cache_control_directive_names_are_case_insensitive() {
    assert!(!reused(owned(&[("cache-control", "max-age=3600, No-CaChE")])).await);
    assert!(reused(owned(&[("cache-control", "MaX-AgE=3600")])).await);
    assert!(!reused(owned(&[("cache-control", "max-age=3600, No-StOrE")])).await);
}

#[tokio::test(start_paused = true)]
async fn age_uses_its_first_member_and_ignores_what_is_not_a_number() {
    let with_age = |age: &str| owned(&[("cache-control", "max-age=3600"), ("age", age)]);
    assert!(!reused(with_age("7200, 0")).await, "`old, 0` is old");
    assert!(reused(with_age("0, 7200")).await, "`0, old` is fresh");
    assert!(!reused(with_age("7200;foo=bar")).await);
    assert!(!reused(with_age("2147483649")).await);
    for ignored in ["abc", "-7200", "7200.0"] {
        assert!(reused(with_age(ignored)).await, "`{ignored}` is ignored");
    }
    let two_lines = vec![
        ("cache-control", "max-age=3600".to_owned()),
        ("age", "7200".to_owned()),
        ("age", "0".to_owned()),
    ];
    assert!(!reused(two_lines).await, "the first line counts");
}

#[tokio::test(start_paused = true)]
async fn expires_takes_the_three_date_forms_and_nothing_looser() {
    let in_a_day = SystemTime::now() + Duration::from_secs(86_400);
    let imf = httpdate::fmt_http_date(in_a_day);
    assert!(reused(vec![("expires", imf.clone())]).await);
    // The same instant in RFC 850 form: "Sunday, 06-Nov-94 08:49:37 GMT".
    let parts: Vec<&str> = imf.split(' ').collect();
    let weekday = match parts[0] {
        "Mon," => "Monday",
        "Tue," => "Tuesday",
        "Wed," => "Wednesday",
        "Thu," => "Thursday",
        "Fri," => "Friday",
        "Sat," => "Saturday",
        _ => "Sunday",
    };
    let rfc850 = format!(
        "{weekday}, {}-{}-{} {} GMT",
        parts[1],
        parts[2],
        &parts[3][2..],
        parts[4]
    );
    assert!(reused(vec![("expires", rfc850)]).await);
    let spaced = imf.replacen(' ', "  ", 2);
    assert!(!reused(vec![("expires", spaced)]).await, "multiple spaces");
    assert!(!reused(owned(&[("expires", "0")])).await);
}

#[tokio::test(start_paused = true)]
async fn targeted_fields_steer_this_cache_apart_from_browsers() {
    // RFC 9213: the targeted field wins over Cache-Control and Expires, both ways.
    assert!(
        !reused(owned(&[
            ("cache-control", "max-age=3600"),
            ("cdn-cache-control", "no-cache")
        ]))
        .await
    );
    assert!(
        !reused(owned(&[
            ("cache-control", "max-age=3600"),
            ("cdn-cache-control", "private")
        ]))
        .await
    );
    assert!(
        reused(owned(&[
            ("cache-control", "no-store"),
            ("cdn-cache-control", "max-age=3600")
        ]))
        .await
    );
    assert!(
        reused(owned(&[
            ("expires", "0"),
            ("cdn-cache-control", "max-age=3600")
        ]))
        .await
    );
    // rampart's own field is more specific than the CDN one.
    assert!(
        reused(owned(&[
            ("cache-control", "no-store"),
            ("cdn-cache-control", "no-store"),
            ("rampart-cache-control", "max-age=3600"),
        ]))
        .await
    );
    assert!(
        !reused(owned(&[
            ("cdn-cache-control", "max-age=3600"),
            ("rampart-cache-control", "no-store")
        ]))
        .await
    );
}
