//! The route templates the application's configuration names (the `Stack`'s route policies),
//! and the warning when one of them names no route of the router.
//!
//! A key with a typo (`/v1/user/{id}` for `/v1/users/{id}`) is accepted and does nothing: its
//! policy never applies and nothing says so. The router cannot be asked for its templates, but
//! a request that matched no route and whose path fits a configured key shows that the key
//! names no route: the first such request logs one WARN naming the key. Only requests without a
//! route template are looked at, so routed requests pay nothing.

use std::sync::atomic::{AtomicBool, Ordering};

/// Configured route templates, matched against paths the router did not route.
pub(crate) struct ConfiguredRoutes {
    router: matchit::Router<usize>,
    templates: Box<[Box<str>]>,
    warned: Box<[AtomicBool]>,
}

impl ConfiguredRoutes {
    /// The templates matchit understands (axum's syntax); others are left out.
    pub(crate) fn new(templates: impl IntoIterator<Item = String>) -> Self {
        let mut router = matchit::Router::new();
        let mut kept = Vec::new();
        for template in templates {
            if router.insert(template.as_str(), kept.len()).is_ok() {
                kept.push(template.into_boxed_str());
            }
        }
        Self {
            router,
            warned: kept.iter().map(|_| AtomicBool::new(false)).collect(),
            templates: kept.into_boxed_slice(),
        }
    }

    /// `path` matched no route of the router: warns, once per key, if a configured key fits it.
    pub(crate) fn unrouted(&self, path: &str) {
        let Ok(found) = self.router.at(path) else {
            return;
        };
        let index = *found.value;
        if self.warned[index].swap(true, Ordering::Relaxed) {
            return;
        }
        tracing::warn!(
            route = &*self.templates[index],
            path,
            "the configuration has a policy for route `{}`, but the router gave `{path}` no \
             route: no route has this template (check its spelling against `Router::route`), \
             or it is served by a nested service or a fallback, which have no template; the \
             policy does not apply",
            self.templates[index]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_fitting_a_key_is_found_once() {
        let routes = ConfiguredRoutes::new(["/v1/user/{id}".to_owned(), "/a/{*rest}".to_owned()]);
        assert!(routes.router.at("/v1/user/5").is_ok());
        assert!(routes.router.at("/a/b/c").is_ok());
        assert!(routes.router.at("/v1/users/5").is_err());
        routes.unrouted("/v1/user/5");
        assert!(routes.warned[0].load(Ordering::Relaxed));
        assert!(!routes.warned[1].load(Ordering::Relaxed));
    }
}
