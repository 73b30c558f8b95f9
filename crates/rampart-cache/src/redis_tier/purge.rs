//! Purges in the shared tier: announced first, so every instance drops its copies at once;
//! removed from Redis in batches, each step under its own deadline, so a purge of any size
//! finishes; announced again, so an instance that read an entry back from Redis while it was
//! being removed drops that too.

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisResult, Script};
use std::time::Duration;

use super::{RedisTier, counted, glob_escape};
use crate::SharedTierError;
use crate::key::{purge_target, same_resource};
use crate::layer::Shared;
use crate::{Purge, PurgeReport};

/// Keys asked of Redis per `SCAN`/`ZSCAN` step, and so removed per `DEL`.
const BATCH: usize = 1000;

impl RedisTier {
    /// Announces `purge`, removes what it names from Redis, announces it again.
    pub(crate) async fn purge(
        &self,
        shared: &Shared,
        purge: &Purge,
    ) -> Result<PurgeReport, SharedTierError> {
        let step = self.deadline.max(Duration::from_secs(5));
        let instances_notified = self.announce(shared, step, purge).await?;
        let shared_keys_removed = self.remove(shared, step, purge).await?;
        self.announce(shared, step, purge).await?;
        Ok(PurgeReport {
            instances_notified,
            shared_keys_removed,
        })
    }

    /// Publishes `purge`; how many instances were listening.
    async fn announce(
        &self,
        shared: &Shared,
        step: Duration,
        purge: &Purge,
    ) -> Result<u64, SharedTierError> {
        let message = serde_json::to_vec(purge).map_err(|e| SharedTierError(e.to_string()))?;
        let channel = self.channel();
        self.step(shared, step, |mut connection| async move {
            connection.publish::<_, _, u64>(channel, message).await
        })
        .await
        .ok_or_else(|| incomplete("announcing it"))
    }

    async fn remove(
        &self,
        shared: &Shared,
        step: Duration,
        purge: &Purge,
    ) -> Result<u64, SharedTierError> {
        let entries = format!("{}:e:", self.prefix);
        match purge {
            Purge::All => {
                // The books stay: every entry removed leaves them through them, and an entry
                // written while the purge runs stays counted.
                let books = self.books();
                let pattern = format!("{}:*", glob_escape(&self.prefix));
                let not_books = |key: &str| !books.iter().any(|book| book == key);
                self.remove_matching(shared, step, &pattern, not_books)
                    .await
            }
            Purge::Prefix(prefix) => {
                let pattern = format!("{}{}*", glob_escape(&entries), glob_escape(prefix));
                self.remove_matching(shared, step, &pattern, |_| true).await
            }
            Purge::Key(path_and_query) => {
                let target = purge_target(path_and_query);
                let path = target.split('?').next().unwrap_or_default();
                let pattern = format!("{}{}*", glob_escape(&entries), glob_escape(path));
                let same = |key: &str| {
                    key.strip_prefix(entries.as_str())
                        .is_some_and(|key| same_resource(key, &target))
                };
                self.remove_matching(shared, step, &pattern, same).await
            }
            Purge::Tag(tag) => self.remove_tagged(shared, step, &self.tag_key(tag)).await,
        }
    }

    /// Removes the keys matching `pattern` that `wanted` keeps, one `SCAN` step at a time.
    async fn remove_matching(
        &self,
        shared: &Shared,
        step: Duration,
        pattern: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<u64, SharedTierError> {
        let mut cursor = 0u64;
        let mut removed = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(BATCH);
            let (next, keys): (u64, Vec<String>) = self
                .step(shared, step, |mut connection| async move {
                    scan.query_async(&mut connection).await
                })
                .await
                .ok_or_else(|| incomplete("listing keys"))?;
            let keys: Vec<String> = keys.into_iter().filter(|key| wanted(key)).collect();
            removed += self
                .delete(shared, step, &self.budget.remove_keys, &keys)
                .await?;
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    /// Removes the entries in a tag's sorted set, one `ZSCAN` step at a time, then the set.
    async fn remove_tagged(
        &self,
        shared: &Shared,
        step: Duration,
        set: &str,
    ) -> Result<u64, SharedTierError> {
        let mut cursor = 0u64;
        let mut removed = 0;
        loop {
            let mut scan = redis::cmd("ZSCAN");
            scan.arg(set).arg(cursor).arg("COUNT").arg(BATCH);
            let (next, members_and_scores): (u64, Vec<String>) = self
                .step(shared, step, |mut connection| async move {
                    scan.query_async(&mut connection).await
                })
                .await
                .ok_or_else(|| incomplete("listing tagged keys"))?;
            let ids: Vec<String> = members_and_scores.into_iter().step_by(2).collect();
            removed += self
                .delete(shared, step, &self.budget.remove_ids, &ids)
                .await?;
            if next == 0 {
                break;
            }
            cursor = next;
        }
        self.delete(shared, step, &self.budget.remove_keys, &[set.to_owned()])
            .await?;
        Ok(removed)
    }

    /// Runs `script` (removing keys, or entries by id) over `names` and their books, so the
    /// budget counts what is left.
    async fn delete(
        &self,
        shared: &Shared,
        step: Duration,
        script: &Script,
        names: &[String],
    ) -> Result<u64, SharedTierError> {
        if names.is_empty() {
            return Ok(0);
        }
        let mut remove = script.prepare_invoke();
        remove.key(&self.books()).arg(self.tag_sets()).arg(names);
        self.step(shared, step, |mut connection| async move {
            remove.invoke_async::<u64>(&mut connection).await
        })
        .await
        .ok_or_else(|| incomplete("removing keys"))
    }

    /// One step of a purge: an administrator's request, so it tries even while the tier is
    /// holding its request-path operations back.
    async fn step<T, F>(
        &self,
        shared: &Shared,
        step: Duration,
        operation: impl FnOnce(ConnectionManager) -> F,
    ) -> Option<T>
    where
        F: Future<Output = RedisResult<T>>,
    {
        counted(shared, self.link.call_ungated(step, operation).await)
    }
}

fn incomplete(step: &str) -> SharedTierError {
    SharedTierError(format!("the purge stopped while {step}"))
}
