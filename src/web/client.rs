//! Who a request comes from, as the web edge's fairness and rate limits see it: the peer's
//! IP address, with IPv6 grouped by /64 (one host is usually given a whole /64, so finer
//! keys would let one host pose as 2^64 clients). IPv4-mapped IPv6 addresses count as IPv4.
//!
//! The server puts a [`Client`] into each request's extensions; the password-check queue
//! ([`super::verify`]) and the rate limit ([`super::rate_limit`]) key their state by it.

use std::net::{IpAddr, Ipv6Addr};

/// A client address, normalised (see the module doc). Copy, hashable, a few bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client(IpAddr);

impl Client {
    /// Requests that came without a peer address (handled in-process, as the benchmarks and
    /// unit tests do) share this one.
    pub const UNKNOWN: Client = Client(IpAddr::V6(Ipv6Addr::UNSPECIFIED));

    /// The client a peer address belongs to.
    pub fn from_ip(ip: IpAddr) -> Client {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Client(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                Client(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
        }
    }

    /// The client of a request: what the server recorded, else [`Client::UNKNOWN`].
    pub fn of<B>(req: &http::Request<B>) -> Client {
        req.extensions()
            .get::<Client>()
            .copied()
            .unwrap_or(Client::UNKNOWN)
    }
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(s: &str) -> Client {
        Client::from_ip(s.parse().unwrap())
    }

    #[test]
    fn ipv4_addresses_are_clients_of_their_own() {
        assert_ne!(client("127.0.0.1"), client("127.0.0.2"));
        assert_eq!(client("10.0.0.1").to_string(), "10.0.0.1");
    }

    #[test]
    fn ipv6_addresses_of_one_slash_64_are_one_client() {
        assert_eq!(client("2001:db8:1:2::1"), client("2001:db8:1:2:ffff::9"));
        assert_ne!(client("2001:db8:1:2::1"), client("2001:db8:1:3::1"));
        assert_eq!(client("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn an_ipv4_mapped_ipv6_address_is_the_ipv4_client() {
        assert_eq!(client("::ffff:192.0.2.7"), client("192.0.2.7"));
    }

    #[test]
    fn a_request_without_a_recorded_peer_is_the_unknown_client() {
        let mut req = http::Request::new(());
        assert_eq!(Client::of(&req), Client::UNKNOWN);
        req.extensions_mut().insert(client("192.0.2.7"));
        assert_eq!(Client::of(&req), client("192.0.2.7"));
    }
}
