use std::sync::OnceLock;

use proptest::prelude::*;

use super::files::{FILES_DIR, check_range};
use super::messages::MAX_SCHEDULE_AHEAD;
use super::state::{CODE_TTL, INITIAL_PTS, LOGIN_TOKEN_TTL, sandbox_dc};
use super::*;

const T0: i64 = 1_700_000_000;

fn network() -> (Network, Clock) {
    let clock = Clock::manual(T0);
    let net = Network::in_memory(Options {
        data_dir: None,
        seed: Some(7),
        clock: clock.clone(),
        max_difference: None,
    });
    (net, clock)
}

fn user(net: &Network, phone: &str, name: &str) -> User {
    net.create_user(NewUser {
        phone: phone.into(),
        first_name: name.into(),
        ..NewUser::default()
    })
    .unwrap()
}

fn text(t: &str) -> OutgoingMessage {
    OutgoingMessage {
        text: t.into(),
        ..OutgoingMessage::default()
    }
}

/// logged_in registers a key and signs it in as `phone`.
fn logged_in(net: &Network, key_id: i64, phone: &str) -> User {
    net.register_auth_key(key_id, [key_id as u8; 256], None);
    let sent = net.send_code(key_id, phone).unwrap();
    let code = phone[5..6].repeat(5);
    net.sign_in(key_id, phone, &sent.phone_code_hash, &code)
        .unwrap()
}

/// The password "hunter2" is derived once per test binary: PBKDF2 with
/// 100 000 iterations is slow in debug builds.
fn hunter2() -> TwoFactor {
    static PASSWORD: OnceLock<TwoFactor> = OnceLock::new();
    PASSWORD
        .get_or_init(|| {
            TwoFactor::derive_with_salts("hunter2", vec![1; 40], vec![2; 16], Some("pet".into()))
        })
        .clone()
}

fn client_proof(challenge: &SrpChallenge, password: &str) -> (Vec<u8>, Vec<u8>) {
    let (m1, g_a) = grammers_crypto::two_factor_auth::calculate_2fa(
        &challenge.salt1,
        &challenge.salt2,
        &challenge.p,
        &challenge.g,
        challenge.srp_b.clone(),
        vec![0x5a; 256],
        password,
    );
    (g_a.to_vec(), m1.to_vec())
}

// ---- errors ----

#[test]
fn errors_carry_telegram_names_and_codes() {
    assert_eq!(Error::PhoneCodeInvalid.code(), 400);
    assert_eq!(Error::PhoneCodeInvalid.message(), "PHONE_CODE_INVALID");
    assert_eq!(Error::SessionPasswordNeeded.code(), 401);
    assert_eq!(Error::AuthKeyUnregistered.code(), 401);
    assert_eq!(Error::FloodWait { seconds: 31 }.code(), 420);
    assert_eq!(Error::FloodWait { seconds: 31 }.message(), "FLOOD_WAIT_31");
    assert_eq!(Error::MessageTooLong.to_string(), "MESSAGE_TOO_LONG");
}

// ---- users and login ----

#[test]
fn sandbox_numbers_and_their_codes() {
    assert_eq!(sandbox_dc("9996621234"), Some(2));
    assert_eq!(sandbox_dc("9996641234"), None);
    assert_eq!(sandbox_dc("79161234567"), None);
    assert_eq!(login_code("9996631234").as_deref(), Some("33333"));
    assert_eq!(login_code("79161234567"), None);
    let (net, _) = network();
    assert_eq!(
        net.send_code(1, "+1 555 0100").unwrap_err(),
        Error::PhoneNumberInvalid
    );
    net.register_auth_key(1, [1; 256], None);
    let sent = net.send_code(1, "+999 66 2 1234").unwrap();
    assert_eq!(sent.code_length, 5);
    assert_eq!(
        net.sign_in(1, "9996621234", &sent.phone_code_hash, "11111"),
        Err(Error::PhoneCodeInvalid)
    );
    let code = login_code("9996621234").unwrap();
    let me = net
        .sign_in(1, "9996621234", &sent.phone_code_hash, &code)
        .unwrap();
    assert_eq!(me.phone.as_deref(), Some("9996621234"));
    assert!(
        !me.first_name.is_empty(),
        "a first sign-in creates the user"
    );
    assert_eq!(net.authorized_user(1), Ok(me.id));
    // The code is spent.
    assert_eq!(
        net.sign_in(1, "9996621234", &sent.phone_code_hash, "22222"),
        Err(Error::PhoneCodeExpired)
    );
}

#[test]
fn codes_expire_after_five_minutes() {
    let (net, clock) = network();
    net.register_auth_key(1, [1; 256], None);
    let sent = net.send_code(1, "9996631111").unwrap();
    clock.advance(CODE_TTL);
    assert_eq!(
        net.sign_in(1, "9996631111", &sent.phone_code_hash, "33333"),
        Err(Error::PhoneCodeExpired)
    );
}

#[test]
fn users_are_found_by_phone_username_and_id_with_stable_access_hash() {
    let (net, _) = network();
    let alice = net
        .create_user(NewUser {
            phone: "9996610001".into(),
            first_name: "Alice".into(),
            username: Some("alice_s".into()),
            ..NewUser::default()
        })
        .unwrap();
    assert_eq!(net.user(alice.id), Some(alice.clone()));
    assert_eq!(net.user_by_phone("+9996610001"), Some(alice.clone()));
    assert_eq!(net.user_by_username("@Alice_S"), Some(alice.clone()));
    assert_eq!(net.resolve_username("ALICE_S"), Ok(Peer::User(alice.id)));
    assert_eq!(
        net.resolve_username("nobody_here"),
        Err(Error::UsernameNotOccupied)
    );
    assert_eq!(
        net.check_access_hash(Peer::User(alice.id), alice.access_hash),
        Ok(())
    );
    assert_eq!(
        net.check_access_hash(Peer::User(alice.id), alice.access_hash ^ 1),
        Err(Error::PeerIdInvalid)
    );
    let dup = net.create_user(NewUser {
        phone: "9996610001".into(),
        ..NewUser::default()
    });
    assert_eq!(dup, Err(Error::PhoneNumberOccupied));
    let taken = net.create_user(NewUser {
        phone: "9996610002".into(),
        username: Some("alice_s".into()),
        ..NewUser::default()
    });
    assert_eq!(taken, Err(Error::UsernameOccupied));
}

#[test]
fn contacts_are_imported_by_phone() {
    let (net, _) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    let imported = net
        .import_contacts(alice.id, &["+9996610002".into(), "9996619999".into()])
        .unwrap();
    assert_eq!(imported, vec![bob.clone()]);
    assert_eq!(net.contacts(alice.id).unwrap(), vec![bob]);
}

#[test]
fn bots_log_in_with_their_token() {
    let (net, _) = network();
    let (bot, token) = net.create_bot("Helper", "helper_bot", None).unwrap();
    assert!(bot.bot);
    assert!(token.starts_with(&format!("{}:", bot.id)));
    net.register_auth_key(9, [9; 256], None);
    assert_eq!(
        net.import_bot_authorization(9, &format!("{}:wrong", bot.id)),
        Err(Error::AccessTokenInvalid)
    );
    assert_eq!(net.import_bot_authorization(9, &token), Ok(bot.clone()));
    assert_eq!(net.authorized_user(9), Ok(bot.id));
}

#[test]
fn sessions_are_listed_terminated_and_logged_out() {
    let (net, _) = network();
    let me = logged_in(&net, 1, "9996620001");
    logged_in(&net, 2, "9996620001");
    net.touch(
        2,
        Some(ClientInfo {
            device_model: "Pixel".into(),
            app_name: "CRM".into(),
            ..ClientInfo::default()
        }),
    )
    .unwrap();
    let list = net.authorizations(1).unwrap();
    assert_eq!(list.len(), 2);
    assert!(list[0].current, "the asking session comes first");
    assert_eq!(list[1].client.device_model, "Pixel");
    assert_eq!(
        net.terminate_authorization(1, list[0].hash),
        Err(Error::HashInvalid)
    );
    net.terminate_authorization(1, list[1].hash).unwrap();
    assert_eq!(net.authorized_user(2), Err(Error::AuthKeyUnregistered));
    assert_eq!(net.authorized_user(1), Ok(me.id));
    net.log_out(1).unwrap();
    assert_eq!(net.authorized_user(1), Err(Error::AuthKeyUnregistered));
    assert_eq!(net.authorized_user(77), Err(Error::AuthKeyUnregistered));
}

#[test]
fn qr_login_is_accepted_by_another_session() {
    let (net, clock) = network();
    let me = logged_in(&net, 1, "9996620001");
    net.register_auth_key(2, [2; 256], None);
    let LoginToken::Token { token, expires } = net.export_login_token(2).unwrap() else {
        panic!("a fresh key gets a token");
    };
    assert_eq!(expires, T0 + LOGIN_TOKEN_TTL);
    let accepted = net.accept_login_token(1, &token).unwrap();
    assert_eq!(accepted.exporter_auth_key_id, 2);
    assert_eq!(accepted.authorization.user_id, me.id);
    assert_eq!(
        net.accept_login_token(1, &token),
        Err(Error::AuthTokenAlreadyAccepted)
    );
    assert_eq!(
        net.export_login_token(2),
        Ok(LoginToken::Success(me.clone()))
    );
    assert_eq!(net.authorized_user(2), Ok(me.id));

    net.register_auth_key(3, [3; 256], None);
    let LoginToken::Token { token, .. } = net.export_login_token(3).unwrap() else {
        panic!("a fresh key gets a token");
    };
    clock.advance(LOGIN_TOKEN_TTL);
    assert_eq!(
        net.accept_login_token(1, &token),
        Err(Error::AuthTokenExpired)
    );
    assert_eq!(
        net.accept_login_token(1, b"nope"),
        Err(Error::AuthTokenInvalid)
    );
}

#[test]
fn two_factor_srp_accepts_the_password_and_refuses_others() {
    let (net, _) = network();
    let me = net
        .create_user(NewUser {
            phone: "9996620002".into(),
            first_name: "Secure".into(),
            password: Some(hunter2()),
            ..NewUser::default()
        })
        .unwrap();
    net.register_auth_key(1, [1; 256], None);
    let sent = net.send_code(1, "9996620002").unwrap();
    assert_eq!(
        net.sign_in(1, "9996620002", &sent.phone_code_hash, "22222"),
        Err(Error::SessionPasswordNeeded)
    );
    assert_eq!(net.authorized_user(1), Err(Error::AuthKeyUnregistered));

    let info = net.get_password(1).unwrap();
    assert_eq!(info.hint.as_deref(), Some("pet"));
    let challenge = info.challenge.expect("the user has a password");
    assert_eq!(challenge.g, 3);
    assert!(grammers_crypto::two_factor_auth::check_p_and_g(
        &challenge.p,
        &challenge.g
    ));
    let (a, m1) = client_proof(&challenge, "wrong");
    assert_eq!(
        net.check_password(1, challenge.srp_id, &a, &m1),
        Err(Error::PasswordHashInvalid)
    );
    // A challenge answers once.
    assert_eq!(
        net.check_password(1, challenge.srp_id, &a, &m1),
        Err(Error::SrpIdInvalid)
    );

    let challenge = net.get_password(1).unwrap().challenge.unwrap();
    let (a, m1) = client_proof(&challenge, "hunter2");
    assert_eq!(
        net.check_password(1, challenge.srp_id, &a, &m1),
        Ok(me.clone())
    );
    assert_eq!(net.authorized_user(1), Ok(me.id));
}

#[test]
fn users_without_password_get_no_challenge() {
    let (net, _) = network();
    logged_in(&net, 1, "9996620003");
    assert_eq!(net.get_password(1).unwrap().challenge, None);
}

// ---- faults ----

#[test]
fn faults_fire_the_given_number_of_times() {
    let (net, _) = network();
    let me = logged_in(&net, 1, "9996620001");
    net.inject_fault(
        FaultTarget::User(me.id),
        "messages.sendMessage",
        Fault::FloodWait { seconds: 3 },
        2,
    );
    net.inject_fault(FaultTarget::AuthKey(1), "*", Fault::DropConnection, 1);
    assert_eq!(
        net.take_fault(1, "messages.sendMessage"),
        Some(Fault::FloodWait { seconds: 3 })
    );
    assert_eq!(
        net.take_fault(1, "updates.getState"),
        Some(Fault::DropConnection)
    );
    assert_eq!(
        net.take_fault(1, "messages.sendMessage"),
        Some(Fault::FloodWait { seconds: 3 })
    );
    assert_eq!(net.take_fault(1, "messages.sendMessage"), None);
    net.revoke_session(1).unwrap();
    assert_eq!(net.authorized_user(1), Err(Error::AuthKeyUnregistered));
}

// ---- messages ----

#[test]
fn private_messages_get_an_id_in_each_box() {
    let (net, _) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    let carol = user(&net, "9996610003", "Carol");
    net.send_message(alice.id, Peer::User(carol.id), text("warm up"))
        .unwrap();
    let sent = net
        .send_message(alice.id, Peer::User(bob.id), text("hi bob"))
        .unwrap();
    assert_eq!(sent.value.message.id, 2);
    assert!(sent.value.message.out);
    assert_eq!(sent.deliveries.len(), 2);
    let to_bob = &sent.deliveries[1];
    assert_eq!(to_bob.user_id, bob.id);
    let Update::NewMessage { message } = &to_bob.update else {
        panic!("bob gets a new message");
    };
    assert_eq!(message.id, 1);
    assert_eq!(message.peer, Peer::User(alice.id));
    assert!(!message.out);
    // Bob's first update: his sequence moves one past where it started.
    assert_eq!(
        to_bob.pts,
        Some(Pts {
            pts: INITIAL_PTS + 1,
            pts_count: 1
        })
    );
}

#[test]
fn messages_are_validated() {
    let (net, _) = network();
    let alice = user(&net, "9996610001", "Alice");
    let long = "ж".repeat(MAX_TEXT + 1);
    assert_eq!(
        net.send_message(alice.id, Peer::User(alice.id), text(&long))
            .unwrap_err(),
        Error::MessageTooLong
    );
    assert!(
        net.send_message(alice.id, Peer::User(alice.id), text(&"ж".repeat(MAX_TEXT)))
            .is_ok()
    );
    // Telegram counts UTF-16 code units: this emoji is two of them.
    let emoji = "🙂".repeat(MAX_TEXT / 2 + 1);
    assert_eq!(
        net.send_message(alice.id, Peer::User(alice.id), text(&emoji))
            .unwrap_err(),
        Error::MessageTooLong
    );
    assert_eq!(
        net.send_message(alice.id, Peer::User(alice.id), text("  "))
            .unwrap_err(),
        Error::MessageEmpty
    );
    assert_eq!(
        net.send_message(alice.id, Peer::User(424242), text("x"))
            .unwrap_err(),
        Error::PeerIdInvalid
    );
}

#[test]
fn random_id_sends_once() {
    let (net, _) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    let msg = OutgoingMessage {
        random_id: Some(99),
        ..text("once")
    };
    let first = net
        .send_message(alice.id, Peer::User(bob.id), msg.clone())
        .unwrap();
    let second = net.send_message(alice.id, Peer::User(bob.id), msg).unwrap();
    assert_eq!(first.value, second.value);
    assert!(second.deliveries.is_empty());
    let history = net
        .history(
            bob.id,
            Peer::User(alice.id),
            &HistoryQuery {
                limit: 10,
                ..HistoryQuery::default()
            },
        )
        .unwrap();
    assert_eq!(history.count, 1);
}

#[test]
fn edits_are_for_authors_and_must_change_something() {
    let (net, _) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    let sent = net
        .send_message(alice.id, Peer::User(bob.id), text("helo"))
        .unwrap()
        .value;
    let id = sent.message.id;
    assert_eq!(
        net.edit_message(alice.id, Peer::User(bob.id), id, "helo", None)
            .unwrap_err(),
        Error::MessageNotModified
    );
    assert_eq!(
        net.edit_message(bob.id, Peer::User(alice.id), 1, "hacked", None)
            .unwrap_err(),
        Error::MessageAuthorRequired
    );
    assert_eq!(
        net.edit_message(alice.id, Peer::User(bob.id), 77, "x", None)
            .unwrap_err(),
        Error::MessageIdInvalid
    );
    let edited = net
        .edit_message(alice.id, Peer::User(bob.id), id, "hello", None)
        .unwrap();
    assert_eq!(edited.value.message.edit_date, Some(T0));
    let bobs = net.messages(bob.id, None, &[1]).unwrap();
    assert_eq!(bobs[0].text, "hello");
    assert_eq!(edited.deliveries.len(), 2);
}

#[test]
fn deletes_revoke_for_both_or_only_for_me() {
    let (net, _) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    let one = net
        .send_message(alice.id, Peer::User(bob.id), text("one"))
        .unwrap()
        .value;
    let two = net
        .send_message(alice.id, Peer::User(bob.id), text("two"))
        .unwrap()
        .value;
    let mine = net
        .delete_messages(alice.id, &[one.message.id], false)
        .unwrap();
    assert_eq!(mine.value.pts_count, 1);
    assert_eq!(mine.deliveries.len(), 1, "only alice's box changes");
    assert_eq!(net.messages(bob.id, None, &[1, 2]).unwrap().len(), 2);
    let both = net
        .delete_messages(alice.id, &[two.message.id, 999], true)
        .unwrap();
    assert_eq!(both.deliveries.len(), 2);
    assert_eq!(
        both.deliveries[1].update,
        Update::DeleteMessages { ids: vec![2] }
    );
    assert_eq!(net.messages(bob.id, None, &[1, 2]).unwrap().len(), 1);
}

#[test]
fn forwards_carry_a_header() {
    let (net, _) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    let carol = user(&net, "9996610003", "Carol");
    net.send_message(alice.id, Peer::User(bob.id), text("news"))
        .unwrap();
    let fwd = net
        .forward_messages(
            bob.id,
            Peer::User(alice.id),
            &[1],
            Peer::User(carol.id),
            &[5],
        )
        .unwrap();
    let header = fwd.value[0].message.fwd_from.clone().unwrap();
    assert_eq!(header.from, Peer::User(alice.id));
    assert_eq!(header.date, T0);
    assert_eq!(fwd.value[0].message.text, "news");
    assert_eq!(
        net.forward_messages(bob.id, Peer::User(alice.id), &[], Peer::User(carol.id), &[]),
        Err(Error::MessageIdsEmpty)
    );
}

#[test]
fn reading_moves_inbox_and_outbox_maxima() {
    let (net, _) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    let carol = user(&net, "9996610003", "Carol");
    // Give alice's and bob's boxes different ids.
    net.send_message(alice.id, Peer::User(carol.id), text("x"))
        .unwrap();
    for t in ["a", "b", "c"] {
        net.send_message(alice.id, Peer::User(bob.id), text(t))
            .unwrap();
    }
    let dialogs = net
        .dialogs(
            bob.id,
            &DialogsQuery {
                limit: 10,
                ..DialogsQuery::default()
            },
        )
        .unwrap();
    assert_eq!(dialogs.dialogs[0].unread_count, 3);
    let read = net.read_history(bob.id, Peer::User(alice.id), 2).unwrap();
    assert_eq!(read.value.pts_count, 1);
    assert_eq!(
        read.deliveries[0].update,
        Update::ReadHistoryInbox {
            peer: Peer::User(alice.id),
            max_id: 2,
            still_unread_count: 1
        }
    );
    // Bob's message 2 is alice's message 3. Alice's fifth update: four
    // sends, then the read mark.
    assert_eq!(
        read.deliveries[1],
        Delivery {
            user_id: alice.id,
            update: Update::ReadHistoryOutbox {
                peer: Peer::User(bob.id),
                max_id: 3
            },
            pts: Some(Pts {
                pts: INITIAL_PTS + 5,
                pts_count: 1
            }),
            date: T0,
        }
    );
    let again = net.read_history(bob.id, Peer::User(alice.id), 1).unwrap();
    assert_eq!(again.value.pts_count, 0, "read marks never move back");
    net.read_history(bob.id, Peer::User(alice.id), 0).unwrap();
    let d = &net
        .dialogs(
            bob.id,
            &DialogsQuery {
                limit: 10,
                ..DialogsQuery::default()
            },
        )
        .unwrap()
        .dialogs[0];
    assert_eq!((d.unread_count, d.read_inbox_max_id), (0, 3));
    let dialogs = net
        .dialogs(
            alice.id,
            &DialogsQuery {
                limit: 10,
                ..DialogsQuery::default()
            },
        )
        .unwrap();
    let d = dialogs
        .dialogs
        .iter()
        .find(|d| d.peer == Peer::User(bob.id))
        .unwrap();
    assert_eq!(d.read_outbox_max_id, 4);
}

#[test]
fn basic_groups_have_per_user_ids_and_channels_one_sequence() {
    let (net, _) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    net.send_message(bob.id, Peer::User(bob.id), text("note to self"))
        .unwrap();
    let chat = net.create_chat(alice.id, "Team", &[bob.id]).unwrap();
    assert_eq!(
        chat.deliveries.len(),
        2,
        "the creation message reaches both"
    );
    let chat = chat.value;
    let sent = net
        .send_message(alice.id, Peer::Chat(chat.id), text("hello team"))
        .unwrap();
    assert_eq!(sent.value.message.id, 2);
    let Update::NewMessage { message } = &sent.deliveries[1].update else {
        panic!("bob gets it");
    };
    assert_eq!((message.id, message.peer), (3, Peer::Chat(chat.id)));

    let channel = net
        .create_channel(alice.id, "News", false, Some("news_chan"), &[bob.id])
        .unwrap()
        .value;
    assert_eq!(
        net.resolve_username("news_chan"),
        Ok(Peer::Channel(channel.id))
    );
    let post = net
        .send_message(alice.id, Peer::Channel(channel.id), text("post"))
        .unwrap();
    assert_eq!(post.value.message.id, 2);
    // The channel's own sequence: its creation, then the post.
    assert_eq!(
        post.value.pts,
        Pts {
            pts: INITIAL_PTS + 2,
            pts_count: 1
        }
    );
    for delivery in &post.deliveries {
        let Update::NewChannelMessage { message, .. } = &delivery.update else {
            panic!("members get a channel message");
        };
        assert_eq!(message.id, 2);
        assert_eq!(message.out, delivery.user_id == alice.id);
    }
    assert_eq!(
        net.send_message(bob.id, Peer::Channel(channel.id), text("no"))
            .unwrap_err(),
        Error::ChatWriteForbidden
    );
    let outsider = user(&net, "9996610003", "Carol");
    assert_eq!(
        net.history(
            outsider.id,
            Peer::Channel(channel.id),
            &HistoryQuery::default()
        )
        .unwrap_err(),
        Error::ChannelPrivate
    );
    // Bob's pts counts his note, the group's creation and alice's message,
    // not the channel's posts.
    assert_eq!(net.updates_state(bob.id).unwrap().pts, INITIAL_PTS + 3);
    let diff = net
        .channel_difference(bob.id, channel.id, INITIAL_PTS + 1, 0)
        .unwrap();
    let ChannelDifference::Difference {
        new_messages,
        pts,
        is_final,
        ..
    } = diff
    else {
        panic!("one post is new");
    };
    assert_eq!(
        (new_messages.len(), pts, is_final),
        (1, INITIAL_PTS + 2, true)
    );
    assert!(!new_messages[0].out);
    assert_eq!(
        net.channel_difference(bob.id, channel.id, INITIAL_PTS + 2, 0),
        Ok(ChannelDifference::Empty {
            pts: INITIAL_PTS + 2
        })
    );
}

#[test]
fn channel_reads_edits_and_deletes() {
    let (net, _) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    let group = net
        .create_channel(alice.id, "Chat", true, None, &[bob.id])
        .unwrap()
        .value;
    let peer = Peer::Channel(group.id);
    let m = net
        .send_message(bob.id, peer, text("hey"))
        .unwrap()
        .value
        .message;
    let d = net
        .dialogs(
            alice.id,
            &DialogsQuery {
                limit: 5,
                ..DialogsQuery::default()
            },
        )
        .unwrap();
    assert_eq!(d.dialogs[0].unread_count, 1);
    let read = net.read_channel_history(alice.id, group.id, 0).unwrap();
    assert!(read.value);
    assert!(read.deliveries.contains(&Delivery {
        user_id: bob.id,
        update: Update::ReadChannelOutbox {
            channel_id: group.id,
            max_id: m.id
        },
        pts: None,
        date: T0,
    }));
    assert_eq!(
        net.edit_message(alice.id, peer, m.id, "x", None)
            .unwrap_err(),
        Error::MessageAuthorRequired
    );
    net.edit_message(bob.id, peer, m.id, "hey!", None).unwrap();
    assert_eq!(
        net.delete_channel_messages(bob.id, group.id, &[1])
            .unwrap_err(),
        Error::MessageDeleteForbidden
    );
    let deleted = net
        .delete_channel_messages(alice.id, group.id, &[m.id])
        .unwrap();
    // The channel's fourth update: creation, message, edit, delete (reads
    // take no pts).
    assert_eq!(
        deleted.value,
        AffectedMessages {
            pts: INITIAL_PTS + 4,
            pts_count: 1
        }
    );
}

#[test]
fn typing_is_delivered_without_pts() {
    let (net, _) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    let deliveries = net
        .set_typing(alice.id, Peer::User(bob.id), TypingAction::Typing)
        .unwrap();
    assert_eq!(
        deliveries,
        vec![Delivery {
            user_id: bob.id,
            update: Update::UserTyping {
                user_id: alice.id,
                action: TypingAction::Typing
            },
            pts: None,
            date: T0,
        }]
    );
    assert_eq!(net.updates_state(bob.id).unwrap().pts, INITIAL_PTS);
}

#[test]
fn dialogs_are_ordered_by_top_message_and_paginate() {
    let (net, clock) = network();
    let me = user(&net, "9996610000", "Me");
    let mut others = Vec::new();
    for i in 1..=5 {
        let other = user(&net, &format!("999661000{i}"), "Other");
        net.send_message(other.id, Peer::User(me.id), text("hi"))
            .unwrap();
        clock.advance(10);
        others.push(other);
    }
    // Writing to the oldest dialog moves it to the top.
    net.send_message(me.id, Peer::User(others[0].id), text("back"))
        .unwrap();
    let first = net
        .dialogs(
            me.id,
            &DialogsQuery {
                limit: 2,
                ..DialogsQuery::default()
            },
        )
        .unwrap();
    assert_eq!(first.count, 5);
    let peers: Vec<Peer> = first.dialogs.iter().map(|d| d.peer).collect();
    assert_eq!(
        peers,
        vec![Peer::User(others[0].id), Peer::User(others[4].id)]
    );
    let last = first.dialogs.last().unwrap();
    let next = net
        .dialogs(
            me.id,
            &DialogsQuery {
                offset_date: last.top_message_date,
                offset_id: last.top_message,
                offset_peer: Some(last.peer),
                limit: 10,
            },
        )
        .unwrap();
    let peers: Vec<Peer> = next.dialogs.iter().map(|d| d.peer).collect();
    assert_eq!(
        peers,
        vec![
            Peer::User(others[3].id),
            Peer::User(others[2].id),
            Peer::User(others[1].id)
        ]
    );
    assert_eq!(next.messages.len(), 3);
}

#[test]
fn history_follows_get_history_offsets() {
    let (net, clock) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    for i in 1..=10 {
        net.send_message(alice.id, Peer::User(bob.id), text(&format!("m{i}")))
            .unwrap();
        clock.advance(1);
    }
    let ids = |q: HistoryQuery| -> Vec<i32> {
        net.history(alice.id, Peer::User(bob.id), &q)
            .unwrap()
            .messages
            .iter()
            .map(|m| m.id)
            .collect()
    };
    let q = |offset_id, add_offset, limit, max_id, min_id| HistoryQuery {
        offset_id,
        offset_date: 0,
        add_offset,
        limit,
        max_id,
        min_id,
    };
    assert_eq!(ids(q(0, 0, 3, 0, 0)), vec![10, 9, 8]);
    assert_eq!(ids(q(8, 0, 3, 0, 0)), vec![7, 6, 5]);
    assert_eq!(ids(q(8, -2, 4, 0, 0)), vec![9, 8, 7, 6]);
    assert_eq!(ids(q(3, 0, 5, 0, 0)), vec![2, 1]);
    assert_eq!(ids(q(0, 0, 100, 6, 3)), vec![5, 4]);
    assert_eq!(ids(q(0, 0, 0, 0, 0)), Vec::<i32>::new());
    let by_date = HistoryQuery {
        offset_date: T0 + 3,
        limit: 10,
        ..HistoryQuery::default()
    };
    assert_eq!(ids(by_date), vec![3, 2, 1]);
    assert_eq!(
        net.history(alice.id, Peer::User(bob.id), &q(0, 0, 1, 0, 0))
            .unwrap()
            .count,
        10
    );
}

#[test]
fn search_matches_words_and_prefixes_case_insensitively_within_dates() {
    let (net, clock) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    let carol = user(&net, "9996610003", "Carol");
    net.send_message(alice.id, Peer::User(bob.id), text("Invoice #1"))
        .unwrap();
    clock.advance(100);
    net.send_message(carol.id, Peer::User(alice.id), text("your INVOICE"))
        .unwrap();
    net.send_message(carol.id, Peer::User(alice.id), text("lunch?"))
        .unwrap();
    let all = net
        .search(
            alice.id,
            &SearchQuery {
                text: "invoice".into(),
                limit: 10,
                ..SearchQuery::default()
            },
        )
        .unwrap();
    let texts: Vec<&str> = all.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, vec!["your INVOICE", "Invoice #1"]);
    let in_bob = net
        .search(
            alice.id,
            &SearchQuery {
                text: "invoice".into(),
                peer: Some(Peer::User(bob.id)),
                limit: 10,
                ..SearchQuery::default()
            },
        )
        .unwrap();
    assert_eq!(in_bob.len(), 1);
    let early = net
        .search(
            alice.id,
            &SearchQuery {
                text: "invoice".into(),
                max_date: Some(T0 + 50),
                limit: 10,
                ..SearchQuery::default()
            },
        )
        .unwrap();
    assert_eq!(early[0].text, "Invoice #1");
    assert_eq!(early.len(), 1);
    // Words and word prefixes match, as in Telegram; the inside of a word
    // does not, and every word of the query must match.
    let hits = |q: &str| {
        net.search(
            alice.id,
            &SearchQuery {
                text: q.into(),
                limit: 10,
                ..SearchQuery::default()
            },
        )
        .unwrap()
        .len()
    };
    let below = net
        .search(
            alice.id,
            &SearchQuery {
                text: "invoice".into(),
                peer: Some(Peer::User(carol.id)),
                max_id: Some(i32::MAX),
                limit: 10,
                ..SearchQuery::default()
            },
        )
        .unwrap();
    let newest = below[0].id;
    let older = net
        .search(
            alice.id,
            &SearchQuery {
                text: "your".into(),
                peer: Some(Peer::User(carol.id)),
                max_id: Some(newest),
                limit: 10,
                ..SearchQuery::default()
            },
        )
        .unwrap();
    assert!(older.iter().all(|m| m.id < newest), "ids below max_id only");
    assert_eq!(hits("INV"), 2);
    assert_eq!(hits("voice"), 0);
    assert_eq!(hits("your inv"), 1);
    assert_eq!(hits("your lunch"), 0);
}

#[test]
fn difference_comes_in_slices() {
    let (net, _) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    // A client with no state (pts 0) before anything happened: nothing to
    // catch up, and it learns the sequence's current pts.
    let Difference::Full {
        new_messages,
        state,
        ..
    } = net.difference(bob.id, 0, 3).unwrap()
    else {
        panic!("nothing waits");
    };
    assert!(new_messages.is_empty());
    assert_eq!(state.pts, INITIAL_PTS);
    for i in 0..5 {
        net.send_message(alice.id, Peer::User(bob.id), text(&format!("m{i}")))
            .unwrap();
    }
    net.read_history(bob.id, Peer::User(alice.id), 0).unwrap();
    assert_eq!(net.updates_state(bob.id).unwrap().pts, INITIAL_PTS + 6);
    let Difference::Slice {
        new_messages,
        intermediate_state,
        ..
    } = net.difference(bob.id, INITIAL_PTS, 3).unwrap()
    else {
        panic!("more than 3 updates wait");
    };
    assert_eq!(new_messages.len(), 3);
    assert_eq!(intermediate_state.pts, INITIAL_PTS + 3);
    let Difference::Full {
        new_messages,
        other_updates,
        state,
    } = net.difference(bob.id, INITIAL_PTS + 3, 3).unwrap()
    else {
        panic!("the rest fits");
    };
    assert_eq!(
        (new_messages.len(), other_updates.len(), state.pts),
        (2, 1, INITIAL_PTS + 6)
    );
    // From pts 0 every logged update is new.
    let Difference::Slice { new_messages, .. } = net.difference(bob.id, 0, 3).unwrap() else {
        panic!("more than 3 updates wait");
    };
    assert_eq!(new_messages[0].text, "m0");
    assert!(matches!(
        net.difference(bob.id, INITIAL_PTS + 6, 0),
        Ok(Difference::Empty { .. })
    ));
    assert_eq!(
        net.difference(bob.id, INITIAL_PTS + 60, 0),
        Ok(Difference::TooLong {
            pts: INITIAL_PTS + 6
        })
    );
    // Too far behind: the caller's pts_total_limit, as Telegram reads it.
    assert_eq!(
        net.difference_within(bob.id, INITIAL_PTS, 0, Some(5)),
        Ok(Difference::TooLong {
            pts: INITIAL_PTS + 6
        })
    );
    assert!(matches!(
        net.difference_within(bob.id, INITIAL_PTS + 1, 0, Some(5)),
        Ok(Difference::Full { .. })
    ));
}

#[test]
fn a_session_too_far_behind_is_told_the_difference_is_too_long() {
    let net = Network::in_memory(Options {
        seed: Some(7),
        clock: Clock::manual(T0),
        max_difference: Some(3),
        ..Options::default()
    });
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    for i in 0..5 {
        net.send_message(alice.id, Peer::User(bob.id), text(&format!("m{i}")))
            .unwrap();
    }
    assert_eq!(
        net.difference(bob.id, INITIAL_PTS, 0),
        Ok(Difference::TooLong {
            pts: INITIAL_PTS + 5
        })
    );
    assert!(matches!(
        net.difference(bob.id, INITIAL_PTS + 2, 0),
        Ok(Difference::Full { .. })
    ));
}

// ---- migrating basic groups ----

/// team is a basic group of Alice (its creator), Bob and Carol, with one
/// message from Bob.
fn team(net: &Network) -> (User, User, User, Chat) {
    let alice = user(net, "9996610201", "Alice");
    let bob = user(net, "9996610202", "Bob");
    let carol = user(net, "9996610203", "Carol");
    let chat = net
        .create_chat(alice.id, "Team", &[bob.id, carol.id])
        .unwrap()
        .value;
    net.send_message(bob.id, Peer::Chat(chat.id), text("before"))
        .unwrap();
    (alice, bob, carol, chat)
}

#[test]
fn only_the_creator_migrates_a_group_and_only_once() {
    let (net, _) = network();
    let (alice, bob, _, chat) = team(&net);
    assert_eq!(
        net.migrate_chat(bob.id, chat.id).unwrap_err(),
        Error::ChatAdminRequired
    );
    assert_eq!(Error::ChatAdminRequired.code(), 403);
    assert_eq!(
        net.migrate_chat(alice.id, 999).unwrap_err(),
        Error::ChatIdInvalid
    );
    // A refusal changes nothing: the group still takes messages.
    assert_eq!(net.chat(chat.id).unwrap().migrated_to, None);
    net.send_message(bob.id, Peer::Chat(chat.id), text("still here"))
        .unwrap();

    let channel = net.migrate_chat(alice.id, chat.id).unwrap().value.channel;
    assert_eq!(
        net.migrate_chat(alice.id, chat.id).unwrap_err(),
        Error::ChatIdInvalid,
        "a deactivated group migrates no more"
    );
    assert_eq!(Error::ChatIdInvalid.code(), 400);
    assert_eq!(net.chat(chat.id).unwrap().migrated_to, Some(channel.id));
}

#[test]
fn a_migrated_group_ends_with_migrate_to_and_its_supergroup_starts_with_migrate_from() {
    let (net, _) = network();
    let (alice, bob, carol, chat) = team(&net);
    let bob_pts = net.updates_state(bob.id).unwrap().pts;
    let page = HistoryQuery {
        limit: 10,
        ..HistoryQuery::default()
    };
    let outcome = net.migrate_chat(alice.id, chat.id).unwrap();
    let channel = outcome.value.channel.clone();
    assert!(channel.megagroup);
    assert_eq!(
        (channel.title.as_str(), channel.creator),
        ("Team", alice.id)
    );
    let (_, members) = net.full_channel(carol.id, channel.id).unwrap();
    assert_eq!(members, 3, "every member of the group is in the supergroup");

    // Each member's box gets the group's last message, in its pts sequence,
    // then the supergroup's first message, in the channel's.
    let members_of = |pick: fn(&Update) -> bool| -> Vec<i64> {
        let mut users: Vec<i64> = outcome
            .deliveries
            .iter()
            .filter(|d| pick(&d.update))
            .map(|d| d.user_id)
            .collect();
        users.sort_unstable();
        users
    };
    let everyone = {
        let mut all = vec![alice.id, bob.id, carol.id];
        all.sort_unstable();
        all
    };
    assert_eq!(
        members_of(
            |u| matches!(u, Update::NewMessage { message } if message.action
            .as_ref()
            .is_some_and(|a| matches!(a, ServiceAction::ChatMigrateTo { .. })))
        ),
        everyone
    );
    assert_eq!(
        members_of(|u| matches!(u, Update::NewChannelMessage { .. })),
        everyone
    );
    let bobs_farewell = outcome
        .deliveries
        .iter()
        .find(|d| d.user_id == bob.id && matches!(d.update, Update::NewMessage { .. }))
        .unwrap();
    assert_eq!(
        bobs_farewell.pts,
        Some(Pts {
            pts: bob_pts + 1,
            pts_count: 1
        })
    );
    let Update::NewMessage { message: farewell } = &bobs_farewell.update else {
        unreachable!("picked above");
    };
    assert_eq!(farewell.peer, Peer::Chat(chat.id));
    assert_eq!(farewell.from_id, alice.id);
    assert_eq!(
        farewell.action,
        Some(ServiceAction::ChatMigrateTo {
            channel_id: channel.id
        })
    );
    let welcome = net
        .history(bob.id, Peer::Channel(channel.id), &page)
        .unwrap()
        .messages;
    assert_eq!(
        welcome.len(),
        1,
        "no channelCreate: the migration is the start"
    );
    assert_eq!(welcome[0].id, 1);
    assert_eq!(
        welcome[0].action,
        Some(ServiceAction::ChannelMigrateFrom {
            title: "Team".into(),
            chat_id: chat.id
        })
    );
    assert_eq!(net.channel_pts(channel.id), Some(INITIAL_PTS + 1));

    // The group's history ends with the farewell; the supergroup keeps
    // where each member's copy of it ends.
    let old = net
        .history(bob.id, Peer::Chat(chat.id), &page)
        .unwrap()
        .messages;
    assert_eq!(old[0].id, farewell.id);
    assert_eq!(old.last().unwrap().text, "", "the group's creation");
    assert!(old.iter().any(|m| m.text == "before"));
    let from = net.channel(channel.id).unwrap().migrated_from.unwrap();
    assert_eq!(from.chat_id, chat.id);
    assert_eq!(from.max_ids.get(&bob.id), Some(&farewell.id));
    assert_eq!(from.max_ids.len(), 3);

    // A member who was offline finds the farewell in getDifference.
    let Difference::Full { new_messages, .. } = net.difference(bob.id, bob_pts, 0).unwrap() else {
        panic!("one update is new");
    };
    assert_eq!(new_messages, vec![farewell.clone()]);
}

#[test]
fn nobody_writes_to_a_migrated_group_and_everyone_to_its_supergroup() {
    let (net, _) = network();
    let (alice, bob, carol, chat) = team(&net);
    let mine = net
        .send_message(alice.id, Peer::Chat(chat.id), text("mine"))
        .unwrap()
        .value
        .message;
    let channel = net.migrate_chat(alice.id, chat.id).unwrap().value.channel;

    let group = Peer::Chat(chat.id);
    assert_eq!(
        net.send_message(bob.id, group, text("hello?")).unwrap_err(),
        Error::PeerIdInvalid
    );
    assert_eq!(
        net.schedule_message(bob.id, group, text("later"), T0 + 60)
            .unwrap_err(),
        Error::PeerIdInvalid
    );
    assert_eq!(
        net.edit_message(alice.id, group, mine.id, "edited", None)
            .unwrap_err(),
        Error::PeerIdInvalid
    );
    assert_eq!(
        net.set_typing(bob.id, group, TypingAction::Typing)
            .unwrap_err(),
        Error::PeerIdInvalid
    );
    let note = net
        .send_message(alice.id, Peer::User(alice.id), text("note"))
        .unwrap()
        .value
        .message;
    assert_eq!(
        net.forward_messages(alice.id, Peer::User(alice.id), &[note.id], group, &[])
            .unwrap_err(),
        Error::PeerIdInvalid
    );
    // Its history stays readable, and can be read.
    assert!(net.read_history(bob.id, group, 0).is_ok());

    let sent = net
        .send_message(carol.id, Peer::Channel(channel.id), text("moved in"))
        .unwrap();
    assert_eq!(sent.value.message.id, 2);
    assert_eq!(sent.deliveries.len(), 3);
    let dialogs = net
        .dialogs(
            bob.id,
            &DialogsQuery {
                limit: 10,
                ..DialogsQuery::default()
            },
        )
        .unwrap();
    assert_eq!(dialogs.dialogs[0].peer, Peer::Channel(channel.id));
    assert!(dialogs.dialogs.iter().any(|d| d.peer == group));
}

#[test]
fn groups_and_channels_from_snapshots_before_migrations_still_load() {
    let (net, _) = network();
    let (alice, _, _, chat) = team(&net);
    let mut json = serde_json::to_value(&chat).unwrap();
    json.as_object_mut().unwrap().remove("migrated_to");
    assert_eq!(serde_json::from_value::<Chat>(json).unwrap(), chat);
    let channel = net
        .create_channel(alice.id, "News", false, None, &[])
        .unwrap()
        .value;
    let mut json = serde_json::to_value(&channel).unwrap();
    json.as_object_mut().unwrap().remove("migrated_from");
    assert_eq!(serde_json::from_value::<Channel>(json).unwrap(), channel);
}

#[tokio::test]
async fn a_migration_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        data_dir: Some(dir.path().to_path_buf()),
        seed: Some(3),
        clock: Clock::manual(T0),
        max_difference: None,
    };
    let net = Network::open(options.clone()).await.unwrap();
    let (alice, bob, _, chat) = team(&net);
    let channel = net.migrate_chat(alice.id, chat.id).unwrap().value.channel;
    net.shutdown().await.unwrap();

    let again = Network::open(options).await.unwrap();
    assert_eq!(again.chat(chat.id).unwrap().migrated_to, Some(channel.id));
    assert_eq!(again.channel(channel.id), Some(channel.clone()));
    assert_eq!(
        again
            .send_message(bob.id, Peer::Chat(chat.id), text("hello?"))
            .unwrap_err(),
        Error::PeerIdInvalid
    );
    again
        .send_message(bob.id, Peer::Channel(channel.id), text("here"))
        .unwrap();
    again.shutdown().await.unwrap();
}

// ---- persistence ----

#[tokio::test]
async fn snapshot_round_trips_through_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        data_dir: Some(dir.path().to_path_buf()),
        seed: Some(1),
        clock: Clock::manual(T0),
        max_difference: None,
    };
    let net = Network::open(options.clone()).await.unwrap();
    let alice = logged_in(&net, 11, "9996610001");
    let bob = user(&net, "9996610002", "Bob");
    net.send_message(alice.id, Peer::User(bob.id), text("persist me"))
        .unwrap();
    let channel = net
        .create_channel(alice.id, "C", true, Some("persisted"), &[bob.id])
        .unwrap()
        .value;
    net.read_history(bob.id, Peer::User(alice.id), 0).unwrap();
    let (bot, token) = net.create_bot("B", "persist_bot", None).unwrap();
    let dialogs_before = net
        .dialogs(
            bob.id,
            &DialogsQuery {
                limit: 10,
                ..DialogsQuery::default()
            },
        )
        .unwrap();
    net.shutdown().await.unwrap();
    assert!(dir.path().join(SNAPSHOT_FILE).exists());

    let again = Network::open(options).await.unwrap();
    assert_eq!(again.user(alice.id), Some(alice.clone()));
    assert_eq!(again.authorized_user(11), Ok(alice.id));
    assert_eq!(again.auth_key(11).map(|k| k.0), Some([11; 256]));
    assert_eq!(again.auth_keys().len(), 1);
    assert_eq!(
        format!("{:?}", again.auth_key(11).unwrap()),
        "AuthKeyBytes(..)"
    );
    assert_eq!(again.channel(channel.id), Some(channel));
    assert_eq!(
        again
            .dialogs(
                bob.id,
                &DialogsQuery {
                    limit: 10,
                    ..DialogsQuery::default()
                }
            )
            .unwrap(),
        dialogs_before
    );
    // The message and the read mark; channel posts have the channel's pts.
    assert_eq!(again.updates_state(bob.id).unwrap().pts, INITIAL_PTS + 2);
    again.register_auth_key(12, [12; 256], None);
    assert_eq!(again.import_bot_authorization(12, &token), Ok(bot));
    // Ids continue where they stopped.
    let carol = user(&again, "9996610003", "Carol");
    assert!(carol.id > bob.id);
    again.shutdown().await.unwrap();
}

#[tokio::test]
async fn changes_are_written_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let net = Network::open(Options {
        data_dir: Some(dir.path().to_path_buf()),
        ..Options::default()
    })
    .await
    .unwrap();
    user(&net, "9996610001", "Alice");
    let path = dir.path().join(SNAPSHOT_FILE);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no snapshot within 5 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let text = tokio::fs::read_to_string(&path).await.unwrap();
    assert!(text.contains("9996610001"));
    net.shutdown().await.unwrap();
}

// ---- invariants ----

#[derive(Debug, Clone)]
enum Op {
    Send {
        from: usize,
        to: usize,
    },
    SendGroup {
        from: usize,
    },
    SendChannel,
    Edit {
        user: usize,
        pick: usize,
    },
    Delete {
        user: usize,
        pick: usize,
        revoke: bool,
    },
    Read {
        user: usize,
        peer: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..3usize).prop_map(|(from, to)| Op::Send { from, to }),
        2 => (0..3usize).prop_map(|from| Op::SendGroup { from }),
        1 => Just(Op::SendChannel),
        1 => (0..3usize, 0..50usize).prop_map(|(user, pick)| Op::Edit { user, pick }),
        2 => (0..3usize, 0..50usize, any::<bool>()).prop_map(|(user, pick, revoke)| Op::Delete { user, pick, revoke }),
        2 => (0..3usize, 0..3usize).prop_map(|(user, peer)| Op::Read { user, peer }),
    ]
}

fn apply(net: &Network, users: &[User], chat: i64, channel: i64, op: &Op) -> Vec<Delivery> {
    let id_at = |user: usize, pick: usize| -> Option<(Peer, i32)> {
        let all = net
            .search(
                users[user].id,
                &SearchQuery {
                    limit: 100,
                    ..SearchQuery::default()
                },
            )
            .ok()?;
        let boxed: Vec<&Message> = all
            .iter()
            .filter(|m| !matches!(m.peer, Peer::Channel(_)))
            .collect();
        let m = boxed.get(pick % boxed.len().max(1))?;
        Some((m.peer, m.id))
    };
    let result = match op {
        Op::Send { from, to } => net
            .send_message(users[*from].id, Peer::User(users[*to].id), text("x"))
            .map(|o| o.deliveries),
        Op::SendGroup { from } => net
            .send_message(users[*from].id, Peer::Chat(chat), text("g"))
            .map(|o| o.deliveries),
        Op::SendChannel => net
            .send_message(users[0].id, Peer::Channel(channel), text("c"))
            .map(|o| o.deliveries),
        Op::Edit { user, pick } => match id_at(*user, *pick) {
            Some((peer, id)) => net
                .edit_message(users[*user].id, peer, id, &format!("e{pick}"), None)
                .map(|o| o.deliveries),
            None => Ok(Vec::new()),
        },
        Op::Delete { user, pick, revoke } => match id_at(*user, *pick) {
            Some((_, id)) => net
                .delete_messages(users[*user].id, &[id], *revoke)
                .map(|o| o.deliveries),
            None => Ok(Vec::new()),
        },
        Op::Read { user, peer } => net
            .read_history(users[*user].id, Peer::User(users[*peer].id), 0)
            .map(|o| o.deliveries),
    };
    // Refusals (e.g. editing someone else's message) are fine; they deliver nothing.
    result.unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn pts_sequences_have_no_gaps_and_difference_resumes_anywhere(
        ops in proptest::collection::vec(op(), 1..40),
        limit in 1usize..8,
    ) {
        let (net, clock) = network();
        let users: Vec<User> = (0..3)
            .map(|i| user(&net, &format!("999661000{i}"), "U"))
            .collect();
        let chat = net.create_chat(users[0].id, "G", &[users[1].id, users[2].id]).unwrap();
        let channel = net
            .create_channel(users[0].id, "C", false, None, &[users[1].id, users[2].id])
            .unwrap();
        let mut seen: std::collections::BTreeMap<i64, Vec<Pts>> = Default::default();
        let mut record = |deliveries: Vec<Delivery>| {
            for delivery in deliveries {
                let channel_update = matches!(
                    delivery.update,
                    Update::NewChannelMessage { .. }
                        | Update::EditChannelMessage { .. }
                        | Update::DeleteChannelMessages { .. }
                );
                if let (Some(pts), false) = (delivery.pts, channel_update) {
                    seen.entry(delivery.user_id).or_default().push(pts);
                }
            }
        };
        record(chat.deliveries);
        record(channel.deliveries);
        let (chat, channel) = (chat.value.id, channel.value.id);
        for op in &ops {
            record(apply(&net, &users, chat, channel, op));
            clock.advance(1);
        }
        for u in &users {
            // Live deliveries chain without gaps from where the sequence
            // starts up to the user's pts.
            let state = net.updates_state(u.id).unwrap();
            let mut expected = INITIAL_PTS;
            for pts in seen.get(&u.id).into_iter().flatten() {
                prop_assert!(pts.pts_count >= 1);
                prop_assert_eq!(pts.pts - pts.pts_count, expected);
                expected = pts.pts;
            }
            prop_assert_eq!(expected, state.pts);

            // Walking the difference from any pts the sequence has held in
            // slices visits exactly the updates after it, in order.
            for start in INITIAL_PTS..=state.pts {
                let mut pts = start;
                let mut count = 0usize;
                loop {
                    match net.difference(u.id, pts, limit).unwrap() {
                        Difference::Empty { .. } => break,
                        Difference::Full { new_messages, other_updates, state: s } => {
                            count += new_messages.len() + other_updates.len();
                            prop_assert_eq!(s.pts, state.pts);
                            pts = s.pts;
                            break;
                        }
                        Difference::Slice { new_messages, other_updates, intermediate_state } => {
                            let n = new_messages.len() + other_updates.len();
                            prop_assert_eq!(n, limit);
                            prop_assert!(intermediate_state.pts > pts);
                            count += n;
                            pts = intermediate_state.pts;
                        }
                        Difference::TooLong { .. } => prop_assert!(false, "pts within range"),
                    }
                }
                prop_assert_eq!(pts, state.pts);
                let expected_updates = net.inner.lock().users[&u.id]
                    .updates
                    .iter()
                    .filter(|e| e.pts > start)
                    .count();
                prop_assert_eq!(count, expected_updates);
            }
        }
        // The channel's own sequence is gapless too, from its start.
        let mut cursor = INITIAL_PTS;
        let pts = loop {
            match net.channel_difference(users[1].id, channel, cursor, limit).unwrap() {
                ChannelDifference::Empty { pts: p } => break p,
                ChannelDifference::Difference { pts: p, is_final, .. } => {
                    prop_assert!(p > cursor);
                    cursor = p;
                    if is_final {
                        break p;
                    }
                }
                ChannelDifference::TooLong { .. } => {
                    prop_assert!(false, "the default max_difference is never reached here");
                }
            }
        };
        let log = &net.inner.lock().channels[&channel].updates;
        let mut prev = INITIAL_PTS;
        for entry in log.iter() {
            prop_assert_eq!(entry.pts - entry.pts_count, prev);
            prev = entry.pts;
        }
        prop_assert_eq!(pts, prev);
    }

    #[test]
    fn dialog_pages_list_every_dialog_once_in_order(
        senders in proptest::collection::vec((0..8usize, 0..3i64), 1..40),
        page in 1usize..5,
    ) {
        let (net, clock) = network();
        let me = user(&net, "9996620000", "Me");
        let others: Vec<User> = (0..8).map(|i| user(&net, &format!("999662100{i}"), "O")).collect();
        for (who, step) in &senders {
            net.send_message(others[*who].id, Peer::User(me.id), text("hi")).unwrap();
            clock.advance(*step);
        }
        let all = net.dialogs(me.id, &DialogsQuery { limit: 100, ..DialogsQuery::default() }).unwrap();
        let mut walked = Vec::new();
        let mut query = DialogsQuery { limit: page, ..DialogsQuery::default() };
        loop {
            let got = net.dialogs(me.id, &query).unwrap();
            prop_assert_eq!(got.count, all.count);
            let Some(last) = got.dialogs.last().cloned() else { break };
            walked.extend(got.dialogs);
            query = DialogsQuery {
                offset_date: last.top_message_date,
                offset_id: last.top_message,
                offset_peer: Some(last.peer),
                limit: page,
            };
        }
        prop_assert_eq!(&walked, &all.dialogs);
        for pair in walked.windows(2) {
            prop_assert!(pair[0].top_message_date >= pair[1].top_message_date);
        }
    }
}

// ---- documents ----

async fn share_document(net: &Network, from: &User, to: &User, bytes: Vec<u8>) -> Document {
    let document = net
        .store_document(NewDocument {
            uploader: from.id,
            bytes,
            mime_type: "application/pdf".into(),
            file_name: "a.pdf".into(),
            photo: None,
        })
        .await
        .unwrap();
    let sent = net
        .send_message(
            from.id,
            Peer::User(to.id),
            OutgoingMessage {
                media: Some(Media::Document(document.clone())),
                random_id: Some(5),
                ..OutgoingMessage::default()
            },
        )
        .unwrap();
    // An empty caption is fine with media; both copies carry it.
    assert_eq!(
        sent.value.message.media,
        Some(Media::Document(document.clone()))
    );
    let Update::NewMessage { message } = &sent.deliveries[1].update else {
        panic!("a new message for the recipient");
    };
    assert_eq!(message.media, Some(Media::Document(document.clone())));
    document
}

fn last_media(net: &Network, viewer: i64, peer: Peer) -> Option<Media> {
    let page = net
        .history(
            viewer,
            peer,
            &HistoryQuery {
                limit: 1,
                ..HistoryQuery::default()
            },
        )
        .unwrap();
    page.messages[0].media.clone()
}

#[tokio::test]
async fn documents_are_served_in_ranges_to_holders_of_their_reference() {
    let (net, _) = network();
    let alice = user(&net, "9996610101", "Alice");
    let bob = user(&net, "9996610102", "Bob");
    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let doc = share_document(&net, &alice, &bob, bytes.clone()).await;
    assert_eq!(doc.size, 10_000);
    assert_eq!(doc.dc_id, crate::DC_ID);
    let read = |offset, limit| {
        net.read_document(
            doc.id,
            doc.access_hash,
            &doc.file_reference,
            offset,
            limit,
            false,
        )
    };
    assert_eq!(read(0, 4096).await.unwrap().1, bytes[..4096]);
    assert_eq!(read(8192, 4096).await.unwrap().1, bytes[8192..]);
    assert_eq!(read(12288, 4096).await.unwrap().1, Vec::<u8>::new());
    assert_eq!(read(0, 1000).await, Err(Error::LimitInvalid));
    assert_eq!(read(100, 4096).await, Err(Error::OffsetInvalid));
    assert_eq!(
        net.read_document(doc.id, doc.access_hash, b"stale", 0, 4096, false)
            .await,
        Err(Error::FileReferenceExpired)
    );
    assert_eq!(
        net.read_document(
            doc.id,
            doc.access_hash ^ 1,
            &doc.file_reference,
            0,
            4096,
            false
        )
        .await,
        Err(Error::LocationInvalid)
    );
    assert_eq!(
        net.read_document(
            doc.id + 1,
            doc.access_hash,
            &doc.file_reference,
            0,
            4096,
            false
        )
        .await,
        Err(Error::LocationInvalid)
    );
}

#[test]
fn get_file_ranges_follow_telegram() {
    assert_eq!(check_range(0, 512 * 1024, false), Ok(()));
    assert_eq!(check_range(512 * 1024, 512 * 1024, false), Ok(()));
    assert_eq!(check_range(0, 1024 * 1024, false), Ok(()));
    assert_eq!(check_range(4096, 4096, false), Ok(()));
    assert_eq!(check_range(0, 0, false), Err(Error::LimitInvalid));
    assert_eq!(
        check_range(0, 2 * 1024 * 1024, false),
        Err(Error::LimitInvalid)
    );
    // 12 KiB does not divide 1 MiB.
    assert_eq!(check_range(0, 12 * 1024, false), Err(Error::LimitInvalid));
    assert_eq!(check_range(-4096, 4096, false), Err(Error::OffsetInvalid));
    assert_eq!(check_range(1024, 4096, false), Err(Error::OffsetInvalid));
    // A range may not cross a 1 MiB boundary.
    assert_eq!(
        check_range(1024 * 1024 - 4096, 8192, false),
        Err(Error::LimitInvalid)
    );
    // precise: 1 KiB steps, any limit up to 1 MiB.
    assert_eq!(check_range(1024, 3 * 1024, true), Ok(()));
    assert_eq!(check_range(1000, 1024, true), Err(Error::OffsetInvalid));
}

#[tokio::test]
async fn documents_survive_a_restart_as_files_beside_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        data_dir: Some(dir.path().to_path_buf()),
        seed: Some(3),
        clock: Clock::manual(T0),
        max_difference: None,
    };
    let net = Network::open(options.clone()).await.unwrap();
    let alice = user(&net, "9996610111", "Alice");
    let bob = user(&net, "9996610112", "Bob");
    let bytes: Vec<u8> = (0..300 * 1024u32).map(|i| (i % 253) as u8).collect();
    let doc = share_document(&net, &alice, &bob, bytes.clone()).await;
    net.shutdown().await.unwrap();
    // The bytes are a file of their own, not part of the snapshot.
    let files: Vec<_> = std::fs::read_dir(dir.path().join(FILES_DIR))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1);
    let snapshot = std::fs::metadata(dir.path().join(SNAPSHOT_FILE)).unwrap();
    assert!(snapshot.len() < 100 * 1024);

    let again = Network::open(options).await.unwrap();
    assert_eq!(again.document(doc.id), Some(doc.clone()));
    assert_eq!(
        last_media(&again, bob.id, Peer::User(alice.id)),
        Some(Media::Document(doc.clone()))
    );
    let mut got = Vec::new();
    for offset in [0, 256 * 1024] {
        let (_, chunk) = again
            .read_document(
                doc.id,
                doc.access_hash,
                &doc.file_reference,
                offset,
                256 * 1024,
                false,
            )
            .await
            .unwrap();
        got.extend(chunk);
    }
    assert!(got == bytes);
    again.shutdown().await.unwrap();
}

#[test]
fn messages_from_snapshots_without_media_still_load() {
    let (net, _) = network();
    let alice = user(&net, "9996610121", "Alice");
    let bob = user(&net, "9996610122", "Bob");
    let sent = net
        .send_message(alice.id, Peer::User(bob.id), text("old"))
        .unwrap()
        .value
        .message;
    let mut json = serde_json::to_value(&sent).unwrap();
    json.as_object_mut().unwrap().remove("media");
    let old: Message = serde_json::from_value(json).unwrap();
    assert_eq!(old, sent);
}

// ---- scheduled messages ----

#[test]
fn scheduled_messages_wait_in_the_senders_schedule_until_their_date() {
    let (net, clock) = network();
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    let history = |viewer: i64, with: i64| -> Vec<String> {
        net.history(
            viewer,
            Peer::User(with),
            &HistoryQuery {
                limit: 100,
                ..HistoryQuery::default()
            },
        )
        .unwrap()
        .messages
        .into_iter()
        .map(|m| m.text)
        .collect()
    };
    let later = |t: &str, random_id: i64| OutgoingMessage {
        random_id: Some(random_id),
        ..text(t)
    };
    assert_eq!(
        net.schedule_message(alice.id, Peer::User(bob.id), later("now", 1), T0)
            .unwrap_err(),
        Error::ScheduleDateInvalid
    );
    assert_eq!(
        net.schedule_message(
            alice.id,
            Peer::User(bob.id),
            later("next year", 1),
            T0 + MAX_SCHEDULE_AHEAD + 1
        )
        .unwrap_err(),
        Error::ScheduleDateTooLate
    );
    let scheduled = net
        .schedule_message(alice.id, Peer::User(bob.id), later("see you", 7), T0 + 60)
        .unwrap();
    assert_eq!(
        scheduled.value.message.id, 1,
        "the schedule numbers its own"
    );
    assert_eq!(scheduled.value.message.date, T0 + 60);
    assert!(matches!(
        scheduled.deliveries.as_slice(),
        [Delivery { user_id, update: Update::NewScheduledMessage { .. }, pts: None, .. }] if *user_id == alice.id
    ));
    // A resend of the same request is the same scheduled message.
    let again = net
        .schedule_message(alice.id, Peer::User(bob.id), later("see you", 7), T0 + 60)
        .unwrap();
    assert_eq!(again.value.message.id, 1);
    assert!(again.deliveries.is_empty());
    assert_eq!(net.next_scheduled(), Some(T0 + 60));

    clock.advance(59);
    assert!(net.fire_scheduled().is_empty(), "not due yet");
    assert!(history(bob.id, alice.id).is_empty());
    assert!(history(alice.id, bob.id).is_empty());

    clock.advance(1);
    let fired = net.fire_scheduled();
    assert_eq!(history(bob.id, alice.id), ["see you"]);
    assert_eq!(history(alice.id, bob.id), ["see you"]);
    let sent_id = fired
        .iter()
        .find_map(|d| match &d.update {
            Update::NewMessage { message } if d.user_id == alice.id => Some(message.id),
            _ => None,
        })
        .expect("alice's copy");
    assert!(fired.iter().any(|d| d.user_id == alice.id
        && d.pts.is_none()
        && d.update
            == Update::DeleteScheduledMessages {
                peer: Peer::User(bob.id),
                ids: vec![1],
                sent: vec![sent_id],
            }));
    assert!(net.fire_scheduled().is_empty(), "sent once");
    assert_eq!(net.next_scheduled(), None);
    // The request's random_id now names the sent message.
    assert_eq!(
        net.schedule_message(alice.id, Peer::User(bob.id), later("see you", 7), T0 + 120)
            .unwrap_err(),
        Error::RandomIdDuplicate
    );
    let resent = net
        .send_message(alice.id, Peer::User(bob.id), later("see you", 7))
        .unwrap();
    assert_eq!(resent.value.message.id, sent_id);
    assert_eq!(history(bob.id, alice.id).len(), 1);
}

#[test]
fn a_channel_difference_too_far_behind_is_too_long_with_the_dialog_as_it_is() {
    let clock = Clock::manual(T0);
    let net = Network::in_memory(Options {
        data_dir: None,
        seed: Some(7),
        clock,
        max_difference: Some(3),
    });
    let alice = user(&net, "9996610001", "Alice");
    let bob = user(&net, "9996610002", "Bob");
    let channel = net
        .create_channel(alice.id, "Team", true, None, &[bob.id])
        .unwrap()
        .value;
    let start = net.channel_pts(channel.id).unwrap();
    for i in 0..5 {
        net.send_message(alice.id, Peer::Channel(channel.id), text(&format!("p{i}")))
            .unwrap();
    }
    let now = net.channel_pts(channel.id).unwrap();
    assert_eq!(now, start + 5);
    // Three behind: the difference itself.
    assert!(matches!(
        net.channel_difference(bob.id, channel.id, now - 3, 0),
        Ok(ChannelDifference::Difference { .. })
    ));
    // Five behind: too long, with the dialog (its pts) and the newest posts.
    let Ok(ChannelDifference::TooLong { dialog, messages }) =
        net.channel_difference(bob.id, channel.id, start, 2)
    else {
        panic!("five behind is too long");
    };
    assert_eq!(dialog.peer, Peer::Channel(channel.id));
    assert_eq!(dialog.pts, Some(now));
    // The supergroup's creation and the five posts.
    assert_eq!(dialog.unread_count, 6);
    let texts: Vec<_> = messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["p4", "p3"]);
}
