//! The shared cache tier on a real `redis-server`: two instances share entries and purges;
//! Redis going away costs hits, never answers.

#![allow(clippy::unwrap_used)]

use example_server::RunningServer;
use rampart_tests::{RedisServer, client, metrics_text, series, start};
use reqwest::StatusCode;
use std::time::Duration;

fn config(redis_url: &str) -> String {
    format!(
        r#"
[server]
admin_token = "s3cret-admin-token-for-tests"

[stack.cache.redis]
url = "{redis_url}"
deadline = "200ms"

[stack.routes."/api/items/{{id}}".cache]
[stack.routes."/api/report".cache]
"#
    )
}

async fn connect(redis: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Redis's clock, in milliseconds: what the tier scores entries with.
async fn redis_now_ms(connection: &mut redis::aio::MultiplexedConnection) -> i64 {
    let (seconds, _): (String, String) = redis::cmd("TIME").query_async(connection).await.unwrap();
    seconds.parse::<i64>().unwrap() * 1000
}

/// The members of a sorted set, lowest score first.
async fn sorted_set(connection: &mut redis::aio::MultiplexedConnection, set: &str) -> Vec<String> {
    redis::cmd("ZRANGE")
        .arg(set)
        .arg(0)
        .arg(-1)
        .query_async(connection)
        .await
        .unwrap()
}

/// An entry's id in the tier's books and tag sets: the SHA-1 of its key, in hex.
async fn id_of(connection: &mut redis::aio::MultiplexedConnection, key: &str) -> String {
    redis::cmd("EVAL")
        .arg("return redis.sha1hex(ARGV[1])")
        .arg(0)
        .arg(key)
        .query_async(connection)
        .await
        .unwrap()
}

/// The keys of the entries a sorted set of ids (a tag set, the expiry index) names, through
/// the tier's records.
async fn keys_of(connection: &mut redis::aio::MultiplexedConnection, set: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for id in sorted_set(connection, set).await {
        let record: Option<String> = redis::cmd("HGET")
            .arg("rampart:cache:books:entries")
            .arg(&id)
            .query_async(connection)
            .await
            .unwrap();
        let record = record.unwrap_or_else(|| panic!("{id} in {set} has no record"));
        keys.push(record.split_once('\n').unwrap().1.to_owned());
    }
    keys
}

/// The instances stand behind one name, as behind a load balancer: the host is in the key.
async fn cache_status(server: &RunningServer, path: &str) -> String {
    let response = client()
        .get(server.url(path))
        .header("host", "shop.test")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.headers()["cache-status"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Polls until `path` on `server` is no longer a hit; how long that took.
async fn until_miss(server: &RunningServer, path: &str) -> Duration {
    until_miss_within(server, path, Duration::from_secs(2)).await
}

async fn until_miss_within(server: &RunningServer, path: &str, within: Duration) -> Duration {
    let started = tokio::time::Instant::now();
    while started.elapsed() < within {
        if !cache_status(server, path).await.contains("hit") {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{path} was still served from the cache {within:?} after the purge");
}

/// A real redis-server and two instances sharing it, as behind a load balancer; `None` (the
/// test skips) without redis-server.
async fn two_instances() -> Option<(RedisServer, RunningServer, RunningServer)> {
    let redis = RedisServer::start().await?;
    let config = config(&redis.url());
    let first = start(&config).await;
    let second = start(&config).await;
    Some((redis, first, second))
}

#[tokio::test]
async fn two_instances_share_entries_and_purges() {
    let Some((redis, first, second)) = two_instances().await else {
        return;
    };

    assert!(
        cache_status(&first, "/api/items/9")
            .await
            .contains("stored")
    );
    // The write to Redis happens after the answer; give it a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let shared = cache_status(&second, "/api/items/9").await;
    assert!(shared.starts_with("rampart; hit; ttl="), "{shared}");
    assert!(shared.ends_with("; detail=shared"), "{shared}");
    assert!(
        cache_status(&second, "/api/items/9")
            .await
            .starts_with("rampart; hit")
    );

    let purged = client()
        .post(first.ops_url("/admin/cache/purge"))
        .bearer_auth("s3cret-admin-token-for-tests")
        .body(r#"{"tag": "item-9"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(purged.status(), StatusCode::OK);
    let report: serde_json::Value = purged.json().await.unwrap();
    // Both instances listen on the channel: the answer says so.
    assert_eq!(report["instances_notified"], 2, "{report}");
    assert!(
        report["shared_keys_removed"].as_u64().unwrap() >= 1,
        "{report}"
    );
    // Asked first: the purging instance would store the item again on its next miss.
    until_miss(&second, "/api/items/9").await;
    drop(redis);
}

/// A tag with 40 000 entries in Redis: the purge takes longer than its client waits. The client
/// going away must stop nothing: the other instance stops serving the item, and Redis is
/// emptied of the tag.
#[tokio::test]
async fn a_purge_runs_to_completion_after_its_client_is_gone() {
    let Some((redis, first, second)) = two_instances().await else {
        return;
    };
    assert!(
        cache_status(&second, "/api/items/3")
            .await
            .contains("stored")
    );
    assert!(cache_status(&second, "/api/items/3").await.contains("hit"));

    let mut connection = connect(&redis).await;
    // Tagged entries as the tier writes them: the entry, its id in the tag set (scored by
    // expiry far ahead, as the tier scores live entries), its record.
    let fill = redis::Script::new(
        r"
for i = 1, #ARGV do
  local id = redis.sha1hex(ARGV[i])
  redis.call('SET', ARGV[i], 'x')
  redis.call('ZADD', KEYS[1], 4000000000000, id)
  redis.call('HSET', KEYS[2], id, '1 items\n' .. ARGV[i])
end
",
    );
    for chunk in 0..40 {
        let mut invocation = fill.prepare_invoke();
        invocation
            .key("rampart:cache:tag:items")
            .key("rampart:cache:books:entries");
        for n in chunk * 1000..(chunk + 1) * 1000 {
            invocation.arg(format!("rampart:cache:e:/filler/{n}#shop.test"));
        }
        invocation
            .invoke_async::<()>(&mut connection)
            .await
            .unwrap();
    }

    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(5))
        .build()
        .unwrap();
    // Gone before the answer, or answered 200 or 202: the purge goes on either way.
    if let Ok(response) = impatient
        .post(first.ops_url("/admin/cache/purge"))
        .bearer_auth("s3cret-admin-token-for-tests")
        .body(r#"{"tag": "items"}"#)
        .send()
        .await
    {
        assert!(response.status().is_success(), "{}", response.status());
    }
    until_miss(&second, "/api/items/3").await;
    // Asking for the item again stored it again (and tagged it): only the fillers must go.
    let mut left = u64::MAX;
    for _ in 0..100 {
        let mut query = redis::pipe();
        query
            .cmd("EXISTS")
            .arg("rampart:cache:e:/filler/0#shop.test")
            .arg("rampart:cache:e:/filler/39999#shop.test")
            .cmd("ZCARD")
            .arg("rampart:cache:tag:items");
        let (entries, tagged): (u64, u64) = query.query_async(&mut connection).await.unwrap();
        left = entries + tagged.saturating_sub(1);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "every tagged filler is removed from Redis");
}

#[tokio::test]
async fn with_redis_gone_the_local_tier_answers_and_counts_the_errors() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let server = start(&config(&redis.url())).await;
    assert!(
        cache_status(&server, "/api/report")
            .await
            .contains("stored")
    );
    redis.kill();
    assert!(
        cache_status(&server, "/api/report")
            .await
            .starts_with("rampart; hit")
    );
    assert!(
        cache_status(&server, "/api/items/3")
            .await
            .contains("stored")
    );
    let text = metrics_text(&server).await;
    assert!(series(&text, "rampart_cache_redis_errors_total", &[]).unwrap() >= 1.0);

    redis.restart().await;
    // Back: entries reach Redis again (the local tier was emptied when the channel came back).
    let mut shared = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let other = start(&config(&redis.url())).await;
        if cache_status(&server, "/api/items/4")
            .await
            .contains("stored")
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if cache_status(&other, "/api/items/4")
            .await
            .contains("detail=shared")
        {
            shared = true;
            break;
        }
    }
    assert!(shared, "the shared tier recovered by itself");
}

/// Every value the Redis tier holds, key and value, as raw bytes.
async fn everything_in(redis: &RedisServer) -> Vec<u8> {
    let mut connection = connect(redis).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut raw = Vec::new();
    for key in keys {
        raw.extend_from_slice(key.as_bytes());
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .unwrap();
        let value: Vec<u8> = match kind.as_str() {
            "string" => {
                redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
            }
            _ => {
                redis::cmd("DUMP")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
            }
        }
        .unwrap();
        raw.extend_from_slice(&value);
    }
    raw
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn a_clients_credentials_never_reach_redis() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let server = start(&config(&redis.url())).await;
    // `/api/items/{id}` is `public`: RFC 9111 3.5 lets a shared cache store it even for a
    // request with `Authorization`; the entry must not carry the request's credentials.
    let response = client()
        .get(server.url("/api/items/5"))
        .header("authorization", "Bearer token-8c1f")
        .header("cookie", "session=cookie-77aa")
        .header("proxy-authorization", "Basic proxy-41d2")
        .header("x-junk", "junk-09be")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["cache-status"]
            .to_str()
            .unwrap()
            .contains("stored")
    );

    let mut raw = Vec::new();
    for _ in 0..100 {
        raw = everything_in(&redis).await;
        if contains(&raw, "/api/items/5") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(contains(&raw, "/api/items/5"), "the entry reached Redis");
    for secret in ["token-8c1f", "cookie-77aa", "proxy-41d2", "junk-09be"] {
        assert!(!contains(&raw, secret), "{secret} was written to Redis");
    }
}

/// The second instance's connections to Redis die without a word (a NAT entry expired): its
/// subscription hears nothing more, yet Redis still counts it. The subscription's ping notices,
/// and the instance empties its local tier instead of serving purged entries until they expire.
#[tokio::test]
async fn a_purge_channel_that_dies_silently_is_noticed() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let proxy = rampart_tests::SilentProxy::start(redis.addr()).await;
    let first = start(&config(&redis.url())).await;
    let second = start(&config(&proxy.redis_url())).await;
    assert!(
        cache_status(&second, "/api/items/4")
            .await
            .contains("stored")
    );
    assert!(cache_status(&second, "/api/items/4").await.contains("hit"));

    proxy.silence_open_connections();
    let purged = client()
        .post(first.ops_url("/admin/cache/purge"))
        .bearer_auth("s3cret-admin-token-for-tests")
        .body(r#"{"tag": "item-4"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(purged.status(), StatusCode::OK);
    // A ping every 5 s, answered within 2 s, then a fresh subscription.
    let noticed = until_miss_within(&second, "/api/items/4", Duration::from_secs(12)).await;
    assert!(noticed <= Duration::from_secs(9), "after {noticed:?}");
    drop(redis);
}

/// A hung Redis (SIGSTOP) costs a few misses their deadline, not every miss: the tier stops
/// asking and serves from the local tier and the origin until a probe finds Redis back.
#[tokio::test]
async fn a_hung_redis_costs_a_few_misses_their_deadline_not_all_of_them() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let server = start(&config(&redis.url())).await;
    assert!(
        cache_status(&server, "/api/items/1")
            .await
            .contains("stored")
    );

    redis.pause();
    let started = tokio::time::Instant::now();
    let mut waited = 0;
    for id in 100..160 {
        let asked = tokio::time::Instant::now();
        assert!(
            cache_status(&server, &format!("/api/items/{id}"))
                .await
                .contains("stored")
        );
        waited += usize::from(asked.elapsed() >= Duration::from_millis(190));
    }
    let elapsed = started.elapsed();
    // Three failures open the gate; then one probe a second waits out the 200 ms deadline.
    let probes = usize::try_from(elapsed.as_secs()).unwrap() + 1;
    assert!(
        waited <= 3 + probes,
        "{waited} of 60 misses waited out the deadline in {elapsed:?}"
    );
    redis.resume();
}

/// A tag's set in Redis holds the entries that still exist: members whose entries expired are
/// dropped on the next write, and the set lives as long as its longest-lived entry, not a day
/// (plain sets refreshed for 24 h grew Redis from 1 MB to 170 MB over 105 000 URLs).
#[tokio::test]
async fn tag_sets_hold_only_live_entries_and_expire_with_them() {
    let Some((redis, first, _second)) = two_instances().await else {
        return;
    };
    let mut connection = connect(&redis).await;
    // An entry of the tag that expired a minute ago, as an older write left it.
    let now = redis_now_ms(&mut connection).await;
    let gone = id_of(&mut connection, "rampart:cache:e:/gone#shop.test").await;
    redis::cmd("ZADD")
        .arg("rampart:cache:tag:items")
        .arg(now - 60_000)
        .arg(&gone)
        .query_async::<()>(&mut connection)
        .await
        .unwrap();

    assert!(
        cache_status(&first, "/api/items/7")
            .await
            .contains("stored")
    );
    let seven = id_of(&mut connection, "rampart:cache:e:/api/items/7#shop.test").await;
    let mut members: Vec<String> = Vec::new();
    for _ in 0..100 {
        members = sorted_set(&mut connection, "rampart:cache:tag:items").await;
        if members.contains(&seven) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(members, [seven]);
    let entry_ttl: i64 = redis::cmd("PTTL")
        .arg("rampart:cache:e:/api/items/7#shop.test")
        .query_async(&mut connection)
        .await
        .unwrap();
    let set_ttl: i64 = redis::cmd("PTTL")
        .arg("rampart:cache:tag:items")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(
        set_ttl > 0 && set_ttl <= entry_ttl + 1_000,
        "the set lives {set_ttl} ms, its entry {entry_ttl} ms"
    );
}

/// Quotas per client address and the cache tier on one Redis, as `--redis-url` sets them up,
/// the tier within `budget` bytes and `route` cached.
fn quotas_and_tier_on(redis: &RedisServer, budget: u64, route: &str) -> String {
    format!(
        r#"
[[stack.ratelimit.policies]]
name = "per_ip"
limit = 100000
period = "1h"
key = "client_ip"

[stack.ratelimit.redis]
url = "{url}"
deadline = "200ms"

[stack.cache.redis]
url = "{url}"
deadline = "200ms"
max_bytes = {budget}

[stack.routes."{route}".cache]
"#,
        url = redis.url()
    )
}

/// One `INFO` field of a Redis server, as text.
async fn info_field(connection: &mut redis::aio::MultiplexedConnection, field: &str) -> String {
    let info: String = redis::cmd("INFO")
        .arg("everything")
        .query_async(connection)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .to_owned()
}

/// The tier keeps to a budget of its own in Redis, so a flood of distinct URLs on a Redis it
/// shares with the rate limiter (`maxmemory` + `noeviction`, one URL for both) no longer fills
/// the server: before, the flood made the limiter's writes fail with OOM and quotas stopped
/// being shared.
#[tokio::test]
async fn a_cache_flood_stays_within_the_tiers_budget_and_quotas_keep_working() {
    const BUDGET: u64 = 2 * 1024 * 1024;
    let Some(redis) =
        RedisServer::start_with(&["--maxmemory", "6mb", "--maxmemory-policy", "noeviction"]).await
    else {
        return;
    };
    let config = quotas_and_tier_on(&redis, BUDGET, "/api/report");
    let first = start(&config).await;
    let second = start(&config).await;
    let client = client();
    let mut connection = connect(&redis).await;
    // 300 distinct URLs of 33 KB each: 10 MB, past the server's 6 MB.
    for n in 0..300 {
        let response = client
            .get(first.url(&format!("/api/report?n={n}")))
            .header("host", "shop.test")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap();
    }
    // The writes are in the background: wait for the last one.
    for _ in 0..100 {
        let exists: bool = redis::cmd("EXISTS")
            .arg("rampart:cache:e:/api/report?n=299#shop.test")
            .query_async(&mut connection)
            .await
            .unwrap();
        if exists {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let used: u64 = redis::cmd("GET")
        .arg("rampart:cache:books:used")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(used <= BUDGET, "the tier weighs {used} bytes in Redis");
    let entries: u64 = redis::cmd("ZCARD")
        .arg("rampart:cache:books:expiry")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(entries >= 30, "{entries} entries in Redis");
    let memory: u64 = info_field(&mut connection, "used_memory")
        .await
        .parse()
        .unwrap();
    assert!(memory < 6 * 1024 * 1024, "Redis uses {memory} bytes");
    // The books weigh what Redis says the tier's keys use.
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("rampart:cache:*")
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut usage = 0;
    for key in keys {
        let bytes: Option<u64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(0)
            .query_async(&mut connection)
            .await
            .unwrap();
        usage += bytes.unwrap_or(0);
    }
    assert!(
        usage <= BUDGET && usage * 10 >= used * 9,
        "the keys use {usage} bytes, the books say {used}"
    );
    assert_eq!(info_field(&mut connection, "errorstat_OOM").await, "");
    let metrics = metrics_text(&first).await;
    assert!(
        series(&metrics, "rampart_cache_redis_evictions_total", &[]).unwrap_or(0.0) >= 200.0,
        "{metrics}"
    );
    for instance in [&first, &second] {
        let metrics = metrics_text(instance).await;
        assert_eq!(
            series(
                &metrics,
                "rampart_ratelimit_requests_total",
                &[("outcome", "error")]
            )
            .unwrap_or(0.0),
            0.0,
            "{metrics}"
        );
    }
    // The latest entries are still shared.
    let response = client
        .get(second.url("/api/report?n=299"))
        .header("host", "shop.test")
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["cache-status"]
            .to_str()
            .unwrap()
            .contains("detail=shared")
    );
}

/// The tier's books in Redis: (entries in the expiry index, entries with a record, the sum
/// they say, the sum of their weights), after checking every indexed entry exists.
async fn books(connection: &mut redis::aio::MultiplexedConnection) -> (usize, usize, u64, u64) {
    let indexed = keys_of(connection, "rampart:cache:books:expiry").await;
    for key in &indexed {
        let exists: bool = redis::cmd("EXISTS")
            .arg(key)
            .query_async(connection)
            .await
            .unwrap();
        assert!(exists, "{key} is in the books but not in Redis");
    }
    let records: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg("rampart:cache:books:entries")
        .query_async(connection)
        .await
        .unwrap();
    let weights = records
        .values()
        .map(|record| record.split(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    let used: Option<u64> = redis::cmd("GET")
        .arg("rampart:cache:books:used")
        .query_async(connection)
        .await
        .unwrap();
    (indexed.len(), records.len(), used.unwrap_or(0), weights)
}

/// Purges remove what they purge from the tier's books too, and from every tag set, so the
/// budget counts what is left.
#[tokio::test]
async fn purges_keep_the_tiers_books() {
    let Some((redis, first, _second)) = two_instances().await else {
        return;
    };
    for id in 1..=3 {
        cache_status(&first, &format!("/api/items/{id}")).await;
    }
    let mut connection = connect(&redis).await;
    let mut stored = books(&mut connection).await;
    for _ in 0..100 {
        if stored.0 == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        stored = books(&mut connection).await;
    }
    let (indexed, weighed, used, weights) = stored;
    assert_eq!((indexed, weighed), (3, 3));
    assert_eq!(used, weights);
    let one = used / 3;

    let purge = |body: &'static str| {
        client()
            .post(first.ops_url("/admin/cache/purge"))
            .bearer_auth("s3cret-admin-token-for-tests")
            .body(body)
            .send()
    };
    assert_eq!(
        purge(r#"{"tag": "item-2"}"#).await.unwrap().status(),
        StatusCode::OK
    );
    let (indexed, weighed, used, weights) = books(&mut connection).await;
    assert_eq!((indexed, weighed), (2, 2));
    assert_eq!(used, weights);
    assert!(used.abs_diff(2 * one) < 16, "{used} bytes for two entries");
    let items = keys_of(&mut connection, "rampart:cache:tag:items").await;
    assert_eq!(
        items,
        [
            "rampart:cache:e:/api/items/1#shop.test",
            "rampart:cache:e:/api/items/3#shop.test"
        ]
    );

    assert_eq!(
        purge(r#"{"key": "/api/items/3"}"#).await.unwrap().status(),
        StatusCode::OK
    );
    let (indexed, weighed, used, weights) = books(&mut connection).await;
    assert_eq!((indexed, weighed), (1, 1));
    assert_eq!(used, weights);

    assert_eq!(purge(r#""all""#).await.unwrap().status(), StatusCode::OK);
    assert_eq!(books(&mut connection).await, (0, 0, 0, 0));
}

/// An entry that expired by itself leaves the books (and its tag sets) on the next write, so
/// the budget does not fill with entries Redis already dropped.
#[tokio::test]
async fn expired_entries_leave_the_books_on_the_next_write() {
    let Some((redis, first, _second)) = two_instances().await else {
        return;
    };
    let mut connection = connect(&redis).await;
    let now = redis_now_ms(&mut connection).await;
    // As an entry written a while ago and expired since leaves the books.
    let gone = "rampart:cache:e:/api/items/8#shop.test";
    let gone_id = id_of(&mut connection, gone).await;
    redis::pipe()
        .cmd("ZADD")
        .arg("rampart:cache:books:expiry")
        .arg(now - 60_000)
        .arg(&gone_id)
        .cmd("HSET")
        .arg("rampart:cache:books:entries")
        .arg(&gone_id)
        .arg(format!("5000 items\n{gone}"))
        .cmd("SET")
        .arg("rampart:cache:books:used")
        .arg(5000)
        .cmd("ZADD")
        .arg("rampart:cache:tag:items")
        .arg(now + 60_000)
        .arg(&gone_id)
        .query_async::<()>(&mut connection)
        .await
        .unwrap();

    cache_status(&first, "/api/items/7").await;
    let seven = "rampart:cache:e:/api/items/7#shop.test";
    let seven_id = id_of(&mut connection, seven).await;
    for _ in 0..100 {
        let written: bool = redis::cmd("HEXISTS")
            .arg("rampart:cache:books:entries")
            .arg(&seven_id)
            .query_async(&mut connection)
            .await
            .unwrap();
        if written {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (indexed, weighed, used, weights) = books(&mut connection).await;
    assert_eq!((indexed, weighed), (1, 1));
    assert_eq!(used, weights);
    assert!(used < 5000, "{used}");
    let items = keys_of(&mut connection, "rampart:cache:tag:items").await;
    assert_eq!(items, [seven]);
}

/// Redis spends on the tier what the books say, whatever the keys look like: entries whose
/// keys are long (the attacker picks the query) once made every tag set a skiplist of ~1 KB
/// while the books charged 160 bytes, and Redis grew to 1.4x the books and past `maxmemory`,
/// refusing the rate limiter's script.
#[tokio::test]
async fn long_keys_cost_redis_what_the_books_say() {
    const BUDGET: u64 = 3 * 1024 * 1024;
    const MAXMEMORY: u64 = 6 * 1024 * 1024;
    let Some(redis) = RedisServer::start_with(&[
        "--maxmemory",
        &MAXMEMORY.to_string(),
        "--maxmemory-policy",
        "noeviction",
    ])
    .await
    else {
        return;
    };
    let config = quotas_and_tier_on(&redis, BUDGET, "/api/items/{id}");
    let server = start(&config).await;
    let mut connection = connect(&redis).await;
    // One entry first, so what Redis allocates once (connections, scripts) is not counted.
    let written = flood_items(&server, &mut connection, 0..1).await;
    let before: u64 = info_field(&mut connection, "used_memory")
        .await
        .parse()
        .unwrap();
    flood_items(&server, &mut connection, 1..2_500).await;

    let (_, _, used, weights) = books(&mut connection).await;
    assert_eq!(used, weights);
    assert!(
        used > BUDGET / 2,
        "the flood filled {used} bytes of the budget"
    );
    let after: u64 = info_field(&mut connection, "used_memory")
        .await
        .parse()
        .unwrap();
    let grown = after.saturating_sub(before);
    let charged = used - written;
    assert!(
        grown * 10 <= charged * 11 && grown * 10 >= charged * 9,
        "Redis grew by {grown} bytes, the books by {charged}"
    );
    assert!(after < MAXMEMORY, "Redis uses {after} bytes");
    assert_eq!(info_field(&mut connection, "errorstat_OOM").await, "");
    let metrics = metrics_text(&server).await;
    assert_eq!(
        series(
            &metrics,
            "rampart_ratelimit_requests_total",
            &[("outcome", "error")]
        )
        .unwrap_or(0.0),
        0.0,
        "{metrics}"
    );
}

/// Asks for `/api/items/{n}` with a 120-byte query for each `n`, as one attacker picking
/// distinct URLs would, and waits for the last write to reach Redis; what the books say then.
async fn flood_items(
    server: &RunningServer,
    connection: &mut redis::aio::MultiplexedConnection,
    range: std::ops::Range<u32>,
) -> u64 {
    let client = client();
    let query = "q".repeat(120);
    let mut last = String::new();
    for n in range {
        let path = format!("/api/items/{n}?{query}");
        let response = client
            .get(server.url(&path))
            .header("host", "shop.test")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap();
        last = format!("rampart:cache:e:{path}#shop.test");
    }
    for _ in 0..100 {
        let exists: bool = redis::cmd("EXISTS")
            .arg(&last)
            .query_async(connection)
            .await
            .unwrap();
        if exists {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    books(connection).await.2
}

/// At `maxmemory` the tier's write is refused before it starts. Undeclared, the script's first
/// write (a `ZREM`, which Redis lets through at `maxmemory`) made Redis waive the check for the
/// rest of the script, so the entry was written past the limit while every other client's
/// writes were refused.
#[tokio::test]
async fn at_maxmemory_a_write_is_refused_whole() {
    let Some((redis, first, _second)) = two_instances().await else {
        return;
    };
    let mut connection = connect(&redis).await;
    // Connections and scripts in place, as on a server that has been running.
    cache_status(&first, "/api/items/1").await;
    let entry = "rampart:cache:e:/api/items/2#shop.test";
    let used: u64 = info_field(&mut connection, "used_memory")
        .await
        .parse()
        .unwrap();
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(used / 2)
        .query_async::<()>(&mut connection)
        .await
        .unwrap();

    assert!(
        cache_status(&first, "/api/items/2")
            .await
            .contains("stored")
    );
    let mut errors = 0.0;
    for _ in 0..100 {
        let metrics = metrics_text(&first).await;
        errors = series(&metrics, "rampart_cache_redis_errors_total", &[]).unwrap_or(0.0);
        if errors >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(errors >= 1.0, "the refused write counts as an error");
    let exists: bool = redis::cmd("EXISTS")
        .arg(entry)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(!exists, "the entry was written past maxmemory");
}
