//! Where a shared library lives and how to reach it: the address (a `postgres://` URL, which is
//! what Shelfmark remembers, never with a password), the password (from the URL, the window,
//! `PGPASSWORD` or `~/.pgpass`, as libpq finds it), and TLS as libpq's `sslmode` means it.
//!
//! rust-postgres reads neither `PGPASSWORD` nor `~/.pgpass` and knows only `disable`, `prefer`
//! and `require`; this module does the rest. `require` encrypts without checking the server's
//! certificate (unless a root certificate is named, then it checks it as `verify-ca` does, as
//! libpq does); `verify-ca` checks the certificate against `sslrootcert`; `verify-full` also
//! checks that it names the host.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;

/// How long connecting may take before the server counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TlsMode {
    Disable,
    /// Encrypt if the server offers it (libpq's default).
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    fn parse(text: &str) -> Option<TlsMode> {
        Some(match text {
            "disable" => TlsMode::Disable,
            // `allow` tries without TLS first; preferring TLS is no less safe.
            "allow" | "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }
}

/// A shared library's address. It holds no password: it is what is remembered and shown.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServerAddress {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub tls: TlsMode,
    /// The CA certificate that signs the server's (`sslrootcert`).
    pub root_cert: Option<PathBuf>,
}

/// Why a `postgres://` address cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("{0} is not a postgres:// address")]
    NotAnAddress(String),
    #[error("the address names no server")]
    NoHost,
    #[error("sslmode={0} is not one of disable, prefer, require, verify-ca, verify-full")]
    TlsMode(String),
    #[error("the address sets {0}, which Shelfmark does not know")]
    UnknownSetting(String),
}

impl ServerAddress {
    /// Whether `text` is meant as a server address (rather than a file name).
    pub fn is_address(text: &str) -> bool {
        let t = text.trim_start();
        t.starts_with("postgres://") || t.starts_with("postgresql://")
    }

    /// Reads `postgres://[USER[:PASSWORD]@]HOST[:PORT][/DBNAME][?sslmode=…&sslrootcert=…]`; the
    /// password, if the address has one, is returned apart.
    pub fn parse(text: &str) -> Result<(ServerAddress, Option<String>), AddressError> {
        let url = url::Url::parse(text.trim())
            .map_err(|_| AddressError::NotAnAddress(text.to_owned()))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(AddressError::NotAnAddress(text.to_owned()));
        }
        let decode = percent_decode;
        let host = match url.host() {
            Some(url::Host::Domain(d)) => decode(d),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => return Err(AddressError::NoHost),
        };
        if host.is_empty() {
            return Err(AddressError::NoHost);
        }
        let user = match decode(url.username()) {
            u if u.is_empty() => whoami::username().unwrap_or_else(|_| "postgres".to_owned()),
            u => u,
        };
        let password = url.password().map(decode);
        let database = match decode(url.path().trim_start_matches('/')) {
            d if d.is_empty() => user.clone(),
            d => d,
        };
        let mut address = ServerAddress {
            host,
            port: url.port().unwrap_or(5432),
            database,
            user,
            tls: TlsMode::default(),
            root_cert: None,
        };
        for (key, value) in url.query_pairs() {
            match &*key {
                "sslmode" => {
                    address.tls = TlsMode::parse(&value)
                        .ok_or_else(|| AddressError::TlsMode(value.to_string()))?;
                }
                "sslrootcert" => address.root_cert = Some(PathBuf::from(&*value)),
                // Shelfmark names its own connections.
                "application_name" | "connect_timeout" => {}
                other => return Err(AddressError::UnknownSetting(other.to_owned())),
            }
        }
        Ok((address, password))
    }

    /// "library on db.example.org": how a shared library is named to people.
    pub fn display_name(&self) -> String {
        format!("{} on {}", self.database, self.host)
    }

    /// The rust-postgres settings for this address (TLS is set up by [`tls_connector`]).
    pub(crate) fn config(&self, password: Option<&str>, application: &str) -> postgres::Config {
        let mut c = postgres::Config::new();
        c.host(&self.host)
            .port(self.port)
            .dbname(&self.database)
            .user(&self.user)
            .application_name(application)
            .connect_timeout(CONNECT_TIMEOUT)
            // A line that went dead (no reset, no answer) is noticed within seconds, not hours.
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(2))
            .keepalives_interval(Duration::from_secs(1))
            .keepalives_retries(2)
            .tcp_user_timeout(Duration::from_secs(5))
            .ssl_mode(match self.tls {
                TlsMode::Disable => postgres::config::SslMode::Disable,
                TlsMode::Prefer => postgres::config::SslMode::Prefer,
                TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => {
                    postgres::config::SslMode::Require
                }
            });
        if let Some(p) = password {
            c.password(p);
        }
        c
    }

    /// The TLS connector for this address's `sslmode`.
    pub(crate) fn tls_connector(&self) -> Result<MakeTlsConnector, openssl::error::ErrorStack> {
        let mut builder = SslConnector::builder(SslMethod::tls_client())?;
        let root = self.root_cert.clone().or_else(|| {
            // libpq's default place for it.
            let default = directories::BaseDirs::new()?
                .home_dir()
                .join(".postgresql/root.crt");
            (matches!(self.tls, TlsMode::VerifyCa | TlsMode::VerifyFull) && default.exists())
                .then_some(default)
        });
        let verify = match self.tls {
            TlsMode::VerifyCa | TlsMode::VerifyFull => true,
            // As libpq: `require` with a root certificate named checks the chain.
            TlsMode::Require => root.is_some(),
            TlsMode::Disable | TlsMode::Prefer => false,
        };
        if let Some(root) = &root {
            builder.set_ca_file(root)?;
        }
        builder.set_verify(if verify {
            SslVerifyMode::PEER
        } else {
            SslVerifyMode::NONE
        });
        let mut connector = MakeTlsConnector::new(builder.build());
        let check_host = self.tls == TlsMode::VerifyFull;
        connector.set_callback(move |config, _domain| {
            config.set_verify_hostname(check_host);
            Ok(())
        });
        Ok(connector)
    }

    /// The password libpq would use when the address and the window give none: `PGPASSWORD`,
    /// then the first matching line of the password file (`PGPASSFILE` or `~/.pgpass`, which
    /// like libpq is ignored if others may read it).
    pub fn stored_password(&self) -> Option<String> {
        if let Ok(p) = std::env::var("PGPASSWORD")
            && !p.is_empty()
        {
            return Some(p);
        }
        let file = std::env::var_os("PGPASSFILE")
            .map(PathBuf::from)
            .or_else(|| Some(directories::BaseDirs::new()?.home_dir().join(".pgpass")))?;
        if !private(&file) {
            return None;
        }
        let text = std::fs::read_to_string(&file).ok()?;
        pgpass_lookup(&text, self)
    }
}

/// Only the owner may read it (libpq ignores a password file others can read).
fn private(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file).is_ok_and(|m| m.permissions().mode().trailing_zeros() >= 6)
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The password of the first line of a `.pgpass` text that matches (fields
/// `host:port:database:user:password`, `*` matching anything, `\` escaping `:` and `\`).
fn pgpass_lookup(text: &str, a: &ServerAddress) -> Option<String> {
    let port = a.port.to_string();
    let wanted = [a.host.as_str(), port.as_str(), &a.database, &a.user];
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() != 5 {
            continue;
        }
        let matches = fields[..4].iter().zip(wanted).all(|(field, want)| {
            field == "*" || field == want || (want == "127.0.0.1" && field == "localhost")
        });
        if matches {
            return Some(fields[4].clone());
        }
    }
    None
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next()
                    && let Some(f) = fields.last_mut()
                {
                    f.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

/// What a user or database name keeps as it is in an address.
const NAME: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// ... and a file name, with its slashes.
const FILE: &percent_encoding::AsciiSet = &NAME.remove(b'/');

impl fmt::Display for ServerAddress {
    /// The address as a URL, without a password: what is remembered and shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, NAME).to_string();
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "postgres://{}@{host}", enc(&self.user))?;
        if self.port != 5432 {
            write!(f, ":{}", self.port)?;
        }
        write!(f, "/{}", enc(&self.database))?;
        let mut sep = '?';
        if self.tls != TlsMode::Prefer {
            write!(f, "{sep}sslmode={}", self.tls.name())?;
            sep = '&';
        }
        if let Some(root) = &self.root_cert {
            let path = root.display().to_string();
            write!(
                f,
                "{sep}sslrootcert={}",
                percent_encoding::utf8_percent_encode(&path, FILE)
            )?;
        }
        Ok(())
    }
}

impl fmt::Debug for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_and_written_without_their_password() {
        let (a, p) = ServerAddress::parse(
            "postgres://circ%20desk:s3cr%40t@db.example.org:5433/main%20library?sslmode=verify-full&sslrootcert=/etc/ca.pem",
        )
        .unwrap();
        assert_eq!(a.host, "db.example.org");
        assert_eq!(a.port, 5433);
        assert_eq!(a.user, "circ desk");
        assert_eq!(a.database, "main library");
        assert_eq!(a.tls, TlsMode::VerifyFull);
        assert_eq!(a.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(p.as_deref(), Some("s3cr@t"));
        let shown = a.to_string();
        assert!(!shown.contains("s3cr"), "{shown}");
        assert_eq!(ServerAddress::parse(&shown).unwrap(), (a, None));

        let (a, p) = ServerAddress::parse("postgresql://lib@127.0.0.1/shelf").unwrap();
        assert_eq!((a.port, a.tls, p), (5432, TlsMode::Prefer, None));
        assert_eq!(a.to_string(), "postgres://lib@127.0.0.1/shelf");
        let (a, _) = ServerAddress::parse("postgres://lib@[::1]:6000/x").unwrap();
        assert_eq!(a.host, "::1");
        assert_eq!(a.to_string(), "postgres://lib@[::1]:6000/x");

        assert!(matches!(
            ServerAddress::parse("postgres://h/db?sslmode=sometimes"),
            Err(AddressError::TlsMode(_))
        ));
        assert!(matches!(
            ServerAddress::parse("postgres://h/db?options=-c%20x"),
            Err(AddressError::UnknownSetting(_))
        ));
        assert!(ServerAddress::parse("/home/me/library.sqlite3").is_err());
        assert!(ServerAddress::is_address("postgres://x/y"));
        assert!(!ServerAddress::is_address("library.sqlite3"));
    }

    #[test]
    fn pgpass_lines_match_like_libpq() {
        let (a, _) = ServerAddress::parse("postgres://lib@db.example.org/shelf").unwrap();
        let text = "# comment\n\
                    other.host:*:*:*:nope\n\
                    db.example.org:5432:shelf:lib:pa\\:ss\\\\word\n\
                    *:*:*:*:fallback\n";
        assert_eq!(pgpass_lookup(text, &a).as_deref(), Some("pa:ss\\word"));
        let (b, _) = ServerAddress::parse("postgres://someone@else/db").unwrap();
        assert_eq!(pgpass_lookup(text, &b).as_deref(), Some("fallback"));
        assert_eq!(pgpass_lookup("db.example.org:5432:shelf:lib", &a), None);
    }
}
