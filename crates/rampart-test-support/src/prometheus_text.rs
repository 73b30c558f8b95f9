//! Reading series out of a Prometheus text exposition, for assertions.

/// The value of the first series named `name` whose labels include every pair of `labels`.
///
/// # Example
///
/// ```
/// let text = "# TYPE hits counter\nhits{route=\"/a\",code=\"200\"} 3\nhits{route=\"/b\"} 1\n";
/// assert_eq!(rampart_test_support::series(text, "hits", &[("route", "/a")]), Some(3.0));
/// assert_eq!(rampart_test_support::series(text, "hits", &[("route", "/c")]), None);
/// assert_eq!(rampart_test_support::series(text, "hit", &[]), None);
/// ```
pub fn series(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    series_lines(text, name, labels)
        .next()
        .and_then(|line| line.rsplit_once(' '))
        .and_then(|(_, value)| value.parse().ok())
}

/// Every line of a series named `name` whose labels include every pair of `labels`.
pub fn series_lines<'a>(
    text: &'a str,
    name: &'a str,
    labels: &'a [(&'a str, &'a str)],
) -> impl Iterator<Item = &'a str> + 'a {
    text.lines().filter(move |line| {
        if line.starts_with('#') {
            return false;
        }
        let Some((series, _)) = line.rsplit_once(' ') else {
            return false;
        };
        let (series_name, rest) = series.split_once('{').unwrap_or((series, ""));
        series_name == name
            && labels
                .iter()
                .all(|(key, value)| rest.contains(&format!("{key}=\"{value}\"")))
    })
}
