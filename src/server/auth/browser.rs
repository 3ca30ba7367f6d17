//! What a web browser can be made to send on a page's behalf, refused where it would
//! work: on a server without authentication, and with basic credentials.
//!
//! - A page on another site can make a browser send "simple" requests (a form post, a
//!   `fetch` with `mode: "no-cors"`, such as `POST .../bulk/delete` with a text body)
//!   without asking the server first. The browser attaches what it holds for the
//!   server's origin — HTTP basic credentials a user typed into its prompt — and with
//!   `--no-auth` nothing is needed at all. The server answers no cross-origin browser
//!   request (it sends no CORS headers, so none could read an answer anyway), so such
//!   requests are refused: `Sec-Fetch-Site` says so, or, from a browser too old to send
//!   it, an `Origin` that is not the `Host`. A bearer token or `X-Auth-Key` is never
//!   attached by a browser on its own, and a page that sets one must ask the server
//!   first (a CORS preflight, which gets no approval), so those are not checked.
//! - With `--no-auth`, a page can also rebind its own host name to 127.0.0.1 (DNS
//!   rebinding) and then talk to the server "same-origin" from the browser's point of
//!   view. The browser still sends the page's host name in `Host`, so a server without
//!   authentication answers only requests addressed to a loopback name or address.
//!
//! Clients that are not browsers send neither `Sec-Fetch-Site` nor `Origin`.

use std::net::Ipv6Addr;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

/// Fetch metadata (W3C): where the request comes from, as the browser sees it.
static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Why a request from a browser on another site's behalf is refused, if it is one.
pub(crate) fn cross_site(headers: &HeaderMap) -> Option<String> {
    if let Some(site) = headers.get(&SEC_FETCH_SITE) {
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
    if is_loopback_host(host.as_bytes()) {
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
/// themselves), `127.x.y.z` or `[::1]`, each with an optional port. By hand, on bytes:
/// this runs on every request of a server without authentication, and splitting and
/// the standard address parsers cost several times as much.
fn is_loopback_host(host: &[u8]) -> bool {
    if host.first() == Some(&b'[') {
        let Some(close) = host.iter().position(|&b| b == b']') else {
            return false;
        };
        let port = &host[close + 1..];
        let port_ok = port.is_empty()
            || port
                .split_first()
                .is_some_and(|(c, p)| *c == b':' && is_port(p));
        return port_ok
            && std::str::from_utf8(&host[1..close])
                .ok()
                .and_then(|ip| ip.parse::<Ipv6Addr>().ok())
                .is_some_and(|ip| ip.is_loopback());
    }
    let name = match host.iter().rposition(|&b| b == b':') {
        Some(colon) if is_port(&host[colon + 1..]) => &host[..colon],
        Some(_) => return false,
        None => host,
    };
    if name.first().is_some_and(u8::is_ascii_digit) {
        return is_loopback_ipv4(name);
    }
    const SUFFIX: &[u8] = b".localhost";
    name.eq_ignore_ascii_case(b"localhost")
        || (name.len() > SUFFIX.len()
            && name[name.len() - SUFFIX.len()..].eq_ignore_ascii_case(SUFFIX))
}

/// `127.a.b.c` in dotted decimal, as `Ipv4Addr` parses it (no leading zeros).
fn is_loopback_ipv4(name: &[u8]) -> bool {
    let (mut dots, mut value, mut digits, mut leading_zero) = (0, 0u16, 0, false);
    for &b in name {
        match b {
            b'0'..=b'9' => {
                if leading_zero {
                    return false;
                }
                leading_zero = digits == 0 && b == b'0';
                value = value * 10 + u16::from(b - b'0');
                digits += 1;
                if value > 255 {
                    return false;
                }
            }
            b'.' if digits > 0 && (dots > 0 || value == 127) => {
                (dots, value, digits, leading_zero) = (dots + 1, 0, 0, false);
            }
            _ => return false,
        }
    }
    dots == 3 && digits > 0
}

/// 1 to 5 digits, at most 65535.
fn is_port(s: &[u8]) -> bool {
    matches!(s.len(), 1..=5)
        && s.iter().all(u8::is_ascii_digit)
        && s.iter().fold(0u32, |n, &b| n * 10 + u32::from(b - b'0')) <= 65535
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
            "App.LocalHost",
            "127.0.0.1",
            "127.0.0.1:8787",
            "127.1.2.3:80",
            "127.255.255.255",
            "[::1]",
            "[::1]:8787",
        ] {
            assert!(is_loopback_host(host.as_bytes()), "{host}");
        }
        for host in [
            "evil.test",
            "evil.test:8787",
            "localhost.evil.test",
            "localhost.",
            ".localhost",
            "évil.localhos",
            "127.0.0.1.evil.test",
            "127.0.0.1.",
            "127.0.0",
            "127.0.0.256",
            "127.0.0.01",
            "127.0.0.+1",
            "127..0.1",
            "128.0.0.1",
            "1270.0.0.1",
            "0.0.0.0:8787",
            "10.0.0.1",
            "[::]:8787",
            "[::ffff:127.0.0.1]:1",
            "[::1]x",
            "[::1]8787",
            "localhost:notaport",
            "localhost:99999",
            "localhost:",
            "localhost:123456",
            "[::1]:",
            "",
        ] {
            assert!(!is_loopback_host(host.as_bytes()), "{host}");
        }
    }

    #[test]
    fn the_hand_parser_agrees_with_ipv4addr() {
        for a in [
            "0", "1", "9", "10", "99", "100", "255", "256", "00", "01", "999",
        ] {
            for b in ["0", "255", "256", "007"] {
                let name = format!("127.{a}.{b}.1");
                let std = name
                    .parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|ip| ip.is_loopback());
                assert_eq!(is_loopback_ipv4(name.as_bytes()), std, "{name}");
            }
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
