//! Posters: which formats and language sets exist, the address a person types by hand, and
//! what an onion address must look like. Keeps rule `reporter-anonymity`: a poster carries
//! the intake address exactly as configured (no tracking parameter), and an onion address
//! that is not one is refused before anything is printed.

string_enum!(
    /// A printable size: A4 and A3 posters, and a small card (A6 flyer).
    PosterFormat {
        A4 => "a4",
        A3 => "a3",
        Card => "card",
    }
);

string_enum!(
    /// The languages one poster speaks: one of the four, or the combined versions a
    /// bilingual (Brussels) or a mixed site hangs up.
    PosterSet {
        En => "en",
        Nl => "nl",
        Fr => "fr",
        De => "de",
        NlFr => "nl-fr",
        All => "nl-fr-de-en",
    }
);

impl PosterSet {
    /// The language codes, in the order the poster shows them.
    pub fn codes(self) -> &'static [&'static str] {
        match self {
            PosterSet::En => &["en"],
            PosterSet::Nl => &["nl"],
            PosterSet::Fr => &["fr"],
            PosterSet::De => &["de"],
            PosterSet::NlFr => &["nl", "fr"],
            PosterSet::All => &["nl", "fr", "de", "en"],
        }
    }
}

/// The address to type by hand: without `https://` (browsers add it) and without a
/// trailing slash; an `http://` address keeps its scheme, which a browser would not guess.
pub fn short_address(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    url.strip_prefix("https://").unwrap_or(url).to_owned()
}

/// Why a configured onion address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnionError {
    #[error("is not a URL: {0}")]
    NotUrl(String),
    #[error("must start with http:// or https://")]
    Scheme,
    #[error("its host must end in .onion (an onion service address)")]
    NotOnion,
    #[error("must be the service's address alone, without user, query or fragment")]
    Extra,
}

/// An onion service address (`http(s)://….onion`, optionally a path), as the `Onion-Location`
/// header and the posters use it: no trailing slash, so a request's path can be appended.
pub fn parse_onion_url(text: &str) -> Result<String, OnionError> {
    let parsed = url::Url::parse(text.trim()).map_err(|e| OnionError::NotUrl(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(OnionError::Scheme);
    }
    let host = parsed.host_str().unwrap_or("");
    let label = host.strip_suffix(".onion").unwrap_or("");
    if label.is_empty() || label.ends_with('.') {
        return Err(OnionError::NotOnion);
    }
    if !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(OnionError::Extra);
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// True when a request's `Host` is an onion address: the page is then already served over
/// Tor and needs no `Onion-Location`.
pub fn is_onion_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    name.trim_end_matches('.')
        .to_ascii_lowercase()
        .ends_with(".onion")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONION: &str = "vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion";

    #[test]
    fn onion_addresses_are_checked() {
        assert_eq!(
            parse_onion_url(&format!("http://{ONION}/")).unwrap(),
            format!("http://{ONION}")
        );
        assert_eq!(
            parse_onion_url(&format!("https://{ONION}/speakup")).unwrap(),
            format!("https://{ONION}/speakup")
        );
        for bad in [
            "example.org",
            "https://example.org",
            "https://onion",
            "https://.onion",
            &format!("ftp://{ONION}"),
            &format!("http://{ONION}/?utm=1"),
            &format!("http://me@{ONION}"),
        ] {
            assert!(parse_onion_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn short_addresses_drop_only_what_a_browser_adds() {
        assert_eq!(
            short_address("https://speak.example.org/"),
            "speak.example.org"
        );
        assert_eq!(
            short_address("http://speak.example.org"),
            "http://speak.example.org"
        );
    }

    #[test]
    fn onion_hosts_are_recognised_with_or_without_a_port() {
        assert!(is_onion_host(&format!("{ONION}:80")));
        assert!(is_onion_host(&ONION.to_uppercase()));
        assert!(!is_onion_host("example.org"));
        assert!(!is_onion_host("onion.example.org:443"));
    }

    #[test]
    fn every_set_speaks_known_languages() {
        for s in PosterSet::ALL {
            assert!(!s.codes().is_empty());
            assert_eq!(s.as_str().split('-').count(), s.codes().len());
        }
    }
}
