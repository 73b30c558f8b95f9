//! Runs the example's binary over TCP with a configuration of the test's own, and with a bad
//! one.

#![allow(clippy::unwrap_used)]

use rampart_test_support::start_listening;

async fn start(config: &std::path::Path) -> (tokio::process::Child, String) {
    start_listening(env!("CARGO_BIN_EXE_from-toml"), &[config.as_os_str()]).await
}

#[tokio::test]
async fn the_file_configures_the_stack() {
    let dir = std::env::temp_dir().join(format!("rampart-from-toml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("stack.toml");
    // Two requests a minute: the third is refused by the file's policy.
    std::fs::write(
        &config,
        "[[ratelimit.policies]]\nname = \"tight\"\nlimit = 2\nperiod = \"1m\"\nkey = \"client_ip\"\n",
    )
    .unwrap();
    let (mut child, base) = start(&config).await;
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let ok = client.get(format!("{base}/hello")).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["ratelimit-policy"], "\"tight\";q=2;w=60");
    }
    let refused = client.get(format!("{base}/hello")).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    assert!(refused.headers().contains_key("retry-after"));
    child.kill().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_shipped_file_is_valid_and_a_bad_one_names_its_field() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/rampart.toml");
    let (mut child, base) = start(std::path::Path::new(shipped)).await;
    let hello = reqwest::get(format!("{base}/hello")).await.unwrap();
    assert_eq!(hello.status(), 200);
    assert!(hello.headers().contains_key("cache-status"));
    child.kill().await.unwrap();

    let dir = std::env::temp_dir().join(format!("rampart-from-toml-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[timeout]\ndefault = \"0s\"\n").unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_from-toml"))
        .arg(&bad)
        .env("LISTEN", "127.0.0.1:0")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("timeout.default"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
