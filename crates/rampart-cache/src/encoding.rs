//! `Accept-Encoding` reduced to the one coding the encoder below will use, so that a URL has at
//! most one variant per coding offered (and one unencoded), whatever weights a client invents.

use http::header::ACCEPT_ENCODING;
use http::{HeaderMap, HeaderValue};
use rampart_core::coding::{ContentCoding, ContentCodings};

/// What the cache does to a request's `Accept-Encoding` before keying and forwarding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Negotiated {
    /// Already the one coding: left as it is.
    Keep,
    /// Replaced by the coding the encoder is to use (or by `identity;q=0`).
    Set(HeaderValue),
    /// No offered coding is acceptable and the unencoded form is: as if the client sent none.
    Remove,
}

/// The coding to use for the request's `Accept-Encoding` (every line of it), among those `offered`: the highest weight above zero,
/// explicit or through `*` (RFC 9110 12.5.3), ties going to the order of
/// [`ContentCoding::ALL`]. The request carries only that coding on, so the encoder below
/// makes exactly the variant the cache keys it on; a malformed weight drops its element, as
/// the encoder would.
pub(crate) fn negotiate(headers: &HeaderMap, offered: ContentCodings) -> Negotiated {
    let mut values = headers.get_all(ACCEPT_ENCODING).iter();
    let Some(first) = values.next() else {
        return Negotiated::Keep;
    };
    let one_line = values.next().is_none();
    let exactly_one = ContentCoding::ALL
        .iter()
        .any(|coding| offered.contains(*coding) && first.as_bytes() == coding.name().as_bytes());
    if one_line && exactly_one {
        return Negotiated::Keep;
    }
    let mut weights = Weights::default();
    for value in headers.get_all(ACCEPT_ENCODING) {
        // A value that is not text names no coding.
        weights.add(value.to_str().unwrap_or(""));
    }
    let chosen = ContentCoding::ALL
        .iter()
        .filter(|coding| offered.contains(**coding))
        .filter_map(|coding| Some((*coding, weights.of_coding(*coding)?)))
        .filter(|(_, weight)| *weight > 0)
        // `max_by_key` keeps the last of equals: walk the preference order backwards.
        .rev()
        .max_by_key(|(_, weight)| *weight);
    match chosen {
        Some((coding, _)) => Negotiated::Set(HeaderValue::from_static(coding.name())),
        None if weights.identity_refused() => {
            Negotiated::Set(HeaderValue::from_static("identity;q=0"))
        }
        None => Negotiated::Remove,
    }
}

/// The weights an `Accept-Encoding` value gives, in thousandths.
#[derive(Debug, Default)]
struct Weights {
    codings: [Option<u16>; 4],
    identity: Option<u16>,
    wildcard: Option<u16>,
}

impl Weights {
    fn add(&mut self, text: &str) {
        for item in text.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let weight = match parts.find_map(|param| {
                let (name, value) = param.split_once('=')?;
                name.trim().eq_ignore_ascii_case("q").then(|| value.trim())
            }) {
                None => 1000,
                Some(text) => match qvalue(text) {
                    Some(weight) => weight,
                    None => continue,
                },
            };
            let slot = if coding == "*" {
                &mut self.wildcard
            } else if coding.eq_ignore_ascii_case("identity") {
                &mut self.identity
            } else if let Some(index) = ContentCoding::ALL.iter().position(|known| {
                known.name().eq_ignore_ascii_case(coding)
                    || (*known == ContentCoding::Gzip && coding.eq_ignore_ascii_case("x-gzip"))
            }) {
                &mut self.codings[index]
            } else {
                continue;
            };
            *slot = Some(slot.map_or(weight, |seen| seen.max(weight)));
        }
    }

    fn of_coding(&self, coding: ContentCoding) -> Option<u16> {
        let index = ContentCoding::ALL
            .iter()
            .position(|known| *known == coding)?;
        self.codings[index].or(self.wildcard)
    }

    /// `identity;q=0`, or `*;q=0` without identity named: no unencoded answer is acceptable.
    fn identity_refused(&self) -> bool {
        self.identity.or(self.wildcard) == Some(0)
    }
}

/// A qvalue (`0`, `0.5`, `1.000`) in thousandths; `None` when malformed.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(offered: ContentCodings, text: &str) -> String {
        let mut headers = HeaderMap::new();
        for line in text.split('\n') {
            headers.append(
                ACCEPT_ENCODING,
                HeaderValue::from_str(line).expect("valid value"),
            );
        }
        match negotiate(&headers, offered) {
            Negotiated::Keep => text.to_owned(),
            Negotiated::Set(value) => value.to_str().expect("ascii").to_owned(),
            Negotiated::Remove => String::new(),
        }
    }

    fn all(text: &str) -> String {
        with(ContentCodings::ALL, text)
    }

    #[test]
    fn the_highest_weight_wins_and_ties_follow_the_preference_order() {
        assert_eq!(all("gzip, deflate, br, zstd"), "br");
        assert_eq!(all("gzip;q=0.9, br;q=0.1"), "gzip");
        assert_eq!(all("x-gzip, sdch"), "gzip");
        assert_eq!(all("GZIP;Q=1.0 , zstd"), "zstd");
        assert_eq!(all("gzip"), "gzip");
    }

    #[test]
    fn only_offered_codings_are_chosen() {
        let no_br = ContentCodings::ALL.with(ContentCoding::Br, false);
        assert_eq!(with(no_br, "br, gzip;q=0.5"), "gzip");
        assert_eq!(with(no_br, "br"), "");
        assert_eq!(with(ContentCodings::NONE, "gzip, br"), "");
    }

    #[test]
    fn the_wildcard_and_identity_are_understood() {
        assert_eq!(all("*;q=0.2, gzip;q=0.1"), "br");
        assert_eq!(all("identity"), "");
        assert_eq!(all("br;q=0, identity"), "");
        assert_eq!(all("sdch, identity;q=0"), "identity;q=0");
        assert_eq!(all("*;q=0"), "identity;q=0");
        assert_eq!(all("*;q=0, identity"), "");
    }

    #[test]
    fn every_line_counts() {
        assert_eq!(all("gzip\nbr"), "br");
        assert_eq!(all("gzip\nx-anything-at-all"), "gzip");
    }

    #[test]
    fn malformed_weights_drop_their_element() {
        assert_eq!(all("gzip;q=2, deflate"), "deflate");
        assert_eq!(all("br;q=0.12345"), "");
        assert_eq!(all(";;;,,,"), "");
    }

    #[test]
    fn any_spelling_gives_one_of_five_answers() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..2_000u32 {
            let text = format!(
                "gzip;q=0.{}, br;q=0.{}, zstd;q=0.{}, deflate;q=0.{}, identity;q=0.{}",
                n % 10,
                n / 10 % 10,
                n / 100 % 10,
                n % 7,
                n % 3
            );
            seen.insert(all(&text));
        }
        assert!(seen.len() <= 5, "{seen:?}");
    }
}
