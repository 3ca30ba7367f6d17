//! What a web browser can be made to send on a page's behalf, refused before any
//! credentials are looked at.
//!
//! - A page on another site can make a browser send "simple" requests (a form post, a
//!   `fetch` with `mode: "no-cors"`, such as `POST .../bulk/delete` with a text body)
//!   without asking the server first. The browser attaches what it holds for the
//!   server's origin — HTTP basic credentials a user typed into its prompt — and with
//!   `--no-auth` nothing is needed at all. The server answers no cross-origin browser
//!   request (it sends no CORS headers, so none could read an answer anyway), so such
//!   requests are refused: `Sec-Fetch-Site` says so, or, from a browser too old to send
//!   it, an `Origin` that is not the `Host`.
//! - With `--no-auth`, a page can also rebind its own host name to 127.0.0.1 (DNS
//!   rebinding) and then talk to the server "same-origin" from the browser's point of
//!   view. The browser still sends the page's host name in `Host`, so a server without
//!   authentication answers only requests addressed to a loopback name or address.
//!
//! Clients that are not browsers send neither `Sec-Fetch-Site` nor `Origin`.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderValue, header};

/// Why a request from a browser on another site's behalf is refused, if it is one.
pub(crate) fn cross_site(headers: &HeaderMap) -> Option<String> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            // The server's own page (/ui), or the user typing a URL.
            b"same-origin" | b"none" => None,
            _ => Some(format!(
                "cross-site request refused (Sec-Fetch-Site: {}): this server answers \
                 browsers only from its own origin",
                shown(site)
            )),
        };
    }
    let origin = headers.get(header::ORIGIN)?;
    let host = headers.get(header::HOST).map(HeaderValue::as_bytes);
    let authority = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, authority)| authority.as_bytes());
    match (authority, host) {
        (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host) => None,
        _ => Some(format!(
            "cross-origin request refused (Origin: {}): this server answers browsers only \
             from its own origin",
            shown(origin)
        )),
    }
}

/// With `--no-auth`: why a request not addressed to a loopback host is refused.
pub(crate) fn not_loopback_host(headers: &HeaderMap) -> Option<String> {
    // HTTP/1.0 clients may send no Host; browsers always do.
    let host = headers.get(header::HOST)?;
    if host.to_str().is_ok_and(is_loopback_host) {
        return None;
    }
    Some(format!(
        "request for host {} refused: a server running with --no-auth answers only \
         requests addressed to localhost or a loopback address (this protects it from \
         DNS rebinding by web pages)",
        shown(host)
    ))
}

/// `localhost`, `*.localhost` (RFC 6761 §6.3: browsers resolve these to loopback
/// themselves), `127.x.y.z` or `[::1]`, each with an optional port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((ip, port)) if port.is_empty() || port.strip_prefix(':').is_some_and(is_port) => {
                return ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            }
            _ => return false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return false,
            None => host,
        },
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn is_port(s: &str) -> bool {
    s.parse::<u16>().is_ok()
}

/// A header value as a message may quote it: bounded, lossy.
fn shown(value: &HeaderValue) -> String {
    let text = String::from_utf8_lossy(value.as_bytes());
    let mut text: String = text.chars().take(100).collect();
    if value.len() > text.len() {
        text.push('…');
    }
    format!("{text:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "localhost:8787",
            "LOCALHOST:1",
            "app.localhost:8787",
            "127.0.0.1",
            "127.0.0.1:8787",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:8787",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.test",
            "evil.test:8787",
            "localhost.evil.test",
            "localhost.",
            "127.0.0.1.evil.test",
            "0.0.0.0:8787",
            "10.0.0.1",
            "[::]:8787",
            "[::ffff:127.0.0.1]:1",
            "[::1]x",
            "[::1]8787",
            "localhost:notaport",
            "localhost:99999",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn cross_site_browser_requests() {
        assert_eq!(cross_site(&headers(&[])), None, "not a browser");
        assert_eq!(
            cross_site(&headers(&[("sec-fetch-site", "same-origin")])),
            None
        );
        assert_eq!(cross_site(&headers(&[("sec-fetch-site", "none")])), None);
        for site in ["cross-site", "same-site", "bogus"] {
            assert!(cross_site(&headers(&[("sec-fetch-site", site)])).is_some());
        }
        // Sec-Fetch-Site wins over Origin (a proxy may rewrite Host).
        assert_eq!(
            cross_site(&headers(&[
                ("sec-fetch-site", "same-origin"),
                ("origin", "https://kv.example.test"),
                ("host", "127.0.0.1:8787"),
            ])),
            None
        );
        // Without it, Origin must be the Host.
        assert_eq!(
            cross_site(&headers(&[
                ("origin", "http://127.0.0.1:8787"),
                ("host", "127.0.0.1:8787")
            ])),
            None
        );
        for origin in ["http://evil.test", "null", "http://127.0.0.1:9999"] {
            let why = cross_site(&headers(&[("origin", origin), ("host", "127.0.0.1:8787")]));
            assert!(why.is_some_and(|w| w.contains("cross-origin")), "{origin}");
        }
    }
}
