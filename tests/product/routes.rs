//! Every route of the example server, over TCP, with default settings.

#![allow(clippy::unwrap_used)]

use rampart_tests::{client, start};
use reqwest::StatusCode;
use serde_json::Value;

async fn problem(response: reqwest::Response) -> Value {
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn hello() {
    let server = start("").await;
    let response = client().get(server.url("/api/hello")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(response.text().await.unwrap(), "hello, world");
}

#[tokio::test]
async fn items_are_json_with_validators_and_answer_304() {
    let server = start("").await;
    let client = client();
    let response = client
        .get(server.url("/api/items/42"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=30, stale-while-revalidate=30, stale-if-error=300"
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'), "strong validator expected: {etag}");
    let item: Value = response.json().await.unwrap();
    assert_eq!(item["id"], 42);

    let again = client
        .get(server.url("/api/items/42"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"], etag.as_str());
}

#[tokio::test]
async fn a_non_numeric_item_id_is_a_400_problem() {
    let server = start("").await;
    for id in ["abc", "-1", "1.5", "99999999999999999999999"] {
        let response = client()
            .get(server.url(&format!("/api/items/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "id {id}");
        assert_eq!(problem(response).await["code"], "invalid_item_id");
    }
}

#[tokio::test]
async fn the_report_is_64_kib_of_cacheable_json() {
    let server = start("").await;
    let response = client()
        .get(server.url("/api/report"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=60, stale-if-error=300"
    );
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.bytes().await.unwrap();
    assert!(
        (60_000..70_000).contains(&body.len()),
        "{} bytes",
        body.len()
    );
    let report: Value = serde_json::from_slice(&body).unwrap();
    assert!(report["items"].as_array().unwrap().len() > 100);
}

#[tokio::test]
async fn slow_sleeps_and_the_default_deadline_answers_504() {
    let server = start("").await;
    let client = client();
    let quick = client
        .get(server.url("/api/slow?ms=20"))
        .send()
        .await
        .unwrap();
    assert_eq!(quick.status(), StatusCode::OK);
    assert_eq!(quick.text().await.unwrap(), "slept 20 ms");

    let started = tokio::time::Instant::now();
    let late = client
        .get(server.url("/api/slow?ms=1500"))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() < std::time::Duration::from_millis(1400));
    assert_eq!(problem(late).await["code"], "request_timeout");

    for query in ["ms=abc", "ms=-5", "ms=60001"] {
        let bad = client
            .get(server.url(&format!("/api/slow?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(problem(bad).await["code"], "invalid_query");
    }
}

#[tokio::test]
async fn upstream_fails_as_chaos_says() {
    let server = start("[server]\nadmin_token = \"t0ken-long-enough-for-tests\"\n").await;
    let client = client();
    let healthy = client
        .get(server.url("/api/upstream"))
        .send()
        .await
        .unwrap();
    assert_eq!(healthy.status(), StatusCode::OK);

    let set = client
        .post(server.ops_url("/admin/chaos"))
        .bearer_auth("t0ken-long-enough-for-tests")
        .body(r#"{"fail_percent": 100, "latency_ms": 5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let settings: Value = set.json().await.unwrap();
    assert_eq!(settings["fail_percent"], 100);
    assert_eq!(settings["latency_ms"], 5);

    let failing = client
        .get(server.url("/api/upstream"))
        .send()
        .await
        .unwrap();
    assert_eq!(failing.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(problem(failing).await["code"], "upstream_failed");
}

#[tokio::test]
async fn admin_needs_the_token_and_rejects_bad_documents() {
    let server = start("[server]\nadmin_token = \"t0ken-long-enough-for-tests\"\n").await;
    let client = client();
    let anonymous = client
        .get(server.ops_url("/admin/chaos"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        "Bearer realm=\"rampart-admin\""
    );
    let wrong = client
        .get(server.ops_url("/admin/chaos"))
        .bearer_auth("t0kem-long-enough-for-tests")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let cases = [
        ("not json", StatusCode::BAD_REQUEST, "invalid_json"),
        (
            r#"{"fail_percent": 300}"#,
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            r#"{"fail_pct": 3}"#,
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            r#"{"fail_percent": 101}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_chaos",
        ),
    ];
    for (body, status, code) in cases {
        let response = client
            .post(server.ops_url("/admin/chaos"))
            .bearer_auth("t0ken-long-enough-for-tests")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(problem(response).await["code"], code, "{body}");
    }
    let huge = client
        .post(server.ops_url("/admin/chaos"))
        .bearer_auth("t0ken-long-enough-for-tests")
        .body(vec![b' '; 1 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(problem(huge).await["code"], "invalid_body");
}

#[tokio::test]
async fn without_a_token_admin_routes_do_not_exist() {
    let server = start("").await;
    let response = client()
        .post(server.ops_url("/admin/chaos"))
        .body(r#"{"fail_percent": 100}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_paths_are_404_problems() {
    let server = start("").await;
    let response = client()
        .get(server.url("/no/such/thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(problem(response).await["code"], "not_found");
}

#[tokio::test]
async fn health_endpoints_answer() {
    let server = start("").await;
    let client = client();
    for path in ["/health/live", "/health/ready"] {
        let response = client.get(server.ops_url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn request_ids_are_generated_echoed_or_replaced() {
    let server = start("").await;
    let client = client();
    let generated = client.get(server.url("/api/hello")).send().await.unwrap();
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let echoed = client
        .get(server.url("/api/hello"))
        .header("x-request-id", "client-id-1")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "client-id-1");

    let long = "x".repeat(500);
    let replaced = client
        .get(server.url("/api/hello"))
        .header("x-request-id", &long)
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.headers()["x-request-id"].len(), 36);
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_with_allow() {
    let server = start("").await;
    let method = reqwest::Method::from_bytes(b"PURGE").unwrap();
    let response = client()
        .request(method, server.url("/api/items/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    assert_eq!(problem(response).await["code"], "method_not_allowed");
}

#[tokio::test]
async fn admin_token_guessing_is_throttled_per_client_across_every_admin_route() {
    let server = start("[server]\nadmin_token = \"t0ken-long-enough-for-tests\"\n").await;
    let client = client();
    let mut statuses = Vec::new();
    // Spread over the admin routes, which share one quota: each route with a quota of its own
    // would let a guesser try three times as often.
    let routes = ["/admin/breakers", "/admin/cache", "/admin/chaos"];
    for n in 0..25 {
        let response = client
            .get(server.ops_url(routes[n % routes.len()]))
            .bearer_auth(format!("guess-number-{n:04}-of-many"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    // A burst of 20 attempts, then one a second: 25 guesses in a row end in 429s.
    assert!(
        statuses[..20]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[20..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // The right token is no way around it: every attempt counts.
    let right = client
        .get(server.ops_url("/admin/breakers"))
        .bearer_auth("t0ken-long-enough-for-tests")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    // The API's own quota is untouched.
    let api = client.get(server.url("/api/hello")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::OK);
}
