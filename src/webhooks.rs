//! Webhooks on the wire: Standard Webhooks signatures, the targets a
//! webhook may (not) point at, and the HTTP client that POSTs deliveries.
//!
//! A URL is checked when a trigger is written and again at every attempt,
//! after DNS resolution: the client resolves names through
//! [`GuardedResolver`], which refuses a name with any refused address, and
//! it connects only to the addresses it checked (no second lookup a DNS
//! rebinding could change). Redirects are not followed and no proxy is used.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sha2::Sha256;

use crate::domain::trigger::{Attempt, MAX_URL, WebhookSecret};

/// sign is one Standard Webhooks signature, `v1,<base64 HMAC-SHA256>` over
/// `<id>.<timestamp>.<body>`.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.bytes()).expect("HMAC takes any key");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// signature_header signs with each secret (the current one first, then a
/// rotated one still honoured), space-separated as the spec allows.
pub fn signature_header(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| sign(secret, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// TargetPolicy says which addresses webhooks may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Loopback, private, link-local… targets and plain http are allowed
    /// (local development, the sandbox).
    pub allow_private: bool,
}

/// refused_ip says why an address is not a public one, if it is not.
pub fn refused_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return refused_v4(v4);
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("the unspecified address")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a private address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                // NAT64 reaches IPv4 hosts: judge the embedded address.
                let [.., a, b] = v6.segments();
                refused_v4(Ipv4Addr::new(
                    (a >> 8) as u8,
                    a as u8,
                    (b >> 8) as u8,
                    b as u8,
                ))
            } else {
                None
            }
        }
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        // 169.254.169.254 and kin: cloud metadata lives here.
        Some("a link-local (metadata) address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a carrier-grade NAT address")
    } else if ip.is_unspecified() || a == 0 {
        Some("the unspecified address")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("a broadcast, multicast or reserved address")
    } else if ip == Ipv4Addr::new(100, 100, 100, 200) || ip == Ipv4Addr::new(192, 0, 0, 192) {
        Some("a metadata address")
    } else {
        None
    }
}

/// refused_name says why a host name is refused without resolving it.
fn refused_name(host: &str) -> Option<&'static str> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let local = host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".internal")
        || host == "metadata";
    local.then_some("a local or metadata host name")
}

impl TargetPolicy {
    /// check_url checks a webhook URL as written: https (http only where
    /// private targets are allowed), a host, no credentials, and not an
    /// address or name that is refused.
    pub fn check_url(&self, url: &str) -> Result<Url, String> {
        if url.chars().count() > MAX_URL {
            return Err(format!("must be at most {MAX_URL} characters"));
        }
        let parsed = Url::parse(url).map_err(|err| format!("not a URL: {err}"))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            "http" => return Err("must be an https URL".into()),
            _ => return Err("must be an https URL".into()),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("must not carry credentials".into());
        }
        let host = parsed.host().ok_or("must name a host")?;
        if self.allow_private {
            return Ok(parsed);
        }
        let why = match host {
            url::Host::Ipv4(ip) => refused_ip(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => refused_ip(IpAddr::V6(ip)),
            url::Host::Domain(name) => refused_name(name),
        };
        match why {
            Some(why) => Err(format!("points at {why}, which webhooks may not reach")),
            None => Ok(parsed),
        }
    }
}

/// GuardedResolver resolves a webhook's host and refuses it when any of
/// its addresses is refused.
struct GuardedResolver {
    policy: TargetPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !policy.allow_private {
                check_resolved(&host, &addrs)?;
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// check_resolved refuses a host when its name, or any address it
/// resolved to, is refused.
fn check_resolved(host: &str, addrs: &[SocketAddr]) -> Result<(), String> {
    if let Some(why) = refused_name(host) {
        return Err(format!("{host} is {why}"));
    }
    match addrs
        .iter()
        .find_map(|addr| refused_ip(addr.ip()).map(|why| (addr, why)))
    {
        Some((addr, why)) => Err(format!("{host} resolves to {} ({why})", addr.ip())),
        None => Ok(()),
    }
}

/// WebhookClient POSTs signed deliveries.
#[derive(Clone)]
pub struct WebhookClient {
    client: reqwest::Client,
    policy: TargetPolicy,
    timeout: Duration,
}

/// Request is one attempt to send.
pub struct Request<'a> {
    pub url: &'a str,
    pub id: &'a str,
    pub body: &'a [u8],
    pub secrets: &'a [WebhookSecret],
}

impl WebhookClient {
    pub fn new(policy: TargetPolicy, timeout: Duration) -> anyhow::Result<WebhookClient> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("tezgram-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .build()?;
        Ok(WebhookClient {
            client,
            policy,
            timeout,
        })
    }

    pub fn policy(&self) -> TargetPolicy {
        self.policy
    }

    /// post makes one attempt: the URL checked again, the body signed
    /// with a fresh timestamp.
    pub async fn post(&self, request: Request<'_>) -> Attempt {
        let at = chrono::Utc::now();
        let started = Instant::now();
        let attempt = |status: u16, error: String| Attempt {
            at,
            status,
            latency_ms: started.elapsed().as_millis().min(u128::from(u32::MAX)) as u32,
            error,
        };
        let url = match self.policy.check_url(request.url) {
            Ok(url) => url,
            Err(why) => return attempt(0, format!("refused: the URL {why}")),
        };
        let timestamp = at.timestamp();
        let signature = signature_header(request.secrets, request.id, timestamp, request.body);
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", request.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(request.body.to_vec())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    attempt(status.as_u16(), String::new())
                } else {
                    attempt(status.as_u16(), format!("HTTP {}", status.as_u16()))
                }
            }
            Err(err) if err.is_timeout() => {
                attempt(0, format!("timeout after {}s", self.timeout.as_secs()))
            }
            Err(err) => attempt(0, describe(&err)),
        }
    }
}

/// describe is a transport error with its causes (the resolver's refusal
/// is one of them).
fn describe(err: &reqwest::Error) -> String {
    let mut text = String::from(if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    });
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_specs_test_vector() {
        // From the Standard Webhooks specification.
        let secret = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            sign(&secret, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
        let other = WebhookSecret::generate();
        let both = signature_header(
            &[secret, other],
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            body,
        );
        assert!(both.starts_with("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw= v1,"));
    }

    #[test]
    fn private_and_metadata_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "100.100.100.200",
        ] {
            assert!(refused_ip(ip.parse().unwrap()).is_some(), "{ip}");
        }
        for ip in ["8.8.8.8", "2001:4860:4860::8888", "149.154.167.50"] {
            assert_eq!(refused_ip(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn urls_are_checked_as_written() {
        let strict = TargetPolicy {
            allow_private: false,
        };
        assert!(strict.check_url("https://crm.example.com/hooks/tg").is_ok());
        for bad in [
            "http://crm.example.com/hook",
            "https://127.0.0.1/hook",
            "https://[::1]/hook",
            "https://10.0.0.7/hook",
            "https://localhost:8443/hook",
            "https://metadata.google.internal/computeMetadata",
            "https://user:pw@crm.example.com/hook",
            "ftp://crm.example.com/hook",
            "not a url",
        ] {
            assert!(strict.check_url(bad).is_err(), "{bad}");
        }
        let open = TargetPolicy {
            allow_private: true,
        };
        assert!(open.check_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(open.check_url("ftp://127.0.0.1/hook").is_err());
    }

    #[test]
    fn resolved_addresses_are_checked_too() {
        let at = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 443);
        assert!(check_resolved("crm.example.com", &[at("93.184.216.34")]).is_ok());
        let err = check_resolved("rebind.example.com", &[at("93.184.216.34"), at("10.0.0.1")])
            .unwrap_err();
        assert!(err.contains("10.0.0.1"), "{err}");
        assert!(check_resolved("db.internal", &[at("93.184.216.34")]).is_err());
    }

    #[tokio::test]
    async fn a_name_resolving_to_a_refused_address_is_not_reached() {
        let client = WebhookClient::new(
            TargetPolicy {
                allow_private: false,
            },
            Duration::from_secs(2),
        )
        .unwrap();
        let secret = WebhookSecret::generate();
        // A name of this machine that /etc/hosts maps to loopback is not
        // refused by its name: by what it resolves to.
        let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let alias = hosts.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            let ip: IpAddr = words.next()?.parse().ok()?;
            let name = words.find(|n| refused_name(n).is_none())?;
            (ip.is_loopback() && !line.starts_with('#')).then(|| name.to_owned())
        });
        let mut urls = vec!["https://127.0.0.1.:1/hook".to_owned()];
        urls.extend(alias.map(|name| format!("https://{name}:1/hook")));
        for url in &urls {
            let attempt = client
                .post(Request {
                    url: url.as_str(),
                    id: "msg_1",
                    body: b"{}",
                    secrets: std::slice::from_ref(&secret),
                })
                .await;
            assert_eq!(attempt.status, 0);
            assert!(
                attempt.error.contains("refused") || attempt.error.contains("resolves to"),
                "{url}: {}",
                attempt.error
            );
        }
    }
}
