//! URLs as the server may print them: without what can carry a secret (user name and
//! password, query string, fragment), for logs, errors and `Debug`.

use reqwest::Url;

/// `url` without user info, query or fragment; each part removed is marked, so that a
/// reader knows it was there (`https://<redacted>@idp.test/jwks?<redacted>`). A string
/// that is not a URL is not printed at all.
pub(crate) fn redacted_url(url: &str) -> String {
    let Ok(parsed) = Url::parse(url) else {
        return "<not a URL>".to_owned();
    };
    let userinfo = if parsed.username().is_empty() && parsed.password().is_none() {
        ""
    } else {
        "<redacted>@"
    };
    let host = parsed.host_str().unwrap_or_default();
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let query = if parsed.query().is_some() {
        "?<redacted>"
    } else {
        ""
    };
    let fragment = if parsed.fragment().is_some() {
        "#<redacted>"
    } else {
        ""
    };
    format!(
        "{}://{userinfo}{host}{port}{}{query}{fragment}",
        parsed.scheme(),
        parsed.path()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_removed_and_marked() {
        assert_eq!(
            redacted_url("https://user:hunter2@idp.test:8443/jwks?token=t0p#frag"),
            "https://<redacted>@idp.test:8443/jwks?<redacted>#<redacted>"
        );
        assert_eq!(
            redacted_url("https://idp.test/.well-known/jwks.json"),
            "https://idp.test/.well-known/jwks.json"
        );
        assert_eq!(
            redacted_url("http://[::1]:9/k"),
            "http://[::1]:9/k",
            "IPv6 hosts keep their brackets"
        );
        assert_eq!(redacted_url("hunter2"), "<not a URL>");
    }
}
