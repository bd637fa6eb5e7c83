//! Sessions for the sandbox DC: the DH exchange checks Telegram's own RSA
//! keys, so a sandbox session gets a fresh random auth key made here and
//! registered with the sandbox (through its [`SandboxLink`]), and the
//! sandbox's MTProto address as its home DC. The rest of the path is the
//! production one.

use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;

use async_trait::async_trait;
use grammers_session::types::DcOption;
use rand::RngCore;
use tezgram_sandbox::{self as sandbox, DC_ID, SandboxLink};

use super::Error;
use super::accounts::Provisioner;
use super::session::SessionData;
use crate::domain::TenantId;

/// SandboxSessions provisions sessions on a sandbox DC, in-process or
/// standalone.
pub struct SandboxSessions {
    pub link: Arc<dyn SandboxLink>,
}

#[async_trait]
impl Provisioner for SandboxSessions {
    async fn new_session(&self, tenant: &TenantId) -> Result<SessionData, Error> {
        let mut key = [0u8; 256];
        rand::rng().fill_bytes(&mut key);
        // Registered for the tenant: it logs in only as the tenant's users.
        self.link
            .register_auth_key(tenant.as_str(), key)
            .await
            .map_err(|err| match err {
                sandbox::Error::Refused { code, message } => Error::Rejected {
                    code,
                    name: message,
                },
                sandbox::Error::Unavailable(message) => Error::Unavailable(message),
                other @ (sandbox::Error::Unauthorized | sandbox::Error::Internal(_)) => {
                    Error::Client(other.to_string())
                }
            })?;
        Ok(SessionData::for_dc(sandbox_dc_option(
            self.link.mtproto_addr(),
            key,
        )))
    }

    fn rehome(&self, data: &SessionData) -> Option<DcOption> {
        let dc = data.dc_options.get(&DC_ID)?;
        let here = sandbox_dc_option(self.link.mtproto_addr(), dc.auth_key?);
        (here.ipv4 != dc.ipv4).then_some(here)
    }
}

/// sandbox_dc_option is the DC entry of a sandbox session.
pub fn sandbox_dc_option(addr: SocketAddr, auth_key: [u8; 256]) -> DcOption {
    let (v4, port) = match addr {
        SocketAddr::V4(v4) => (*v4.ip(), v4.port()),
        SocketAddr::V6(v6) => (
            v6.ip()
                .to_ipv4_mapped()
                .unwrap_or(std::net::Ipv4Addr::LOCALHOST),
            v6.port(),
        ),
    };
    let v6 = match addr.ip() {
        IpAddr::V6(ip) => ip,
        IpAddr::V4(ip) => ip.to_ipv6_mapped(),
    };
    DcOption {
        id: DC_ID,
        ipv4: SocketAddrV4::new(v4, port),
        ipv6: SocketAddrV6::new(v6, port, 0, 0),
        auth_key: Some(auth_key),
    }
}
