//! `contacts.*` methods.

use grammers_tl_types as tl;
use grammers_tl_types::Identifiable;

use super::convert::messages::{Mentioned, peer};
use super::{Call, reply};
use crate::mtproto::RpcError;
use crate::network::{Peer, normalize_phone};

pub(super) async fn handle(call: &Call<'_>, id: u32) -> Result<Vec<u8>, RpcError> {
    use tl::functions::contacts;
    match id {
        contacts::GetContacts::CONSTRUCTOR_ID => {
            let contacts::GetContacts { hash: _ } = call.parse()?;
            let me = call.user()?;
            let found = call.net.contacts(me)?;
            let mut mentioned = Mentioned::default();
            let contacts = found
                .iter()
                .map(|user| {
                    mentioned.peer(Peer::User(user.id));
                    tl::types::Contact {
                        user_id: user.id,
                        mutual: call.net.is_contact(user.id, me),
                    }
                    .into()
                })
                .collect();
            reply(tl::enums::contacts::Contacts::Contacts(
                tl::types::contacts::Contacts {
                    contacts,
                    saved_count: 0,
                    users: mentioned.users(call.net, me),
                },
            ))
        }
        contacts::ResolveUsername::CONSTRUCTOR_ID => {
            let contacts::ResolveUsername {
                username,
                referer: _,
            } = call.parse()?;
            let me = call.user()?;
            let found = call
                .net
                .resolve_username(username.trim_start_matches('@'))?;
            let mut mentioned = Mentioned::default();
            mentioned.peer(found);
            reply(tl::enums::contacts::ResolvedPeer::Peer(
                tl::types::contacts::ResolvedPeer {
                    peer: peer(found),
                    chats: mentioned.chats(call.net, me),
                    users: mentioned.users(call.net, me),
                },
            ))
        }
        contacts::ImportContacts::CONSTRUCTOR_ID => {
            let contacts::ImportContacts { contacts } = call.parse()?;
            let me = call.user()?;
            let phones: Vec<(i64, String)> = contacts
                .iter()
                .map(|contact| match contact {
                    tl::enums::InputContact::InputPhoneContact(c) => {
                        (c.client_id, normalize_phone(&c.phone))
                    }
                })
                .collect();
            let list: Vec<String> = phones.iter().map(|(_, phone)| phone.clone()).collect();
            let users = call.net.import_contacts(me, &list)?;
            let mut mentioned = Mentioned::default();
            let imported = users
                .iter()
                .filter_map(|user| {
                    let phone = user.phone.as_deref()?;
                    let (client_id, _) = phones.iter().find(|(_, p)| p == phone)?;
                    mentioned.peer(Peer::User(user.id));
                    Some(
                        tl::types::ImportedContact {
                            user_id: user.id,
                            client_id: *client_id,
                        }
                        .into(),
                    )
                })
                .collect();
            reply(tl::enums::contacts::ImportedContacts::Contacts(
                tl::types::contacts::ImportedContacts {
                    imported,
                    popular_invites: Vec::new(),
                    retry_contacts: Vec::new(),
                    users: mentioned.users(call.net, me),
                },
            ))
        }
        _ => call.unknown(),
    }
}
