//! `/metrics` over TCP: labels, cardinality, and the in-flight gauge after aborted requests.

#![allow(clippy::unwrap_used)]

use rampart_tests::{client, series, series_lines, start};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

async fn scrape(server: &example_server::RunningServer) -> String {
    let response = client()
        .get(server.ops_url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

const DURATION_COUNT: &str = "http_server_request_duration_seconds_count";

#[tokio::test]
async fn labels_are_route_templates() {
    let server = start("").await;
    let client = client();
    for id in [1, 2, 3, 77] {
        client
            .get(server.url(&format!("/api/items/{id}")))
            .send()
            .await
            .unwrap();
    }
    client
        .get(server.url("/api/items/zzz"))
        .send()
        .await
        .unwrap();
    let text = scrape(&server).await;
    let ok = [
        ("http_request_method", "GET"),
        ("http_route", "/api/items/{id}"),
        ("http_response_status_code", "200"),
    ];
    assert_eq!(series(&text, DURATION_COUNT, &ok), Some(4.0), "{text}");
    let bad = [
        ("http_route", "/api/items/{id}"),
        ("http_response_status_code", "400"),
    ];
    assert_eq!(series(&text, DURATION_COUNT, &bad), Some(1.0));
    assert!(!text.contains("/api/items/77"), "raw path in labels");
    assert!(text.contains("# TYPE http_server_request_duration_seconds histogram"));
}

/// The identities (name and labels, without values) of every series in a scrape.
fn series_set(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect()
}

#[tokio::test]
async fn unknown_paths_add_no_label_values() {
    let server = start("").await;
    let client = client();
    client
        .get(server.url("/first/unknown"))
        .send()
        .await
        .unwrap();
    // Scrape twice, so the series of /metrics itself exist before the comparison.
    scrape(&server).await;
    let before = series_set(&scrape(&server).await);

    for i in 0..50 {
        client
            .get(server.url(&format!("/probe/{i}/x?y={i}")))
            .send()
            .await
            .unwrap();
    }
    let text = scrape(&server).await;
    assert_eq!(series_set(&text), before, "new series appeared");
    assert!(!text.contains("/probe/"));
    let unmatched = [
        ("http_route", "unmatched"),
        ("http_response_status_code", "404"),
    ];
    assert_eq!(series(&text, DURATION_COUNT, &unmatched), Some(51.0));
}

#[tokio::test]
async fn in_flight_gauge_returns_to_zero_after_clients_disconnect() {
    let server = start("[stack.routes.\"/api/slow\"]\ntimeout = \"30s\"\n").await;
    let mut sockets = Vec::new();
    for _ in 0..5 {
        let mut socket = TcpStream::connect(server.addr()).await.unwrap();
        socket
            .write_all(b"GET /api/slow?ms=20000 HTTP/1.1\r\nhost: test\r\n\r\n")
            .await
            .unwrap();
        sockets.push(socket);
    }
    let gauge = "http_server_active_requests";
    let slow = [("http_route", "/api/slow")];
    let mut seen = None;
    for _ in 0..100 {
        seen = series(&scrape(&server).await, gauge, &slow);
        if seen == Some(5.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, Some(5.0), "five requests in flight");

    drop(sockets);
    for _ in 0..100 {
        seen = series(&scrape(&server).await, gauge, &slow);
        if seen == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        seen,
        Some(0.0),
        "aborted requests left the gauge at {seen:?}"
    );
}

#[tokio::test]
async fn timeouts_are_counted_per_route() {
    let server = start("[stack.timeout]\ndefault = \"100ms\"\n").await;
    let response = client()
        .get(server.url("/api/slow?ms=1000"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 504);
    let text = scrape(&server).await;
    let route = [("http_route", "/api/slow")];
    assert_eq!(series(&text, "rampart_timeouts_total", &route), Some(1.0));
    let gateway_timeouts = [
        ("http_route", "/api/slow"),
        ("http_response_status_code", "504"),
    ];
    assert_eq!(series(&text, DURATION_COUNT, &gateway_timeouts), Some(1.0));
}

#[tokio::test]
async fn requests_over_http1_and_http2_are_told_apart_and_refusals_name_their_reason() {
    let server = start("").await;
    let url = server.url("/api/items/1");
    let http1 = client().get(&url).send().await.unwrap();
    assert_eq!(http1.version(), reqwest::Version::HTTP_11);
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for _ in 0..2 {
        let http2 = h2.get(&url).send().await.unwrap();
        assert_eq!(http2.version(), reqwest::Version::HTTP_2);
    }
    let unknown = client()
        .get(server.url("/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let text = scrape(&server).await;
    let item = |version| {
        let labels = [
            ("http_route", "/api/items/{id}"),
            ("http_response_status_code", "200"),
            ("url_scheme", "http"),
            ("network_protocol_version", version),
        ];
        series(&text, DURATION_COUNT, &labels)
    };
    assert_eq!(item("1.1"), Some(1.0), "{text}");
    assert_eq!(item("2"), Some(2.0), "{text}");
    assert!(
        series_lines(&text, DURATION_COUNT, &[("http_route", "/api/items/{id}")])
            .all(|line| !line.contains("error_type")),
        "a success with an error type:\n{text}"
    );
    // The stack's own 404 names its reason, as its problem document does.
    let not_found = [("http_route", "unmatched"), ("error_type", "not_found")];
    assert_eq!(
        series(&text, DURATION_COUNT, &not_found),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn the_configuration_leaves_routes_out_and_groups_others() {
    let server = start(
        r#"
[server]
ops_listen = "public"

[stack.metrics]
ignore_routes = ["/health/live"]

[stack.metrics.grouped_routes]
"/api/items" = ["/api/items/{id}", "/api/report"]
"#,
    )
    .await;
    let client = client();
    for path in [
        "/health/live",
        "/api/items/1",
        "/api/items/2",
        "/api/report",
        "/api/hello",
    ] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert!(response.status().is_success(), "{path}");
    }
    let text = scrape(&server).await;
    assert!(!text.contains("/health/live"), "{text}");
    assert_eq!(
        series(&text, DURATION_COUNT, &[("http_route", "/api/items")]),
        Some(3.0),
        "{text}"
    );
    assert!(!text.contains("/api/items/{id}\""), "{text}");
    assert_eq!(
        series(&text, DURATION_COUNT, &[("http_route", "/api/hello")]),
        Some(1.0)
    );
}

/// Issue 30, item 3: an anonymous client combining methods, statuses, HTTP/1.0, 1.1 and 2 and
/// absolute-form `https://` request lines multiplied the page by 112 (55 KB to 6.2 MB). Every
/// label stays in its closed set; the bound per route (`RouteLabels::max_label_sets`) and the
/// scheme from the connection keep the page within 2x of what normal traffic makes.
#[tokio::test]
async fn a_client_combining_labels_cannot_inflate_the_page() {
    // Everything on one listener, as before operations had their own: the attacker reaches
    // the health routes too.
    let server = start("[server]\nops_listen = \"public\"\n").await;
    let routes = [
        "/api/hello",
        "/api/items/1",
        "/api/items/zzz",
        "/api/report",
        "/api/upload",
        "/api/slow?ms=1",
        "/health/live",
        "/health/ready",
        "/nope",
    ];
    // Normal traffic: each route asked with its own method over HTTP/1.1 and HTTP/2.
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for route in routes {
        for client in [&client(), &h2] {
            let url = server.url(route);
            let request = if route == "/api/upload" {
                client.post(url).body("x")
            } else {
                client.get(url)
            };
            request.send().await.unwrap();
        }
    }
    // And revalidations of the cached routes, as browsers and caches send them.
    for route in ["/api/items/1", "/api/report"] {
        let first = client().get(server.url(route)).send().await.unwrap();
        let etag = first.headers()["etag"].clone();
        let again = client()
            .get(server.url(route))
            .header("if-none-match", etag);
        assert_eq!(again.send().await.unwrap().status(), 304);
    }
    let normal = scrape(&server).await.len();

    let methods = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "BREW",
    ];
    let mut sent = 0;
    for route in routes {
        for method in methods {
            for line in ["HTTP/1.0", "HTTP/1.1"] {
                for target in [
                    route.to_owned(),
                    format!("https://{}{route}", server.addr()),
                ] {
                    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
                    let head = format!(
                        "{method} {target} {line}\r\nhost: a\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    stream.write_all(head.as_bytes()).await.unwrap();
                    let mut answer = Vec::new();
                    let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer).await;
                    sent += 1;
                }
            }
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let _ = h2.request(method, server.url(route)).send().await;
            sent += 1;
        }
    }
    let attacked = scrape(&server).await;
    let growth = attacked.len() as f64 / normal as f64;
    assert!(sent >= 400, "{sent}");
    assert!(
        growth <= 2.0,
        "{normal} -> {} bytes ({growth:.2}x) after {sent} requests",
        attacked.len()
    );
    assert!(
        attacked.contains("otel_metric_overflow=\"true\""),
        "the bound was reached"
    );
    assert!(
        !attacked.contains("url_scheme=\"https\""),
        "plain TCP is http"
    );
}
