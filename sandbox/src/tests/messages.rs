//! The sandbox DC's messaging, through the real grammers 0.11 client: two
//! logged-in sandbox users write to each other, and what one does (send,
//! edit, delete, read, type) reaches the other's live update stream; dialogs,
//! history and search show it; a user who was offline catches up through
//! getDifference when reconnecting; groups and supergroups reach members;
//! an uploaded document reaches the recipient and downloads byte for byte.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV6};
use std::sync::Arc;
use std::time::Duration;

use crate::mtproto::{AuthKeys, Dispatch, MtprotoServer, MtprotoServerOptions};
use crate::network::{self, Network, NewUser};
use crate::rpc::SandboxRpc;
use grammers_client::Client;
use grammers_client::message::InputMessage;
use grammers_client::sender::{SenderPool, UpdatesConfiguration};
use grammers_client::session::SessionData;
use grammers_client::session::storages::MemorySession;
use grammers_client::session::types::{DcOption, PeerId, PeerRef};
use grammers_client::tl;
use grammers_client::update::Update;
use rand::RngCore;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);
const API_ID: i32 = 12345;
const HOME_DC: i32 = crate::DC_ID;

/// Dc is a sandbox DC (network + MTProto server + dispatcher) on loopback.
struct Dc {
    net: Network,
    keys: AuthKeys,
    addr: SocketAddr,
}

impl Dc {
    async fn start() -> Dc {
        let net = Network::in_memory(network::Options::default());
        let rpc = SandboxRpc::new(net.clone());
        let keys = AuthKeys::new();
        let server = MtprotoServer::bind(
            MtprotoServerOptions::default(),
            keys.clone(),
            Arc::clone(&rpc) as Arc<dyn Dispatch>,
        )
        .await
        .unwrap();
        rpc.attach(server.handle());
        let addr = server.handle().local_addr();
        tokio::spawn(server.run());
        Dc { net, keys, addr }
    }

    /// user creates a sandbox user and logs a fresh auth key in as it.
    fn user(&self, phone: &str, first_name: &str, username: &str) -> Account {
        let user = self
            .net
            .create_user(NewUser {
                phone: phone.into(),
                first_name: first_name.into(),
                username: Some(username.into()),
                ..NewUser::default()
            })
            .unwrap();
        let mut key = [0u8; 256];
        rand::rng().fill_bytes(&mut key);
        let auth_key_id = self.keys.register(key);
        self.net.register_auth_key(auth_key_id, key, None);
        let sent = self.net.send_code(auth_key_id, phone).unwrap();
        let code = network::login_code(phone).unwrap();
        self.net
            .sign_in(auth_key_id, phone, &sent.phone_code_hash, &code)
            .unwrap();
        let SocketAddr::V4(ipv4) = self.addr else {
            panic!("the sandbox listens on IPv4 loopback");
        };
        let dc = DcOption {
            id: HOME_DC,
            ipv4,
            ipv6: SocketAddrV6::new(ipv4.ip().to_ipv6_mapped(), ipv4.port(), 0, 0),
            auth_key: Some(key),
        };
        let session = Arc::new(MemorySession::from(SessionData {
            home_dc: HOME_DC,
            dc_options: HashMap::from([(HOME_DC, dc)]),
            ..SessionData::default()
        }));
        Account {
            user,
            session,
            conn: None,
        }
    }
}

/// Account is a logged-in sandbox user and its (re)connectable client.
struct Account {
    user: network::User,
    session: Arc<MemorySession>,
    conn: Option<Connection>,
}

struct Connection {
    client: Client,
    updates: grammers_client::client::UpdateStream,
    runner: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.runner.abort();
    }
}

impl Account {
    /// connect opens a client on the account's session; with `catch_up`,
    /// its update stream first fetches what happened while it was away.
    async fn connect(&mut self, catch_up: bool) -> &Client {
        let pool = SenderPool::new(Arc::clone(&self.session), API_ID);
        let client = Client::new(pool.handle);
        let runner = tokio::spawn(pool.runner.run());
        let updates = client
            .stream_updates(pool.updates, UpdatesConfiguration { catch_up })
            .await
            .unwrap();
        // The pool connects on its first call; pushes need a live connection.
        within(client.invoke(&tl::functions::updates::GetState {}))
            .await
            .unwrap();
        self.conn = Some(Connection {
            client,
            updates,
            runner,
        });
        self.client()
    }

    fn client(&self) -> &Client {
        &self.conn.as_ref().expect("connected").client
    }

    /// disconnect saves the update state to the session and closes the client.
    async fn disconnect(&mut self) {
        let conn = self.conn.take().expect("connected");
        conn.updates.sync_update_state().await.unwrap();
        drop(conn);
    }

    /// next waits for the first update that `pick` accepts, skipping others.
    async fn next<T>(&mut self, mut pick: impl FnMut(Update) -> Option<T>) -> T {
        let updates = &mut self.conn.as_mut().expect("connected").updates;
        timeout(WAIT, async {
            loop {
                let update = updates.next().await.expect("the update stream is alive");
                if let Some(found) = pick(update) {
                    return found;
                }
            }
        })
        .await
        .expect("the update arrived in time")
    }

    fn peer_ref(&self) -> PeerRef {
        tl::types::InputPeerUser {
            user_id: self.user.id,
            access_hash: self.user.access_hash,
        }
        .into()
    }
}

/// new_message picks messages from others: a client's own sends come back
/// on its stream too (from the answers to its calls).
fn new_message(update: Update) -> Option<grammers_client::update::Message> {
    match update {
        Update::NewMessage(message) if !message.outgoing() => Some(message),
        _ => None,
    }
}

/// deletion picks deletions of messages; the affected-messages answers of a
/// client's own reads and deletes surface as empty ones.
fn deletion(update: Update) -> Option<grammers_client::update::MessageDeletion> {
    match update {
        Update::MessageDeleted(d) if !d.messages().is_empty() => Some(d),
        _ => None,
    }
}

fn raw(update: Update) -> Option<tl::enums::Update> {
    match update {
        Update::Raw(raw) => Some(raw.raw),
        _ => None,
    }
}

async fn within<F: std::future::IntoFuture>(f: F) -> F::Output {
    timeout(WAIT, f).await.expect("answered in time")
}

#[tokio::test]
async fn a_message_reaches_the_recipient_live_and_shows_in_dialogs_and_history() {
    let dc = Dc::start().await;
    let mut alice = dc.user("9996621001", "Alice", "alice");
    let mut bob = dc.user("9996621002", "Bob", "bobby");
    alice.connect(false).await;
    bob.connect(false).await;

    // Alice finds Bob by username, as a person would, and writes.
    let found = within(alice.client().resolve_username("bobby"))
        .await
        .unwrap()
        .expect("@bobby exists");
    assert_eq!(found.id(), PeerId::user(bob.user.id).unwrap());
    let to_bob = within(found.to_ref())
        .await
        .unwrap()
        .expect("a usable peer");
    let bold = tl::types::MessageEntityBold {
        offset: 0,
        length: 5,
    };
    let sent = within(
        alice.client().send_message(
            to_bob,
            InputMessage::new()
                .text("hello Bob")
                .fmt_entities(vec![bold.clone().into()]),
        ),
    )
    .await
    .unwrap();
    assert_eq!(sent.text(), "hello Bob");
    assert!(sent.outgoing());

    let received = bob.next(new_message).await;
    assert_eq!(received.text(), "hello Bob");
    assert!(!received.outgoing());
    assert_eq!(
        received.sender_id(),
        Some(PeerId::user(alice.user.id).unwrap())
    );
    assert_eq!(
        received.fmt_entities(),
        Some(&vec![bold.into()]),
        "entities come back as they were sent"
    );

    // Bob's chat list shows Alice's chat with one unread message.
    let mut dialogs = bob.client().iter_dialogs();
    let dialog = within(dialogs.next()).await.unwrap().expect("one dialog");
    assert_eq!(dialog.peer_id(), PeerId::user(alice.user.id).unwrap());
    let tl::enums::Dialog::Dialog(raw_dialog) = &dialog.raw else {
        panic!("a plain dialog");
    };
    assert_eq!(raw_dialog.unread_count, 1);
    assert_eq!(dialog.last_message.as_ref().unwrap().text(), "hello Bob");
    assert!(within(dialogs.next()).await.unwrap().is_none());

    // Five more; history pages newest first.
    for n in 1..=5 {
        within(alice.client().send_message(to_bob, format!("message {n}")))
            .await
            .unwrap();
    }
    let mut texts = Vec::new();
    let mut history = bob.client().iter_messages(alice.peer_ref());
    while let Some(message) = within(history.next()).await.unwrap() {
        texts.push(message.text().to_owned());
    }
    assert_eq!(
        texts,
        [
            "message 5",
            "message 4",
            "message 3",
            "message 2",
            "message 1",
            "hello Bob"
        ]
    );
    let ids: Vec<i32> = {
        let mut all = Vec::new();
        let mut history = bob.client().iter_messages(alice.peer_ref());
        while let Some(message) = within(history.next()).await.unwrap() {
            all.push(message.id());
        }
        all
    };
    // A page of two after the third newest, as a client pages by offset_id.
    let page = within(bob.client().invoke(&tl::functions::messages::GetHistory {
        peer: alice.peer_ref().into(),
        offset_id: ids[2],
        offset_date: 0,
        add_offset: 0,
        limit: 2,
        max_id: 0,
        min_id: 0,
        hash: 0,
    }))
    .await
    .unwrap();
    let tl::enums::messages::Messages::Slice(page) = page else {
        panic!("a slice of a longer history");
    };
    assert_eq!(page.count, 6);
    let page_ids: Vec<i32> = page
        .messages
        .iter()
        .map(|m| match m {
            tl::enums::Message::Message(m) => m.id,
            other => panic!("a plain message, got {other:?}"),
        })
        .collect();
    assert_eq!(page_ids, ids[3..5]);

    // Sending twice with the same random_id sends once.
    let send = tl::functions::messages::SendMessage {
        no_webpage: true,
        silent: false,
        background: false,
        clear_draft: false,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        allow_paid_floodskip: false,
        peer: to_bob.into(),
        reply_to: None,
        message: "only once".into(),
        random_id: 42,
        reply_markup: None,
        entities: None,
        schedule_date: None,
        schedule_repeat_period: None,
        send_as: None,
        quick_reply_shortcut: None,
        effect: None,
        allow_paid_stars: None,
        suggested_post: None,
        rich_message: None,
    };
    let first = within(alice.client().invoke(&send)).await.unwrap();
    let again = within(alice.client().invoke(&send)).await.unwrap();
    let (
        tl::enums::Updates::UpdateShortSentMessage(first),
        tl::enums::Updates::UpdateShortSentMessage(again),
    ) = (first, again)
    else {
        panic!("private sends answer updateShortSentMessage");
    };
    assert_eq!((first.id, first.pts), (again.id, again.pts));
    let total = within(bob.client().iter_messages(alice.peer_ref()).total())
        .await
        .unwrap();
    assert_eq!(total, 7);
}

#[tokio::test]
async fn edits_deletes_reads_and_typing_reach_the_other_side() {
    let dc = Dc::start().await;
    let mut alice = dc.user("9996621011", "Alice", "alice2");
    let mut bob = dc.user("9996621012", "Bob", "bobby2");
    alice.connect(false).await;
    bob.connect(false).await;
    let to_bob = bob.peer_ref();
    let to_alice = alice.peer_ref();

    let sent = within(alice.client().send_message(to_bob, "first draft"))
        .await
        .unwrap();
    let received = bob.next(new_message).await;

    within(alice.client().edit_message(to_bob, sent.id(), "final text"))
        .await
        .unwrap();
    let edited = bob
        .next(|u| match u {
            Update::MessageEdited(m) => Some(m),
            _ => None,
        })
        .await;
    assert_eq!(edited.id(), received.id());
    assert_eq!(edited.text(), "final text");
    assert!(edited.edit_date().is_some());

    // Bob reads; Alice sees her message read.
    within(bob.client().mark_as_read(to_alice)).await.unwrap();
    let read_outbox = alice
        .next(|u| match raw(u) {
            Some(tl::enums::Update::ReadHistoryOutbox(read)) => Some(read),
            _ => None,
        })
        .await;
    assert_eq!(read_outbox.max_id, sent.id());
    assert_eq!(
        read_outbox.peer,
        tl::enums::Peer::User(tl::types::PeerUser {
            user_id: bob.user.id
        })
    );

    // Bob types; Alice sees it.
    within(
        bob.client()
            .action(to_alice)
            .oneshot(tl::enums::SendMessageAction::SendMessageTypingAction),
    )
    .await
    .unwrap();
    let typing = alice
        .next(|u| match raw(u) {
            Some(tl::enums::Update::UserTyping(typing)) => Some(typing),
            _ => None,
        })
        .await;
    assert_eq!(typing.user_id, bob.user.id);

    // Alice deletes for both; Bob's copy goes.
    let deleted = within(alice.client().delete_messages(to_bob, &[sent.id()]))
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let deletion = bob.next(deletion).await;
    assert_eq!(deletion.messages(), [received.id()]);
    let left = within(bob.client().iter_messages(to_alice).total())
        .await
        .unwrap();
    assert_eq!(left, 0);

    // Forwarding copies with a forward header.
    let original = within(alice.client().send_message(to_bob, "pass it on"))
        .await
        .unwrap();
    let _ = bob.next(new_message).await;
    let forwarded = within(alice.client().forward_messages(
        alice.peer_ref(),
        &[original.id()],
        to_bob,
    ))
    .await
    .unwrap();
    let forwarded = forwarded[0].as_ref().expect("forwarded");
    assert_eq!(forwarded.text(), "pass it on");
    assert!(forwarded.forward_header().is_some());
}

#[tokio::test]
async fn a_message_sent_while_offline_arrives_after_reconnecting() {
    let dc = Dc::start().await;
    let mut alice = dc.user("9996621021", "Alice", "alice3");
    let mut bob = dc.user("9996621022", "Bob", "bobby3");
    alice.connect(false).await;
    bob.connect(false).await;
    let to_bob = bob.peer_ref();

    within(alice.client().send_message(to_bob, "while you are here"))
        .await
        .unwrap();
    assert_eq!(bob.next(new_message).await.text(), "while you are here");
    bob.disconnect().await;

    within(alice.client().send_message(to_bob, "while you were away"))
        .await
        .unwrap();
    within(alice.client().send_message(to_bob, "and one more"))
        .await
        .unwrap();

    bob.connect(true).await;
    let first = bob.next(new_message).await;
    let second = bob.next(new_message).await;
    assert_eq!(first.text(), "while you were away");
    assert_eq!(second.text(), "and one more");
    assert_eq!(
        first.sender_id(),
        Some(PeerId::user(alice.user.id).unwrap())
    );

    // And live again afterwards.
    within(alice.client().send_message(to_bob, "welcome back"))
        .await
        .unwrap();
    assert_eq!(bob.next(new_message).await.text(), "welcome back");
}

#[tokio::test]
async fn group_and_supergroup_messages_reach_members() {
    let dc = Dc::start().await;
    let mut alice = dc.user("9996621031", "Alice", "alice4");
    let mut bob = dc.user("9996621032", "Bob", "bobby4");
    let chat = dc
        .net
        .create_chat(alice.user.id, "Team", &[bob.user.id])
        .unwrap()
        .value;
    let channel = dc
        .net
        .create_channel(
            alice.user.id,
            "Everyone",
            true,
            Some("everyone4"),
            &[bob.user.id],
        )
        .unwrap()
        .value;
    alice.connect(false).await;
    bob.connect(false).await;

    let group: PeerRef = tl::types::InputPeerChat { chat_id: chat.id }.into();
    let sent = within(alice.client().send_message(group, "hello team"))
        .await
        .unwrap();
    assert_eq!(sent.text(), "hello team");
    let received = bob.next(new_message).await;
    assert_eq!(received.text(), "hello team");
    assert_eq!(received.peer_id(), PeerId::chat(chat.id).unwrap());
    assert_eq!(
        received.sender_id(),
        Some(PeerId::user(alice.user.id).unwrap())
    );

    // The supergroup is found by its username, like a member would.
    let found = within(bob.client().resolve_username("everyone4"))
        .await
        .unwrap()
        .expect("@everyone4 exists");
    assert_eq!(found.id(), PeerId::channel(channel.id).unwrap());
    let supergroup: PeerRef = tl::types::InputPeerChannel {
        channel_id: channel.id,
        access_hash: channel.access_hash,
    }
    .into();
    let sent = within(alice.client().send_message(supergroup, "hello everyone"))
        .await
        .unwrap();
    assert_eq!(sent.text(), "hello everyone");
    let received = bob.next(new_message).await;
    assert_eq!(received.text(), "hello everyone");
    assert_eq!(received.peer_id(), PeerId::channel(channel.id).unwrap());
    assert_eq!(received.id(), sent.id(), "channel messages share one id");

    // Bob answers in the supergroup and reads; Alice gets both.
    within(bob.client().send_message(supergroup, "hi Alice"))
        .await
        .unwrap();
    assert_eq!(alice.next(new_message).await.text(), "hi Alice");
    within(bob.client().mark_as_read(supergroup)).await.unwrap();
    let read = alice
        .next(|u| match raw(u) {
            Some(tl::enums::Update::ReadChannelOutbox(read)) => Some(read),
            _ => None,
        })
        .await;
    assert_eq!((read.channel_id, read.max_id), (channel.id, sent.id()));

    // Edits in the supergroup reach Bob, deletes too.
    within(
        alice
            .client()
            .edit_message(supergroup, sent.id(), "hello all"),
    )
    .await
    .unwrap();
    let edited = bob
        .next(|u| match u {
            Update::MessageEdited(m) => Some(m),
            _ => None,
        })
        .await;
    assert_eq!(edited.text(), "hello all");
    within(alice.client().delete_messages(supergroup, &[sent.id()]))
        .await
        .unwrap();
    let deletion = bob.next(deletion).await;
    assert_eq!(deletion.channel_id(), Some(channel.id));
    assert_eq!(deletion.messages(), [sent.id()]);

    // Bob's chat list has both groups, the supergroup with its pts.
    let mut dialogs = bob.client().iter_dialogs();
    let mut peers = Vec::new();
    while let Some(dialog) = within(dialogs.next()).await.unwrap() {
        peers.push(dialog.peer_id());
    }
    assert!(peers.contains(&PeerId::chat(chat.id).unwrap()));
    assert!(peers.contains(&PeerId::channel(channel.id).unwrap()));
}

#[tokio::test]
async fn a_group_migrated_over_mtproto_goes_on_in_its_supergroup() {
    let dc = Dc::start().await;
    let mut alice = dc.user("9996621061", "Alice", "alice6");
    let mut bob = dc.user("9996621062", "Bob", "bobby6");
    let chat = dc
        .net
        .create_chat(alice.user.id, "Team", &[bob.user.id])
        .unwrap()
        .value;
    alice.connect(false).await;
    bob.connect(false).await;
    let migrate = tl::functions::messages::MigrateChat { chat_id: chat.id };

    let refused = within(bob.client().invoke(&migrate)).await.unwrap_err();
    assert!(refused.is("CHAT_ADMIN_REQUIRED"), "{refused}");
    let tl::enums::Updates::Updates(answer) =
        within(alice.client().invoke(&migrate)).await.unwrap()
    else {
        panic!("messages.migrateChat answers updates");
    };
    // The answer names the deactivated group, pointing at its supergroup.
    let (group, supergroup) = match answer.chats.as_slice() {
        [
            tl::enums::Chat::Chat(group),
            tl::enums::Chat::Channel(supergroup),
        ] => (group, supergroup),
        other => panic!("the group and the supergroup: {other:?}"),
    };
    assert!(group.deactivated);
    assert!(supergroup.megagroup && supergroup.creator);
    assert_eq!(supergroup.title, "Team");
    let access_hash = supergroup.access_hash.expect("a usable supergroup");
    let Some(tl::enums::InputChannel::Channel(migrated_to)) = &group.migrated_to else {
        panic!("the group names its supergroup");
    };
    assert_eq!(
        (migrated_to.channel_id, migrated_to.access_hash),
        (supergroup.id, access_hash)
    );
    let again = within(alice.client().invoke(&migrate)).await.unwrap_err();
    assert!(again.is("CHAT_ID_INVALID"), "{again}");

    // Bob's live stream has the group's last message, then the
    // supergroup's first.
    let farewell = bob.next(new_message).await;
    assert_eq!(farewell.peer_id(), PeerId::chat(chat.id).unwrap());
    assert!(matches!(
        farewell.action(),
        Some(tl::enums::MessageAction::ChatMigrateTo(a)) if a.channel_id == supergroup.id
    ));
    let welcome = bob.next(new_message).await;
    assert_eq!(welcome.peer_id(), PeerId::channel(supergroup.id).unwrap());
    assert!(matches!(
        welcome.action(),
        Some(tl::enums::MessageAction::ChannelMigrateFrom(a))
            if a.chat_id == chat.id && a.title == "Team"
    ));

    // The group takes no more messages; the supergroup does.
    let old: PeerRef = tl::types::InputPeerChat { chat_id: chat.id }.into();
    let refused = within(bob.client().send_message(old, "hello?"))
        .await
        .unwrap_err();
    assert!(refused.is("PEER_ID_INVALID"), "{refused}");
    let new: PeerRef = tl::types::InputPeerChannel {
        channel_id: supergroup.id,
        access_hash,
    }
    .into();
    within(bob.client().send_message(new, "moved in"))
        .await
        .unwrap();
    assert_eq!(alice.next(new_message).await.text(), "moved in");

    // Its full profile says where it came from and where Bob's copy of the
    // group's history ends.
    let tl::enums::messages::ChatFull::Full(full) = within(
        bob.client()
            .invoke(&tl::functions::channels::GetFullChannel {
                channel: tl::types::InputChannel {
                    channel_id: supergroup.id,
                    access_hash,
                }
                .into(),
            }),
    )
    .await
    .unwrap();
    let tl::enums::ChatFull::ChannelFull(full) = full.full_chat else {
        panic!("a supergroup's full profile is channelFull");
    };
    assert_eq!(full.migrated_from_chat_id, Some(chat.id));
    assert_eq!(full.migrated_from_max_id, Some(farewell.id()));
}

#[tokio::test]
async fn search_resolve_contacts_and_uploads() {
    let dc = Dc::start().await;
    let mut alice = dc.user("9996621041", "Alice", "alice5");
    let bob = dc.user("9996621042", "Bob", "bobby5");
    alice.connect(false).await;
    let to_bob = bob.peer_ref();
    for text in ["nothing here", "the NEEDLE is here", "nothing either"] {
        within(alice.client().send_message(to_bob, text))
            .await
            .unwrap();
    }

    let mut search = alice.client().search_messages(to_bob).query("needle");
    let hit = within(search.next()).await.unwrap().expect("one hit");
    assert_eq!(hit.text(), "the NEEDLE is here");
    assert!(within(search.next()).await.unwrap().is_none());
    let mut global = alice.client().search_all_messages().query("needle");
    let hit = within(global.next()).await.unwrap().expect("one hit");
    assert_eq!(hit.text(), "the NEEDLE is here");
    assert!(within(global.next()).await.unwrap().is_none());

    assert!(
        within(alice.client().resolve_username("nobody_here"))
            .await
            .unwrap()
            .is_none()
    );

    // Importing Bob's phone makes him a contact.
    let tl::enums::contacts::ImportedContacts::Contacts(imported) = within(alice.client().invoke(
        &tl::functions::contacts::ImportContacts {
            contacts: vec![
                    tl::types::InputPhoneContact {
                        client_id: 7,
                        phone: "+9996621042".into(),
                        first_name: "Bob".into(),
                        last_name: String::new(),
                        note: None,
                    }
                    .into(),
                ],
        },
    ))
    .await
    .unwrap();
    assert_eq!(imported.imported.len(), 1);
    let tl::enums::ImportedContact::Contact(contact) = &imported.imported[0];
    assert_eq!((contact.user_id, contact.client_id), (bob.user.id, 7));
    let tl::enums::contacts::Contacts::Contacts(contacts) = within(
        alice
            .client()
            .invoke(&tl::functions::contacts::GetContacts { hash: 0 }),
    )
    .await
    .unwrap() else {
        panic!("a contact list");
    };
    assert_eq!(contacts.contacts.len(), 1);
    assert_eq!(contacts.users.len(), 1);

    // Uploads are accepted part by part (sending them is tested below).
    let data = vec![7u8; 300 * 1024];
    let uploaded = within(alice.client().upload_stream(
        &mut data.as_slice(),
        data.len(),
        "file.bin".into(),
    ))
    .await;
    assert!(uploaded.is_ok(), "upload accepted: {uploaded:?}");
}

#[tokio::test]
async fn a_document_reaches_the_recipient_and_downloads_intact() {
    let dc = Dc::start().await;
    let mut alice = dc.user("9996621051", "Alice", "alice6");
    let mut bob = dc.user("9996621052", "Bob", "bobby6");
    alice.connect(false).await;
    bob.connect(false).await;

    // ~300 KiB, not a multiple of any part or chunk size.
    let data: Vec<u8> = (0..300 * 1024 + 123)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let uploaded = within(alice.client().upload_stream(
        &mut data.as_slice(),
        data.len(),
        "report.pdf".into(),
    ))
    .await
    .unwrap();
    let sent = within(alice.client().send_message(
        bob.peer_ref(),
        InputMessage::new().text("the report").document(uploaded),
    ))
    .await
    .unwrap();
    assert_eq!(sent.text(), "the report");
    let Some(grammers_client::media::Media::Document(sent_doc)) = sent.media() else {
        panic!("the sent message carries a document: {:?}", sent.media());
    };
    assert_eq!(sent_doc.size(), Some(data.len()));

    let received = bob.next(new_message).await;
    assert_eq!(received.text(), "the report", "the caption is the text");
    let media = received.media().expect("the message carries media");
    let grammers_client::media::Media::Document(doc) = &media else {
        panic!("a document: {media:?}");
    };
    assert_eq!(doc.name(), Some("report.pdf"));
    assert_eq!(doc.mime_type(), Some("application/pdf"));
    assert_eq!(doc.size(), Some(data.len()));
    assert_eq!(doc.id(), sent_doc.id());

    let mut download = bob.client().iter_download(&media);
    let mut got = Vec::new();
    while let Some(chunk) = within(download.next()).await.unwrap() {
        got.extend(chunk);
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "identical bytes");

    // A wrong file_reference or access hash, or a bad range, is refused.
    let tl::enums::Document::Document(raw) = doc.raw.document.clone().unwrap() else {
        panic!("a full document");
    };
    let get = |file_reference: Vec<u8>, access_hash: i64, offset: i64, limit: i32| {
        tl::functions::upload::GetFile {
            precise: false,
            cdn_supported: false,
            location: tl::types::InputDocumentFileLocation {
                id: raw.id,
                access_hash,
                file_reference,
                thumb_size: String::new(),
            }
            .into(),
            offset,
            limit,
        }
    };
    fn refused<T: std::fmt::Debug>(result: Result<T, grammers_client::InvocationError>) -> String {
        match result {
            Err(grammers_client::InvocationError::Rpc(err)) => err.name,
            other => panic!("refused: {other:?}"),
        }
    }
    let bob_client = bob.client();
    let stale = get(vec![1, 2, 3], raw.access_hash, 0, 4096);
    assert_eq!(
        refused(within(bob_client.invoke(&stale)).await),
        "FILE_REFERENCE_EXPIRED"
    );
    let wrong_hash = get(raw.file_reference.clone(), raw.access_hash ^ 1, 0, 4096);
    assert_eq!(
        refused(within(bob_client.invoke(&wrong_hash)).await),
        "LOCATION_INVALID"
    );
    let odd_limit = get(raw.file_reference.clone(), raw.access_hash, 0, 1000);
    assert_eq!(
        refused(within(bob_client.invoke(&odd_limit)).await),
        "LIMIT_INVALID"
    );
    let odd_offset = get(raw.file_reference.clone(), raw.access_hash, 100, 4096);
    assert_eq!(
        refused(within(bob_client.invoke(&odd_offset)).await),
        "OFFSET_INVALID"
    );
    // A window in the middle.
    let window = get(raw.file_reference.clone(), raw.access_hash, 8192, 4096);
    let tl::enums::upload::File::File(file) = within(bob_client.invoke(&window)).await.unwrap()
    else {
        panic!("upload.file");
    };
    assert_eq!(file.bytes, data[8192..12288]);

    // Sending media without (all of) its parts, or other kinds, is refused.
    let missing = within(
        alice.client().send_message(
            bob.peer_ref(),
            InputMessage::new().media(tl::types::InputMediaUploadedDocument {
                nosound_video: false,
                force_file: false,
                spoiler: false,
                file: tl::types::InputFile {
                    id: 424242,
                    parts: 2,
                    name: "x.bin".into(),
                    md5_checksum: String::new(),
                }
                .into(),
                thumb: None,
                mime_type: "application/octet-stream".into(),
                attributes: Vec::new(),
                stickers: None,
                video_cover: None,
                video_timestamp: None,
                ttl_seconds: None,
            }),
        ),
    )
    .await;
    // grammers reads FILE_PART_0_MISSING as FILE_PART_MISSING with value 0.
    assert_eq!(refused(missing.map(|_| ())), "FILE_PART_MISSING");
    let dice = within(alice.client().send_message(
        bob.peer_ref(),
        InputMessage::new().media(tl::types::InputMediaDice {
            emoticon: "🎲".into(),
        }),
    ))
    .await;
    assert_eq!(refused(dice.map(|_| ())), "MEDIA_INVALID");

    // History shows the document too.
    let mut history = bob.client().iter_messages(alice.peer_ref());
    let last = within(history.next()).await.unwrap().expect("a message");
    assert!(matches!(
        last.media(),
        Some(grammers_client::media::Media::Document(_))
    ));
}

#[tokio::test]
async fn full_profiles_tell_bios_and_member_counts() {
    let dc = Dc::start().await;
    let mut alice = dc.user("9996621041", "Alice", "alice5");
    let bob = dc.user("9996621042", "Bob", "bobby5");
    let carol = dc
        .net
        .create_user(NewUser {
            phone: "9996621043".into(),
            first_name: "Carol".into(),
            about: Some("buys invoices in bulk".into()),
            ..NewUser::default()
        })
        .unwrap();
    let chat = dc
        .net
        .create_chat(alice.user.id, "Team", &[bob.user.id, carol.id])
        .unwrap()
        .value;
    let channel = dc
        .net
        .create_channel(alice.user.id, "News", false, Some("news5"), &[bob.user.id])
        .unwrap()
        .value;
    let client = alice.connect(false).await;

    let about = async |user: &network::User| {
        let tl::enums::users::UserFull::Full(full) = within(
            client.invoke(&tl::functions::users::GetFullUser {
                id: tl::types::InputUser {
                    user_id: user.id,
                    access_hash: user.access_hash,
                }
                .into(),
            }),
        )
        .await
        .unwrap();
        let tl::enums::UserFull::Full(full) = full.full_user;
        full.about
    };
    assert_eq!(
        about(&carol).await.as_deref(),
        Some("buys invoices in bulk")
    );
    assert_eq!(about(&bob.user).await, None, "no bio");

    let tl::enums::messages::ChatFull::Full(full) =
        within(client.invoke(&tl::functions::messages::GetFullChat { chat_id: chat.id }))
            .await
            .unwrap();
    let tl::enums::ChatFull::Full(group) = full.full_chat else {
        panic!("a basic group's full profile is chatFull");
    };
    let tl::enums::ChatParticipants::Participants(members) = group.participants else {
        panic!("a member sees the participants");
    };
    assert_eq!(members.participants.len(), 3);

    let tl::enums::messages::ChatFull::Full(full) = within(
        client.invoke(&tl::functions::channels::GetFullChannel {
            channel: tl::types::InputChannel {
                channel_id: channel.id,
                access_hash: channel.access_hash,
            }
            .into(),
        }),
    )
    .await
    .unwrap();
    let tl::enums::ChatFull::ChannelFull(news) = full.full_chat else {
        panic!("a channel's full profile is channelFull");
    };
    assert_eq!(news.participants_count, Some(2));
    assert_eq!(news.id, channel.id);
}
