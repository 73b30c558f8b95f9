//! The shipped dashboard (`deploy/grafana/rampart.json`) and rules
//! (`deploy/prometheus/rampart.rules.yml`) against a real Prometheus (Debian's `prometheus`)
//! scraping the example server, with Redis, under a short load that makes every layer decide:
//! every rule evaluates without error, every recording rule and every dashboard panel has
//! series, and every query of the dashboard runs. Wrong metric or label names show up here as
//! empty panels, which `promtool` cannot see.

#![allow(clippy::unwrap_used)]

use example_server::ServerConfig;
use rampart_tests::{RedisServer, client};
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep};

const DASHBOARD: &str = include_str!("../../deploy/grafana/rampart.json");
const ADMIN_TOKEN: &str = "a-token-for-the-deploy-test";

/// Prometheus on a free loopback port, scraping `target` every second and evaluating the
/// shipped rules every second; killed on drop, its data in `dir`.
struct Prometheus {
    _child: Child,
    base: String,
}

impl Prometheus {
    /// `None` (loudly) when the binary is missing and `RAMPART_REQUIRE_PROMETHEUS` is not `1`.
    async fn start(target: &str, dir: &Path) -> Option<Self> {
        if std::process::Command::new("prometheus")
            .arg("--version")
            .output()
            .is_err()
        {
            let required = std::env::var("RAMPART_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "prometheus is not installed and RAMPART_REQUIRE_PROMETHEUS=1"
            );
            eprintln!(
                "\n!!!!! SKIPPED: prometheus is not installed; the dashboard and rules were not \
                 checked against it (apt-get install prometheus). !!!!!\n"
            );
            return None;
        }
        let rules =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus/rampart.rules.yml");
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
                 scrape_configs:\n  - job_name: rampart\n    static_configs:\n      - targets: [\"{target}\"]\n",
                rules.display()
            ),
        )
        .unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start prometheus");
        let base = format!("http://127.0.0.1:{port}");
        let ready = async {
            while !client()
                .get(format!("{base}/-/ready"))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success())
            {
                sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), ready)
            .await
            .expect("prometheus ready within 30 s");
        Some(Self {
            _child: child,
            base,
        })
    }

    /// The JSON answer of the HTTP API at `path` with `query`.
    async fn api(&self, path: &str, query: &[(&str, &str)]) -> Value {
        client()
            .get(format!("{}/api/v1/{path}", self.base))
            .query(query)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The result vector of an instant query; fails the test on a query Prometheus refuses.
    async fn query(&self, expr: &str) -> Vec<Value> {
        let answer = self.api("query", &[("query", expr)]).await;
        assert_eq!(answer["status"], "success", "{expr}: {answer}");
        answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    async fn rules(&self) -> Vec<Value> {
        self.api("rules", &[]).await["data"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|group| group["rules"].as_array().unwrap().clone())
            .collect()
    }
}

/// A dashboard query as Grafana sends it with every variable at "All".
fn as_grafana_sends(expr: &str) -> String {
    expr.replace("$__rate_interval", "15s")
        .replace("$job", ".+")
        .replace("$instance", ".+")
        .replace("$route", ".+")
}

/// Load that makes every layer decide: hits and misses, 429s, 504s, a breaker tripped by
/// failures, overload refusals; about ten seconds.
async fn exercise(base: &str, ops: &str) {
    let client = client();
    let get = |path: &str| client.get(format!("{base}{path}")).send();
    let chaos = client
        .post(format!("{ops}/admin/chaos"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({ "fail_percent": 100 }))
        .send()
        .await
        .unwrap();
    assert!(chaos.status().is_success(), "{}", chaos.status());
    let until = Instant::now() + Duration::from_secs(10);
    let mut round = 0;
    while Instant::now() < until {
        round += 1;
        for path in [
            "/api/hello",
            "/api/items/42",
            "/api/report",
            "/api/upstream",
        ] {
            let _ = get(path).await;
        }
        if round % 20 == 1 {
            // Over the 1 s deadline: a 504.
            let _ = get("/api/slow?ms=1500").await;
            // More at once than the database pool and the per-client quota take.
            let flood: Vec<_> = (0..120).map(|_| get("/api/work")).collect();
            futures_util::future::join_all(flood).await;
        }
        sleep(Duration::from_millis(20)).await;
    }
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rampart-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_the_rules_work_on_real_data() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let mut config =
        ServerConfig::from_toml_str(include_str!("../../examples/server/rampart.toml")).unwrap();
    config.server.listen = ([127, 0, 0, 1], 0).into();
    config.server.ops_listen = Some(([127, 0, 0, 1], 0).into());
    config.server.admin_token = Some(ADMIN_TOKEN.to_owned());
    let config = config.with_redis_url(redis.url());
    let server = example_server::start(config).await.unwrap();
    let base = server.url("");
    let base = base.trim_end_matches('/');
    let ops = server.ops_url("");
    let ops = ops.trim_end_matches('/');
    let dir = scratch_dir();
    let Some(prometheus) = Prometheus::start(ops.trim_start_matches("http://"), &dir).await else {
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    };

    exercise(base, ops).await;
    // Every rule has been evaluated on a few scrapes of the load.
    let evaluated = async {
        while prometheus
            .query("job_route:rampart_requests:rate5m")
            .await
            .is_empty()
        {
            sleep(Duration::from_millis(500)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), evaluated)
        .await
        .expect("recording rules evaluated within 30 s");
    sleep(Duration::from_secs(3)).await;

    let mut empty = Vec::new();
    for rule in prometheus.rules().await {
        let name = rule["name"].as_str().unwrap().to_owned();
        assert_eq!(rule["health"], "ok", "rule {name}: {}", rule["lastError"]);
        if rule["type"] == "recording" && prometheus.query(&name).await.is_empty() {
            empty.push(format!("recording rule {name}"));
        }
    }
    let dashboard: Value = serde_json::from_str(DASHBOARD).unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        let mut series = 0;
        for target in panel["targets"].as_array().unwrap() {
            let expr = as_grafana_sends(target["expr"].as_str().unwrap());
            series += prometheus.query(&expr).await.len();
        }
        if series == 0 {
            empty.push(format!("panel {}", panel["title"]));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(empty.is_empty(), "no series for: {empty:#?}");
    promtool_checks_the_page(&format!("{ops}/metrics")).await;
}

/// `promtool check metrics` (Debian's `prometheus` ships it) finds nothing to say about the
/// page after the load: names, units, suffixes, help lines of every series the layers made.
async fn promtool_checks_the_page(url: &str) {
    let page = client()
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool comes with prometheus");
    let mut stdin = promtool.stdin.take().unwrap();
    stdin.write_all(&page).await.unwrap();
    drop(stdin);
    let output = promtool.wait_with_output().await.unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && said.trim().is_empty(),
        "promtool: {said}"
    );
}
