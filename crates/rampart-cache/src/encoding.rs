//! `Accept-Encoding` in one canonical spelling, so that equivalent headers share a variant.

use http::HeaderValue;

/// The codings an encoder below can choose from, in the order the canonical form lists them.
const CODINGS: [&str; 5] = ["br", "zstd", "gzip", "deflate", "identity"];

/// The canonical form of an `Accept-Encoding` value: each known coding with the weight the
/// header gives it (explicitly or through `*`), in a fixed order, without unknown codings,
/// whitespace or redundant weights; `None` when the value is unreadable or already canonical.
///
/// Two headers with the same canonical form leave an encoder that knows only these codings the
/// same choice, so the cache can store one variant for both: `gzip, br` and `br,gzip;q=1`
/// become `br,gzip`. Nothing is added that the client did not say (no implicit identity), so
/// the encoder's own reading of the header is unchanged. The request's own header is replaced by this form, so the encoder
/// below sees exactly what the variant was keyed on.
pub(crate) fn canonical(value: &HeaderValue) -> Option<HeaderValue> {
    // One coding, as most clients that are not browsers send it: canonical already.
    if CODINGS
        .iter()
        .any(|coding| value.as_bytes() == coding.as_bytes())
    {
        return None;
    }
    let text = value.to_str().ok()?;
    let mut weights: [Option<u16>; 5] = [None; 5];
    let mut wildcard = None;
    for item in text.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        if coding.is_empty() {
            continue;
        }
        let weight = parts
            .find_map(|param| {
                let (name, value) = param.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| qvalue(value.trim()))
            })
            .unwrap_or(Some(1000))?;
        if coding == "*" {
            wildcard = Some(weight);
        } else if let Some(index) = CODINGS.iter().position(|known| {
            known.eq_ignore_ascii_case(coding)
                || (*known == "gzip" && coding.eq_ignore_ascii_case("x-gzip"))
        }) {
            weights[index] = Some(weights[index].map_or(weight, |seen| seen.max(weight)));
        }
    }
    let mut out = String::with_capacity(40);
    for (index, coding) in CODINGS.iter().enumerate() {
        let weight = weights[index].or(wildcard);
        // Identity keeps an explicit zero: `identity;q=0` refuses an unencoded answer, while
        // leaving identity out accepts one. For the others, zero and absence are the same.
        let shown = match weight {
            Some(0) => *coding == "identity",
            Some(_) => true,
            None => false,
        };
        if !shown {
            continue;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(coding);
        let weight = weight.unwrap_or(1000);
        if weight < 1000 {
            let digits = format!("{weight:03}");
            out.push_str(";q=0");
            if weight > 0 {
                out.push('.');
                out.push_str(digits.trim_end_matches('0'));
            }
        }
    }
    if out.as_bytes() == value.as_bytes() {
        // Already canonical (`br`, `gzip`): the request keeps its own header.
        return None;
    }
    HeaderValue::from_str(&out).ok()
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

    fn canon(text: &str) -> Option<String> {
        let value = HeaderValue::from_str(text).expect("valid value");
        let canonical = canonical(&value).unwrap_or(value);
        Some(canonical.to_str().expect("ascii").to_owned())
    }

    #[test]
    fn equivalent_headers_share_one_form() {
        assert_eq!(canon("gzip, br").as_deref(), Some("br,gzip"));
        assert_eq!(canon("br;q=1.0 ,GZIP").as_deref(), Some("br,gzip"));
        assert_eq!(canon("x-gzip, br, sdch").as_deref(), Some("br,gzip"));
    }

    #[test]
    fn weights_are_kept_and_zero_drops_a_coding() {
        assert_eq!(canon("gzip;q=0.5, br;q=0").as_deref(), Some("gzip;q=0.5"));
        assert_eq!(
            canon("identity;q=0, gzip").as_deref(),
            Some("gzip,identity;q=0")
        );
    }

    #[test]
    fn the_wildcard_covers_codings_not_named() {
        assert_eq!(
            canon("*;q=0.2, gzip").as_deref(),
            Some("br;q=0.2,zstd;q=0.2,gzip,deflate;q=0.2,identity;q=0.2")
        );
        assert_eq!(canon("gzip, *;q=0").as_deref(), Some("gzip,identity;q=0"));
    }

    #[test]
    fn malformed_weights_are_unreadable() {
        let unreadable = |text| canonical(&HeaderValue::from_static(text));
        assert_eq!(unreadable("gzip;q=2"), None);
        assert_eq!(unreadable("gzip;q=0.12345"), None);
    }

    #[test]
    fn a_canonical_header_is_left_alone() {
        assert_eq!(canonical(&HeaderValue::from_static("br,gzip")), None);
        assert_eq!(canon("br,gzip").as_deref(), Some("br,gzip"));
    }
}
