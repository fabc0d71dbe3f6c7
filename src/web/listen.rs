//! `--web.listen-address`: what it may say, and binding it the way the Go exporters do.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

/// The backlog Go and tokio use.
const BACKLOG: i32 = 1024;

/// `:PORT` (every interface, IPv4 and IPv6), `HOST:PORT` with an IPv4 address or a host
/// name, or `[IPv6]:PORT`. A host name is resolved when binding, not when parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddress {
    /// `None` for every interface.
    pub host: Option<String>,
    pub port: u16,
}

/// Why a listen address does not parse; the message names the expected forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not HOST:PORT (e.g. :9741, 127.0.0.1:9741, [::1]:9741 or localhost:9741)")]
pub struct ListenAddressError(String);

impl FromStr for ListenAddress {
    type Err = ListenAddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ListenAddressError(s.chars().take(200).collect());
        let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let host = if host.is_empty() {
            None
        } else if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            v6.parse::<Ipv6Addr>().map_err(|_| bad())?;
            Some(v6.to_owned())
        } else if host.parse::<Ipv4Addr>().is_ok() || is_host_name(host) {
            Some(host.to_owned())
        } else {
            return Err(bad()); // e.g. an IPv6 address without brackets
        };
        Ok(ListenAddress { host, port })
    }
}

/// RFC 1123 letters, digits, `-` and `.` (and `_`, which resolvers accept).
fn is_host_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            None => write!(f, ":{}", self.port),
            Some(h) if h.contains(':') => write!(f, "[{h}]:{}", self.port),
            Some(h) => write!(f, "{h}:{}", self.port),
        }
    }
}

/// Binds `address` as Go's `net.Listen("tcp", ...)` does:
/// * no host: `[::]:PORT` with `IPV6_V6ONLY` off, so IPv4 and IPv6 clients both connect;
///   where IPv6 is absent (no IPv6 socket or address), `0.0.0.0:PORT`;
/// * an IP address: that address only (`0.0.0.0:9741` stays IPv4-only);
/// * a host name: resolved now, IPv4 addresses first, and the first address that binds is
///   used (one listener, like Go: `localhost` gives 127.0.0.1 where it resolves to both).
///
/// `SO_REUSEADDR` is set (as tokio and Go do) so a restart does not wait for TIME_WAIT.
pub async fn bind(address: &ListenAddress) -> io::Result<TcpListener> {
    let Some(host) = &address.host else {
        return bind_dual_stack(
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, address.port)),
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, address.port)),
        );
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return bind_socket(SocketAddr::from((ip, address.port)));
    }
    let mut candidates: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), address.port))
        .await?
        .collect();
    candidates.sort_by_key(|a| a.is_ipv6()); // stable: IPv4 first, resolver order kept
    let mut last = io::Error::new(
        io::ErrorKind::NotFound,
        format!("{host} resolves to no address"),
    );
    for candidate in candidates {
        match bind_socket(candidate) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// `v6` (which, with `IPV6_V6ONLY` off, takes IPv4 clients too), else `v4` when the IPv6
/// socket cannot be made or bound for a reason other than the port (no IPv6 in the kernel,
/// no IPv6 address). A port in use or a privileged port is reported, not hidden.
fn bind_dual_stack(v6: SocketAddr, v4: SocketAddr) -> io::Result<TcpListener> {
    match bind_socket(v6) {
        Err(e)
            if !matches!(
                e.kind(),
                io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied
            ) =>
        {
            tracing::debug!(error = %e, "no IPv6; listening on IPv4 only");
            bind_socket(v4)
        }
        other => other,
    }
}

fn bind_socket(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        // `[::]` means both families, as in Go; harmless on a specific address.
        socket.set_only_v6(false)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpStream;

    fn la(host: Option<&str>, port: u16) -> ListenAddress {
        ListenAddress {
            host: host.map(str::to_owned),
            port,
        }
    }

    #[test]
    fn listen_addresses_parse_and_print_back() {
        let cases = [
            (":9741", la(None, 9741)),
            ("0.0.0.0:9741", la(Some("0.0.0.0"), 9741)),
            ("127.0.0.1:0", la(Some("127.0.0.1"), 0)),
            ("[::1]:9741", la(Some("::1"), 9741)),
            ("[::]:9741", la(Some("::"), 9741)),
            ("localhost:9741", la(Some("localhost"), 9741)),
            (
                "exporter-1.example.com:80",
                la(Some("exporter-1.example.com"), 80),
            ),
        ];
        for (text, want) in cases {
            let got: ListenAddress = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string(), text);
        }
    }

    #[test]
    fn malformed_listen_addresses_are_refused_naming_the_forms() {
        for text in [
            "nowhere",
            "9741",
            ":",
            ":99999",
            ":-1",
            "localhost:",
            "::1:9741",
            "[::1:9741",
            "[127.0.0.1]:9741",
            "a b:9741",
            "host..name:9741",
            "ex/ample:9741",
        ] {
            let e = text.parse::<ListenAddress>().unwrap_err();
            assert!(e.to_string().contains("HOST:PORT"), "{text}: {e}");
        }
    }

    async fn connects(addr: SocketAddr) -> bool {
        TcpStream::connect(addr).await.is_ok()
    }

    #[tokio::test]
    async fn an_ip_address_binds_that_address_and_reports_the_real_port() {
        let listener = bind(&la(Some("127.0.0.1"), 0)).await.unwrap();
        let local = listener.local_addr().unwrap();
        assert_eq!(local.ip(), Ipv4Addr::LOCALHOST);
        assert_ne!(local.port(), 0);
        assert!(connects(local).await);
    }

    #[tokio::test]
    async fn a_host_name_is_resolved_at_bind_time() {
        let listener = bind(&la(Some("localhost"), 0)).await.unwrap();
        let local = listener.local_addr().unwrap();
        assert!(local.ip().is_loopback(), "{local}");
        assert!(connects(local).await);
    }

    #[tokio::test]
    async fn a_host_name_that_does_not_resolve_is_an_error() {
        assert!(bind(&la(Some("no-such-host.invalid"), 0)).await.is_err());
    }

    /// `bind(:PORT)` would listen on every interface, which tests must not; the same code
    /// runs here on loopback: `::ffff:127.0.0.1` is only reachable over IPv4 when the IPv6
    /// socket takes IPv4 clients.
    #[tokio::test]
    async fn the_ipv6_socket_takes_ipv4_clients_too() {
        if std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_err() {
            eprintln!("skipped: no IPv6 on this machine");
            return;
        }
        let mapped = SocketAddr::from((Ipv4Addr::LOCALHOST.to_ipv6_mapped(), 0));
        let listener = bind_dual_stack(mapped, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
        let local = listener.local_addr().unwrap();
        assert!(local.is_ipv6(), "fell back to IPv4: {local}");
        assert!(connects(SocketAddr::from((Ipv4Addr::LOCALHOST, local.port()))).await);
        let v6 = bind(&la(Some("::1"), 0)).await.unwrap();
        assert!(connects(v6.local_addr().unwrap()).await);
    }

    #[tokio::test]
    async fn without_ipv6_the_ipv4_address_is_bound() {
        // 2001:db8::/32 is for documentation: never a local address, so binding fails
        // the way it does on a host without IPv6.
        let unbindable = SocketAddr::from(("2001:db8::1".parse::<Ipv6Addr>().unwrap(), 0));
        let listener =
            bind_dual_stack(unbindable, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
        let local = listener.local_addr().unwrap();
        assert_eq!(local.ip(), Ipv4Addr::LOCALHOST);
        assert!(connects(local).await);
    }

    #[tokio::test]
    async fn a_port_in_use_is_reported_not_hidden_by_the_fallback() {
        let taken = bind(&la(Some("127.0.0.1"), 0)).await.unwrap();
        let port = taken.local_addr().unwrap().port();
        let mapped = SocketAddr::from((Ipv4Addr::LOCALHOST.to_ipv6_mapped(), port));
        let e = bind_dual_stack(mapped, SocketAddr::from((Ipv4Addr::LOCALHOST, port))).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
    }
}
