//! Who is on the other end of a request, for throttling and the audit trail. Behind a
//! TLS-terminating proxy every connection comes from the proxy, so the client's address is
//! read from the header the proxy appends, but only when the connection comes from a proxy
//! listed in `TRUSTED_PROXIES`: anyone else could write any address there. The header is read
//! from the right (the entry our own proxy appended) leftwards, past every trusted hop, to the
//! first address that is not ours: entries further left were written by the client and prove
//! nothing.

use axum::http::HeaderMap;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// An address block written `address/prefix` (a bare address is a block of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    network: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask(u128::from(u32::from(net)), self.prefix, 32)
                    == mask(u128::from(u32::from(ip)), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask(u128::from(net), self.prefix, 128) == mask(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn mask(bits: u128, prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let keep = u32::from(prefix.min(width));
    let all = if width == 32 {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    };
    bits & (all << (u32::from(width) - keep)) & all
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network = canonical(
            address
                .parse::<IpAddr>()
                .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?,
        );
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("{text:?}: the prefix must be 0-{width}"))?,
        };
        Ok(Self { network, prefix })
    }
}

/// Parses `TRUSTED_PROXIES`: comma-separated blocks, e.g. `10.0.0.0/8, ::1`.
pub fn parse_list(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(IpNet::from_str)
        .collect()
}

/// Which header the trusted proxy appends the client's address to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, most load balancers).
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for="[2001:db8::1]:443"`.
    Forwarded,
}

impl ProxyHeader {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!("{other:?} is not x-forwarded-for or forwarded")),
        }
    }
}

/// The client's address: the peer itself unless the peer is a trusted proxy, else the
/// rightmost address in the proxy's header that is not a trusted proxy.
pub fn client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ProxyHeader,
) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let entries: Vec<Option<IpAddr>> = match header {
        ProxyHeader::XForwardedFor => headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|value| value.to_str().unwrap_or("").split(','))
            .map(parse_node)
            .collect(),
        ProxyHeader::Forwarded => headers
            .get_all("forwarded")
            .iter()
            .flat_map(|value| value.to_str().unwrap_or("").split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| parse_node(value))
            })
            .collect(),
    };
    let mut client = peer;
    for entry in entries.into_iter().rev() {
        // Garbage (or `unknown`) was written by whoever sent the request to the last trusted
        // hop: that hop is the best we know.
        let Some(ip) = entry else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// One node of either header: `192.0.2.1`, `192.0.2.1:443`, `[2001:db8::1]:443`,
/// `"[2001:db8::1]"`, `2001:db8::1`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok().map(canonical);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// IPv4 addresses that arrive mapped into IPv6 (`::ffff:192.0.2.1`) are the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// What login throttling counts failures against: an IPv4 address, or the /64 an IPv6 address
/// belongs to (one subscriber usually holds a whole /64 and can pick any address in it).
pub fn throttle_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & (u128::MAX << 64);
            format!("{}/64", Ipv6Addr::from(network))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_contain_their_addresses() {
        let nets = parse_list("10.0.0.0/8, 127.0.0.1 ,fd00::/8").unwrap();
        assert!(nets[0].contains(ip("10.200.3.4")));
        assert!(!nets[0].contains(ip("11.0.0.1")));
        assert!(nets[1].contains(ip("127.0.0.1")));
        assert!(!nets[1].contains(ip("127.0.0.2")));
        assert!(nets[2].contains(ip("fd12::1")));
        assert!(!nets[2].contains(ip("10.0.0.1")));
        assert!(nets[0].contains(ip("::ffff:10.1.2.3")), "IPv4-mapped");
        assert!(parse_list("0.0.0.0/0").unwrap()[0].contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x", "::/129"] {
            assert!(parse_list(bad).is_err(), "{bad}");
        }
        assert!(parse_list("").unwrap().is_empty());
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = parse_list("10.0.0.1").unwrap();
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            client_ip(
                ip("198.51.100.7"),
                &spoofed,
                &trusted,
                ProxyHeader::XForwardedFor
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &spoofed, &[], ProxyHeader::XForwardedFor),
            ip("10.0.0.1"),
            "no trusted proxies: the header is never read"
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let trusted = parse_list("10.0.0.0/8").unwrap();
        let xff = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.7")]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &xff, &trusted, ProxyHeader::XForwardedFor),
            ip("203.0.113.9"),
            "1.1.1.1 was written by the client and is ignored"
        );
        let split = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9:5555"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &split, &trusted, ProxyHeader::XForwardedFor),
            ip("203.0.113.9")
        );
        let garbage = headers(&[("x-forwarded-for", "1.1.1.1, nonsense, 10.0.0.9")]);
        assert_eq!(
            client_ip(
                ip("10.0.0.1"),
                &garbage,
                &trusted,
                ProxyHeader::XForwardedFor
            ),
            ip("10.0.0.9")
        );
        let empty = headers(&[]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &empty, &trusted, ProxyHeader::XForwardedFor),
            ip("10.0.0.1")
        );
        let forwarded = headers(&[(
            "forwarded",
            "for=1.1.1.1, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.2",
        )]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &forwarded, &trusted, ProxyHeader::Forwarded),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            client_ip(
                ip("10.0.0.1"),
                &forwarded,
                &trusted,
                ProxyHeader::XForwardedFor
            ),
            ip("10.0.0.1"),
            "only the configured header is read"
        );
    }

    #[test]
    fn ipv6_clients_are_throttled_per_slash_64() {
        assert_eq!(throttle_key(ip("203.0.113.9")), "203.0.113.9");
        assert_eq!(throttle_key(ip("::ffff:203.0.113.9")), "203.0.113.9");
        assert_eq!(
            throttle_key(ip("2001:db8:1:2:aaaa::1")),
            throttle_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_eq!(throttle_key(ip("2001:db8:1:2::1")), "2001:db8:1:2::/64");
        assert_ne!(
            throttle_key(ip("2001:db8:1:2::1")),
            throttle_key(ip("2001:db8:1:3::1"))
        );
    }
}
