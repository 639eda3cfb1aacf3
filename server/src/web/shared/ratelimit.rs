//! Rate limits on reporter submissions (POST only): one budget per client and one for
//! everybody, because behind a Tor onion service every client is the onion proxy; and a
//! separate per-client budget for reporter reads of a case (GET: the mailbox, each item,
//! each download), so one client cannot keep the database busy for everyone. The
//! per-client limit is checked first, so a request it refuses spends nothing of the shared
//! budget: one flooding client cannot close the intake for everyone else. The client is the
//! peer, or, only when the peer is a configured trusted proxy, the rightmost address in
//! `X-Forwarded-For` that is not itself a trusted proxy; IPv6 clients count per /64 (one
//! household or host gets a whole /64). Keeps reporter-anonymity: the limiter holds keys in
//! memory only, for the length of the window; they are never logged or stored. A 429
//! becomes a localized page in `web::error`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request};
use governor::middleware::NoOpMiddleware;
use tower_governor::GovernorError;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::{GlobalKeyExtractor, KeyExtractor};

/// The period between two refills. In nanoseconds, so it is never zero for any `u32` rate
/// (the configuration also refuses rates above `config::MAX_RATE_PER_MINUTE`).
fn period(per_minute: u32) -> Duration {
    Duration::from_nanos(60_000_000_000 / u64::from(per_minute.max(1)))
}

/// Whom a request counts against: an IPv4 address, or the /64 network of an IPv6 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4([u8; 4]),
    V6Net([u8; 8]),
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match ip {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => {
                let mut net = [0u8; 8];
                net.copy_from_slice(&v6.octets()[..8]);
                Self::V6Net(net)
            }
        }
    }
}

/// The client behind a request: the peer itself unless the peer is a trusted proxy; then the
/// rightmost `X-Forwarded-For` entry that is not a trusted proxy (entries to its left could
/// be written by the client). A trusted peer without a usable header counts as itself.
pub fn client_key(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> ClientKey {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|t| same_host(t, ip));
    if !is_trusted(&peer) {
        return peer.into();
    }
    let mut forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().parse::<IpAddr>())
        .collect::<Vec<_>>();
    while let Some(last) = forwarded.pop() {
        match last {
            Ok(ip) if is_trusted(&ip) => continue,
            Ok(ip) => return ip.into(),
            // Garbage where an address should be: the chain cannot be followed further.
            Err(_) => break,
        }
    }
    peer.into()
}

fn same_host(a: &IpAddr, b: &IpAddr) -> bool {
    let canonical = |ip: &IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(*ip, IpAddr::V4),
        v4 => *v4,
    };
    canonical(a) == canonical(b)
}

/// Keys requests by `client_key`, with the trusted proxies from the configuration.
#[derive(Debug, Clone)]
pub struct ClientKeyExtractor {
    trusted: Arc<[IpAddr]>,
}

impl KeyExtractor for ClientKeyExtractor {
    type Key = ClientKey;

    fn extract<T>(&self, req: &Request<T>) -> Result<ClientKey, GovernorError> {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or(GovernorError::UnableToExtractKey)?;
        Ok(client_key(peer, req.headers(), &self.trusted))
    }
}

/// The per-client budget of POSTs (submissions, the officer login).
pub fn per_client(
    per_minute: u32,
    trusted: &[IpAddr],
) -> GovernorLayer<ClientKeyExtractor, NoOpMiddleware, Body> {
    client_limiter(per_minute, trusted, vec![Method::POST])
}

/// The per-client budget of reporter reads (GETs of routes that read a case). Its own
/// limiter, so reading never spends the budget for submissions, nor the other way round;
/// there is no global read budget to spend. HEAD counts too: axum answers it with the GET
/// handler, which does the same reading.
pub fn reads(
    per_minute: u32,
    trusted: &[IpAddr],
) -> GovernorLayer<ClientKeyExtractor, NoOpMiddleware, Body> {
    client_limiter(per_minute, trusted, vec![Method::GET, Method::HEAD])
}

fn client_limiter(
    per_minute: u32,
    trusted: &[IpAddr],
    methods: Vec<Method>,
) -> GovernorLayer<ClientKeyExtractor, NoOpMiddleware, Body> {
    let config = GovernorConfigBuilder::default()
        .key_extractor(ClientKeyExtractor {
            trusted: trusted.into(),
        })
        .period(period(per_minute))
        .burst_size(per_minute.max(1))
        .methods(methods)
        .finish();
    match config {
        Some(c) => {
            let limiter = c.limiter().clone();
            // Forget clients whose window has passed, so none lingers in memory.
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
            });
            GovernorLayer::new(c)
        }
        None => unreachable!("period and burst are never zero"),
    }
}

pub fn global(per_minute: u32) -> GovernorLayer<GlobalKeyExtractor, NoOpMiddleware, Body> {
    let config = GovernorConfigBuilder::default()
        .key_extractor(GlobalKeyExtractor)
        .period(period(per_minute))
        .burst_size(per_minute.max(1))
        .methods(vec![Method::POST])
        .finish();
    match config {
        Some(c) => GovernorLayer::new(c),
        None => unreachable!("period and burst are never zero"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_never_zero() {
        for rate in [1, 60_000, 100_000, u32::MAX] {
            assert!(period(rate) > Duration::ZERO, "{rate}");
        }
    }

    fn xff(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", value.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.5".parse().unwrap();
        let h = xff("6.6.6.6, 203.0.113.5, 10.0.0.1");
        assert_eq!(client_key(proxy, &h, &[proxy]), client.into());
        assert_eq!(client_key(proxy, &h, &[]), proxy.into());
        assert_eq!(client_key(client, &xff("6.6.6.6"), &[proxy]), client.into());
        assert_eq!(client_key(proxy, &xff("nonsense"), &[proxy]), proxy.into());
        assert_eq!(client_key(proxy, &HeaderMap::new(), &[proxy]), proxy.into());
    }

    #[test]
    fn ipv6_counts_per_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::from(a), ClientKey::from(b));
        assert_ne!(ClientKey::from(a), ClientKey::from(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(ClientKey::from(mapped), ClientKey::V4([192, 0, 2, 1]));
    }
}
