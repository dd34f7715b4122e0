//! Checks made on a request's headers before its body is read: Host (DNS
//! rebinding), Origin (cross-site WebSockets), Content-Type (cross-site
//! POSTs), and request rates.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{header, Extensions, HeaderMap, StatusCode, Uri};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;

/// A refusal: the status and the error to answer with.
pub type Refusal = (StatusCode, AppError);

/// Whether `host` (a Host header or URI authority: name or address, with or
/// without a port) names this machine's loopback interface.
pub fn is_loopback_host(host: &str) -> bool {
    let name = host_name(host).to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    let bare = match name.strip_prefix('[') {
        Some(inner) => match inner.strip_suffix(']') {
            Some(inner) => inner,
            // An unclosed bracket names nothing.
            None => return false,
        },
        None => &name,
    };
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The name part of host[:port] ([v6]:port included).
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The Host a request names: its Host header, else its URI's authority
/// (HTTP/2). None when it names none (not a browser).
fn request_host(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.to_string()))
}

/// While the server runs without tokens, only requests naming a loopback
/// host or an --allowed-host are served: a page on evil.example whose name
/// resolves to 127.0.0.1 (DNS rebinding) names evil.example. Every Host
/// header counts, and the request target's authority when it has one, so
/// that a second header or an absolute-form target cannot slip one past.
pub fn check_host(headers: &HeaderMap, uri: &Uri, allowed: &[String]) -> Result<(), Refusal> {
    let named = headers
        .get_all(header::HOST)
        .iter()
        .map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned())
        .chain(uri.authority().map(|a| a.to_string()));
    for host in named {
        let name = host_name(&host);
        let listed = allowed.iter().any(|a| {
            let a = a.trim();
            a == "*" || a.eq_ignore_ascii_case(name) || a.eq_ignore_ascii_case(&host)
        });
        if !(is_loopback_host(&host) || listed) {
            return Err((
                StatusCode::FORBIDDEN,
                AppError::Forbidden(format!(
                    "Host {host:?} is not served while no API token exists: use localhost, or list it with --allowed-host"
                )),
            ));
        }
    }
    Ok(())
}

/// Whether a WebSocket upgrade may proceed from its Origin: none (not a
/// browser), the page's own origin, a --cors-origin, or, while the server
/// runs without tokens, a loopback page.
pub fn origin_allowed(headers: &HeaderMap, uri: &Uri, cors_origins: &[String], open: bool) -> bool {
    // Every Origin header must pass, so that a second one changes nothing.
    headers.get_all(header::ORIGIN).iter().all(|value| {
        value
            .to_str()
            .is_ok_and(|origin| one_origin_allowed(origin, headers, uri, cors_origins, open))
    })
}

fn one_origin_allowed(
    origin: &str,
    headers: &HeaderMap,
    uri: &Uri,
    cors_origins: &[String],
    open: bool,
) -> bool {
    let origin = origin.trim().trim_end_matches('/');
    if cors_origins
        .iter()
        .any(|o| o.trim() == "*" || o.trim().trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let same_origin =
        request_host(headers, uri).is_some_and(|host| host.eq_ignore_ascii_case(authority));
    same_origin || (open && is_loopback_host(authority))
}

/// GraphQL over HTTP POSTs must be `application/json`, which a browser sends
/// cross-site only after a CORS preflight; a form or `text/plain` POST needs
/// none, so it could write from any page the user visits. As Apollo Server's
/// CSRF prevention, a non-empty `Apollo-Require-Preflight` or
/// `X-Apollo-Operation-Name` header also proves a preflight happened.
pub fn check_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    // Given twice, a proxy and this server could each read another one.
    let single = headers.get_all(header::CONTENT_TYPE).iter().count() <= 1;
    let json = single
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    let preflighted = ["apollo-require-preflight", "x-apollo-operation-name"]
        .iter()
        .any(|name| headers.get(*name).is_some_and(|v| !v.is_empty()));
    if json || preflighted {
        return Ok(());
    }
    Err((
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        AppError::BadUserInput {
            field: None,
            message: "POST /graphql needs Content-Type: application/json (or a non-empty \
                      Apollo-Require-Preflight header, as multipart requests must send); \
                      requests a browser sends cross-site without a preflight are refused"
                .into(),
        },
    ))
}

/// Headers that must not be ambiguous: one Authorization (two could be read
/// differently by a proxy and by this server), and not both Content-Length
/// and Transfer-Encoding (RFC 9112, 6.3: a sign of request smuggling).
pub fn check_framing(headers: &HeaderMap) -> Result<(), AppError> {
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return Err(AppError::bad_input(
            "Authorization",
            "Authorization: given more than once; send one header",
        ));
    }
    if headers.contains_key(header::CONTENT_LENGTH)
        && headers.contains_key(header::TRANSFER_ENCODING)
    {
        return Err(AppError::BadUserInput {
            field: None,
            message: "a request may not carry both Content-Length and Transfer-Encoding".into(),
        });
    }
    Ok(())
}

/// The client's address: the last entry of the --client-ip-header when set
/// and present (the address the nearest proxy saw and appended: the entries
/// before it are whatever the client wrote), else the connection's peer
/// address.
pub fn client_address(
    headers: &HeaderMap,
    extensions: &Extensions,
    header_name: Option<&str>,
) -> Option<IpAddr> {
    if let Some(name) = header_name {
        let forwarded = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

/// Who a rate applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// SHA-256 of the token presented.
    Token([u8; 32]),
    Address(IpAddr),
}

/// Keys kept between cleanups; beyond, keys idle long enough to be back at
/// full burst are dropped.
const CLEAN_EVERY: usize = 4096;

/// Addresses kept in the penalty box at most; beyond, it starts over.
const MAX_PENALISED: usize = 65_536;

/// Requests per second per token and per address (keyed token buckets).
pub struct RateLimits {
    per_token: Option<DefaultKeyedRateLimiter<RateKey>>,
    per_address: Option<DefaultKeyedRateLimiter<RateKey>>,
    checks: AtomicUsize,
    /// Addresses whose failed authentications ran over the per-address rate,
    /// and until when they are refused: a client cycling made-up tokens
    /// would otherwise dodge the address limit and cost a lookup each.
    penalised: Mutex<HashMap<IpAddr, Instant>>,
}

impl RateLimits {
    /// Rates in requests per second; 0 turns a limit off. Bursts of twice
    /// the rate pass.
    pub fn new(per_token: u32, per_address: u32) -> Self {
        let limiter = |rate: u32| {
            let rate = NonZeroU32::new(rate)?;
            let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
            Some(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        };
        Self {
            per_token: limiter(per_token),
            per_address: limiter(per_address),
            checks: AtomicUsize::new(0),
            penalised: Mutex::default(),
        }
    }

    /// How long `address` stays refused for failed authentications, if it is.
    pub fn penalty(&self, address: IpAddr) -> Option<Duration> {
        let penalised = self.penalised.lock().unwrap_or_else(|e| e.into_inner());
        let until = *penalised.get(&address)?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failed authentication against `address`; Err: how long it
    /// is now refused.
    pub fn failed(&self, address: IpAddr) -> Result<(), Duration> {
        let wait = match self.check(RateKey::Address(address)) {
            Ok(()) => return Ok(()),
            Err(wait) => wait.max(Duration::from_secs(1)),
        };
        let mut penalised = self.penalised.lock().unwrap_or_else(|e| e.into_inner());
        if penalised.len() >= MAX_PENALISED {
            penalised.retain(|_, until| *until > Instant::now());
            if penalised.len() >= MAX_PENALISED {
                penalised.clear();
            }
        }
        penalised.insert(address, Instant::now() + wait);
        Err(wait)
    }

    /// Counts one request; Err: how long to wait before the next.
    pub fn check(&self, key: RateKey) -> Result<(), Duration> {
        let limiter = match key {
            RateKey::Token(_) => &self.per_token,
            RateKey::Address(_) => &self.per_address,
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % CLEAN_EVERY == CLEAN_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The refusal for a request over its rate.
pub fn too_many(wait: Duration) -> (StatusCode, AppError, u64) {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    (
        StatusCode::TOO_MANY_REQUESTS,
        AppError::RateLimited(format!(
            "too many requests; retry after {seconds} s (--rate-limit-per-token, --rate-limit-per-address)"
        )),
        seconds.max(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "localhost",
            "localhost:8080",
            "app.localhost:3000",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3",
            "[::1]:8080",
            "[::1]",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "10.0.0.1:8080",
            "[::2]:8080",
            "[::1",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn content_types_that_need_a_preflight_pass() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (k, v) in pairs {
                headers.insert(*k, v.parse().unwrap());
            }
            check_content_type(&headers).is_ok()
        };
        assert!(with(&[("content-type", "application/json")]));
        assert!(with(&[("content-type", "Application/JSON; charset=utf-8")]));
        assert!(with(&[
            ("content-type", "multipart/form-data; boundary=x"),
            ("apollo-require-preflight", "true")
        ]));
        assert!(with(&[
            ("content-type", "text/plain"),
            ("x-apollo-operation-name", "Q")
        ]));
        assert!(!with(&[("content-type", "text/plain")]));
        assert!(!with(&[(
            "content-type",
            "application/x-www-form-urlencoded"
        )]));
        assert!(!with(&[(
            "content-type",
            "multipart/form-data; boundary=x"
        )]));
        assert!(!with(&[("content-type", "application/jsonp")]));
        assert!(!with(&[]));
    }

    #[test]
    fn the_proxys_own_entry_names_the_client() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "10.0.0.1, 203.0.113.7".parse().unwrap());
        let address = client_address(&headers, &Extensions::new(), Some("x-forwarded-for"));
        assert_eq!(address, Some("203.0.113.7".parse().unwrap()));
        // Without the setting the header means nothing.
        assert_eq!(client_address(&headers, &Extensions::new(), None), None);
    }

    #[test]
    fn rates_refuse_beyond_the_burst() {
        let limits = RateLimits::new(0, 2);
        let key = RateKey::Address("192.0.2.1".parse().unwrap());
        for _ in 0..4 {
            assert!(limits.check(key).is_ok());
        }
        assert!(limits.check(key).is_err());
        // Failed authentications count against the address, then refuse it.
        let other = "192.0.2.9".parse().unwrap();
        let refused = (0..10).filter(|_| limits.failed(other).is_err()).count();
        assert!(refused > 0);
        assert!(limits.penalty(other).is_some());
        // Another address has its own bucket; tokens are unlimited here.
        assert!(limits
            .check(RateKey::Address("192.0.2.2".parse().unwrap()))
            .is_ok());
        for _ in 0..100 {
            assert!(limits.check(RateKey::Token([0; 32])).is_ok());
        }
    }
}
