//! I/O EDGE: everything HTTP. It serves what the refresh loop published and knows nothing
//! of AWS.
//!
//! * [`listen`]: `--web.listen-address` and binding it (both IP families, host names);
//! * [`server`]: the accept loop, plain or TLS connections, graceful shutdown;
//! * [`routes`]: `/metrics`, `/`, `/healthz`, `/readyz`;
//! * [`negotiate`]: exposition format from `Accept`, gzip or identity from `Accept-Encoding`;
//! * [`client`]: who a request comes from, for fairness and rate limits;
//! * [`config`]: the `--web.config.file` format (exporter-toolkit), validated at start-up,
//!   and what it turns into: `tls` (rustls), `auth` (basic auth, whose checks `verify`
//!   schedules), `rate_limit`, `headers`.

mod auth;
pub mod client;
pub mod config;
mod headers;
pub mod listen;
pub mod negotiate;
mod rate_limit;
pub mod routes;
pub mod server;
#[cfg(test)]
mod test_support;
mod tls;
mod verify;

pub use auth::Auth;
pub use client::Client;
pub use config::{WebConfig, WebConfigError};
pub use listen::{ListenAddress, ListenAddressError, bind};
pub use negotiate::{Coding, content_coding, negotiate};
pub use routes::{Chunks, handle};
pub use server::{ServerSettings, Timeouts, run};
