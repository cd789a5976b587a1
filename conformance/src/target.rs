//! The server under test, as given on the command line.

/// Where the server under test lives: `http://host:port/prefix`.
#[derive(Clone, Debug)]
pub struct Target {
    /// Host to connect to (without IPv6 brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `host:port` exactly as written in the URL, used for `Host:`.
    pub authority: String,
    /// Path prefix without a trailing slash (often empty).
    pub prefix: String,
}

impl Target {
    /// Parses an `http://host[:port][/prefix]` URL.
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(format!("{url}: missing host"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, tail) = v6
                .split_once(']')
                .ok_or_else(|| format!("{url}: bad IPv6 host"))?;
            let port = match tail.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| format!("{url}: bad port"))?,
                None => 80,
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse().map_err(|_| format!("{url}: bad port"))?,
                ),
                None => (authority.to_string(), 80),
            }
        };
        Ok(Target {
            host,
            port,
            authority: authority.to_string(),
            prefix: path.trim_end_matches('/').to_string(),
        })
    }

    /// `http://host:port` — what a browser would send as `Origin`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.authority)
    }
}
