//! The purge channel: every instance subscribes and applies what it hears to its local tier.
//!
//! An instance cannot know which purges it missed while it was not listening, so whenever it
//! gets its subscription back it empties its local tier. A subscription can also die without a
//! word (the peer vanished, no RST): it is pinged every [`PING_EVERY`], and one that does not
//! answer within [`PING_WITHIN`] counts as lost.

use futures_util::StreamExt;
use redis::RedisResult;
use redis::aio::{PubSub, PubSubSink};
use std::sync::Weak;
use std::time::Duration;

use super::RedisTier;
use crate::Purge;
use crate::layer::Shared;

/// How often a quiet subscription is asked whether it is still there.
const PING_EVERY: Duration = Duration::from_secs(5);

/// How long the answer to that may take.
const PING_WITHIN: Duration = Duration::from_secs(2);

/// How long subscribing may take before it is tried again.
const SUBSCRIBE_WITHIN: Duration = Duration::from_secs(2);

impl RedisTier {
    /// Listens for purges until the cache is dropped; started once per cache.
    pub(crate) fn listen(&self, shared: Weak<Shared>) {
        let tier = self.clone();
        tokio::spawn(async move {
            let channel = tier.channel();
            let mut delay = Duration::from_millis(50);
            let mut lost = false;
            loop {
                let Some(strong) = shared.upgrade() else {
                    return;
                };
                match tier.subscribe(&channel).await {
                    Ok(pubsub) => {
                        if lost {
                            strong.store.purge(&Purge::All);
                            tracing::info!("cache invalidation channel back; local tier emptied");
                        }
                        delay = Duration::from_millis(50);
                        drop(strong);
                        if !follow(pubsub, &shared).await {
                            return;
                        }
                    }
                    Err(error) => {
                        strong.telemetry.redis_errors.increment(1);
                        tracing::debug!(%error, "cache invalidation channel unavailable");
                    }
                }
                if !lost {
                    tracing::warn!("cache invalidation channel lost; reconnecting");
                }
                lost = true;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        });
    }

    async fn subscribe(&self, channel: &str) -> RedisResult<PubSub> {
        let connect = async {
            let mut pubsub = self.link.client().get_async_pubsub().await?;
            pubsub.subscribe(channel).await?;
            Ok(pubsub)
        };
        match tokio::time::timeout(SUBSCRIBE_WITHIN, connect).await {
            Ok(result) => result,
            Err(_) => Err(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "subscribing timed out",
            ))),
        }
    }
}

/// Applies the purges heard on `pubsub` until it is lost (`true`) or the cache is gone
/// (`false`).
async fn follow(pubsub: PubSub, shared: &Weak<Shared>) -> bool {
    let (mut sink, mut messages) = pubsub.split();
    let mut liveness =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else { return true };
                let Some(shared) = shared.upgrade() else { return false };
                match serde_json::from_slice::<Purge>(message.get_payload_bytes()) {
                    Ok(purge) => shared.store.purge(&purge),
                    Err(error) => tracing::warn!(%error, "unreadable cache purge"),
                }
            }
            _ = liveness.tick() => {
                if shared.strong_count() == 0 {
                    return false;
                }
                if !answers(&mut sink).await {
                    tracing::warn!(within = ?PING_WITHIN, "cache invalidation channel did not answer a ping");
                    return true;
                }
            }
        }
    }
}

async fn answers(sink: &mut PubSubSink) -> bool {
    let ping = sink.ping::<redis::Value>();
    matches!(tokio::time::timeout(PING_WITHIN, ping).await, Ok(Ok(_)))
}
