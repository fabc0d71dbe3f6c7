//! I/O EDGE: everything HTTP. The server and its routes copy what the refresh loop
//! published; `--web.config.file` (TLS, basic auth, rate limit, headers) is parsed here.
//! Nothing in this folder knows AWS.

pub mod config;
pub mod server;

pub use config::{WebConfig, WebConfigError};
pub use server::{Chunks, ServerSettings, accepts_gzip, handle, negotiate, run};
