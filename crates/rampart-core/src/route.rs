use axum::extract::MatchedPath;
use http::Request;
// foldhash (hashbrown's default) rather than SipHash: the key is a route template from our own
// configuration, looked up on every request by several layers; nothing a client controls.
use hashbrown::HashMap;

/// Up to this many overrides a table is scanned in order rather than hashed: every layer looks
/// its table up on every request, and comparing a few lengths (then, for the one of equal
/// length, the bytes) costs a quarter of hashing the template (callgrind, `/api/hello` through
/// the whole stack: 125 instructions per lookup hashed).
const SCANNED_ROUTES: usize = 8;

/// The route label of a request that matched no route.
///
/// Route templates always start with `/`, so this value can never collide with one. Every
/// unmatched request shares it, which keeps a client probing random paths from creating new
/// label values.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The route template of a request (`/api/items/{id}`), or [`UNMATCHED_ROUTE`].
///
/// The template comes from axum's [`MatchedPath`], which the router inserts before it calls the
/// layers added with `Router::layer` or `Router::route_layer`. Layers that wrap the whole router
/// from outside see no template and use [`UNMATCHED_ROUTE`].
///
/// # Example
///
/// ```
/// use http::Request;
/// use rampart_core::{route_label, UNMATCHED_ROUTE};
///
/// let request = Request::new(());
/// assert_eq!(route_label(&request), UNMATCHED_ROUTE);
/// ```
pub fn route_label<B>(request: &Request<B>) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
}

/// A setting with a default for the whole stack and overrides per route template.
///
/// # Example
///
/// ```
/// use http::Request;
/// use rampart_core::RouteTable;
/// use std::time::Duration;
///
/// let table = RouteTable::new(Duration::from_secs(1)).with_route("/api/slow", Duration::from_secs(5));
/// // This request matched no route, so it gets the default.
/// assert_eq!(*table.get(&Request::new(())), Duration::from_secs(1));
/// assert_eq!(*table.get_for_route("/api/slow"), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct RouteTable<T> {
    default: T,
    routes: Vec<(Box<str>, T)>,
    // Position in `routes` by template, once there are more than `SCANNED_ROUTES`.
    index: Option<HashMap<Box<str>, usize>>,
}

impl<T> RouteTable<T> {
    /// A table where every route gets `default`.
    pub const fn new(default: T) -> Self {
        Self {
            default,
            routes: Vec::new(),
            index: None,
        }
    }

    /// Overrides the setting for one route template (as written in `Router::route`); a second
    /// override of the same template replaces the first.
    #[must_use]
    pub fn with_route(mut self, template: impl Into<Box<str>>, value: T) -> Self {
        let template = template.into();
        if let Some(position) = self.position(&template) {
            self.routes[position].1 = value;
            return self;
        }
        self.routes.push((template, value));
        if self.routes.len() > SCANNED_ROUTES {
            let index = self.index.get_or_insert_with(HashMap::new);
            for (position, (template, _)) in self.routes.iter().enumerate().skip(index.len()) {
                index.insert(template.clone(), position);
            }
        }
        self
    }

    fn position(&self, template: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(template).copied(),
            None => self
                .routes
                .iter()
                .position(|(route, _)| **route == *template),
        }
    }

    /// The setting for the route the request matched.
    pub fn get<B>(&self, request: &Request<B>) -> &T {
        // A table without overrides spares the lookup of the matched route.
        if self.routes.is_empty() {
            return &self.default;
        }
        self.get_matched(request.extensions().get::<MatchedPath>())
    }

    /// The setting for a request's [`MatchedPath`], for a layer that has already taken it out
    /// of the request's extensions (each lookup there costs a hash of the type id); `None`, for a
    /// request that matched no route, gets the default.
    ///
    /// ```
    /// use axum::extract::MatchedPath;
    /// use http::Request;
    /// use rampart_core::RouteTable;
    ///
    /// let table = RouteTable::new(1).with_route("/api/slow", 5);
    /// let request = Request::new(());
    /// assert_eq!(*table.get_matched(request.extensions().get::<MatchedPath>()), 1);
    /// ```
    pub fn get_matched(&self, route: Option<&MatchedPath>) -> &T {
        route.map_or(&self.default, |route| self.get_for_route(route.as_str()))
    }

    /// The setting for a route template.
    pub fn get_for_route(&self, template: &str) -> &T {
        if self.routes.is_empty() {
            return &self.default;
        }
        self.position(template)
            .map_or(&self.default, |position| &self.routes[position].1)
    }

    /// The default setting.
    pub const fn default_value(&self) -> &T {
        &self.default
    }

    /// The overrides, by route template.
    pub fn routes(&self) -> impl Iterator<Item = (&str, &T)> {
        self.routes
            .iter()
            .map(|(route, value)| (route.as_ref(), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap as Model;

    proptest! {
        // Whether scanned or hashed, a table answers as a map from template to its last value.
        #[test]
        fn answers_like_a_map_of_the_last_override(
            overrides in proptest::collection::vec((0_u8..24, any::<u32>()), 0..40),
            probes in proptest::collection::vec(0_u8..30, 1..10),
        ) {
            let template = |n: u8| format!("/r/{n}");
            let mut model = Model::new();
            let mut table = RouteTable::new(u32::MAX);
            for (route, value) in overrides {
                model.insert(template(route), value);
                table = table.with_route(template(route), value);
            }
            for probe in probes {
                let expected = model.get(&template(probe)).copied().unwrap_or(u32::MAX);
                prop_assert_eq!(*table.get_for_route(&template(probe)), expected);
            }
            prop_assert_eq!(table.routes().count(), model.len());
        }
    }
}
