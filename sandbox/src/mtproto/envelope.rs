//! Encrypted payloads, the plaintext envelope inside them, and the messages
//! it carries (containers, gzip_packed, service messages, RPC wrappers).
//!
//! Layout (`grammers-mtproto-0.11.0/src/mtp/encrypted.rs`, `finalize_plain`,
//! `serialize_msg`; `grammers-crypto-0.11.0/src/lib.rs`, `do_encrypt_data_v2`):
//!
//! ```text
//! payload   = auth_key_id:8 ‖ msg_key:16 ‖ AES-IGE(plaintext)
//! plaintext = salt:8 ‖ session_id:8 ‖ msg_id:8 ‖ seq_no:4 ‖ length:4 ‖ body ‖ padding(12..1024)
//! ```

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use flate2::read::GzDecoder;
use grammers_tl_types::{self as tl, Cursor, Deserializable, Identifiable, Serializable};
use rand::Rng;

use super::crypto::{self, AuthKey, DecryptError, Direction};

/// `msg_container#73f1f8dc messages:vector<%Message> = MessageContainer`.
pub const MSG_CONTAINER: u32 = 0x73f1_f8dc;
/// `gzip_packed#3072cfa1 packed_data:bytes = Object`.
pub const GZIP_PACKED: u32 = 0x3072_cfa1;
/// `rpc_result#f35c6d01 req_msg_id:long result:Object = RpcResult`.
pub const RPC_RESULT: u32 = 0xf35c_6d01;

/// salt, session_id, msg_id, seq_no, length.
const ENVELOPE_HEADER_LEN: usize = 8 + 8 + 8 + 4 + 4;
const MIN_PADDING: usize = 12;
const MAX_PADDING: usize = 1024;
/// Containers hold at most this many messages (grammers sends ≤ 100).
const MAX_CONTAINER_LEN: usize = 1024;
/// A gzip_packed body may not inflate beyond this (a zip bomb guard).
const MAX_INFLATED_LEN: usize = 16 << 20;

/// Why an incoming payload or message was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// auth_key_id 0: an unencrypted (key exchange) message.
    #[error("plaintext message")]
    Plaintext,
    /// The payload is shorter than its headers or its ciphertext is unaligned.
    #[error("bad payload length {len}")]
    BadPayloadLength { len: usize },
    /// The msg_key does not match.
    #[error("msg_key mismatch")]
    MsgKeyMismatch,
    /// The envelope's length field or padding is out of bounds.
    #[error("bad envelope: {0}")]
    BadEnvelope(&'static str),
    /// A container, gzip_packed or service message is malformed.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
}

/// One message: the unit of msg_id and seq_no.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Client msg_ids are ≡ 0 mod 4; server ones are odd.
    pub msg_id: i64,
    /// Odd for content-related messages.
    pub seq_no: i32,
    /// The TL-serialized object.
    pub body: Vec<u8>,
}

/// The decrypted envelope of one payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub salt: i64,
    pub session_id: i64,
    pub message: Message,
}

/// The auth_key_id a payload starts with, if it is long enough to have one.
pub fn payload_auth_key_id(payload: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = payload.get(..8)?.try_into().ok()?;
    Some(i64::from_le_bytes(bytes))
}

/// Serializes, pads and encrypts an envelope in the given direction.
pub fn seal(key: &AuthKey, direction: Direction, envelope: &Envelope) -> Vec<u8> {
    let body_len = envelope.message.body.len();
    let mut plaintext = Vec::with_capacity(ENVELOPE_HEADER_LEN + body_len + 64);
    envelope.salt.serialize(&mut plaintext);
    envelope.session_id.serialize(&mut plaintext);
    envelope.message.msg_id.serialize(&mut plaintext);
    envelope.message.seq_no.serialize(&mut plaintext);
    (body_len as i32).serialize(&mut plaintext);
    plaintext.extend_from_slice(&envelope.message.body);

    // 12..1024 random bytes that make the total a multiple of 16; a random
    // number of extra blocks hides the exact length, as the spec suggests.
    let mut rng = rand::rng();
    let mut padding = MIN_PADDING + (16 - (plaintext.len() + MIN_PADDING) % 16) % 16;
    padding += 16 * rng.random_range(0..4);
    debug_assert!((MIN_PADDING..=MAX_PADDING).contains(&padding));
    let start = plaintext.len();
    plaintext.resize(start + padding, 0);
    rng.fill(&mut plaintext[start..]);

    crypto::encrypt(key, direction, &plaintext)
}

/// Decrypts and validates a payload whose key is already known.
pub fn open(
    key: &AuthKey,
    direction: Direction,
    payload: &[u8],
) -> Result<Envelope, EnvelopeError> {
    match payload_auth_key_id(payload) {
        Some(0) => return Err(EnvelopeError::Plaintext),
        Some(_) => {}
        None => return Err(EnvelopeError::BadPayloadLength { len: payload.len() }),
    }
    // auth_key_id, msg_key, and at least the envelope header plus minimal padding.
    if payload.len() < 24 + ENVELOPE_HEADER_LEN + MIN_PADDING {
        return Err(EnvelopeError::BadPayloadLength { len: payload.len() });
    }
    let msg_key: [u8; 16] = payload[8..24]
        .try_into()
        .expect("the length was checked above");
    let plaintext =
        crypto::decrypt(key, direction, &msg_key, &payload[24..]).map_err(|e| match e {
            DecryptError::BadLength => EnvelopeError::BadPayloadLength { len: payload.len() },
            DecryptError::MsgKeyMismatch => EnvelopeError::MsgKeyMismatch,
        })?;
    parse_plaintext(&plaintext)
}

fn parse_plaintext(plaintext: &[u8]) -> Result<Envelope, EnvelopeError> {
    let mut cursor = Cursor::from_slice(plaintext);
    let header = |e| EnvelopeError::BadEnvelope(e);
    let salt = i64::deserialize(&mut cursor).map_err(|_| header("short header"))?;
    let session_id = i64::deserialize(&mut cursor).map_err(|_| header("short header"))?;
    let msg_id = i64::deserialize(&mut cursor).map_err(|_| header("short header"))?;
    let seq_no = i32::deserialize(&mut cursor).map_err(|_| header("short header"))?;
    let length = i32::deserialize(&mut cursor).map_err(|_| header("short header"))?;
    let length = usize::try_from(length).map_err(|_| header("negative length"))?;
    if length % 4 != 0 {
        return Err(header("unaligned length"));
    }
    let Some(padding) = plaintext.len().checked_sub(ENVELOPE_HEADER_LEN + length) else {
        return Err(header("length beyond the plaintext"));
    };
    if !(MIN_PADDING..=MAX_PADDING).contains(&padding) {
        return Err(header("padding out of 12..1024"));
    }
    let body = plaintext[ENVELOPE_HEADER_LEN..ENVELOPE_HEADER_LEN + length].to_vec();
    Ok(Envelope {
        salt,
        session_id,
        message: Message {
            msg_id,
            seq_no,
            body,
        },
    })
}

/// The constructor id a TL body starts with.
pub fn constructor_id(body: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = body.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

/// The messages a top-level message carries: the message itself, or the
/// contents of its `msg_container` (which may not nest), each with any
/// `gzip_packed` body inflated.
pub fn flatten(message: Message) -> Result<Vec<Message>, EnvelopeError> {
    if constructor_id(&message.body) != Some(MSG_CONTAINER) {
        return Ok(vec![unpack_gzip(message)?]);
    }
    let mut cursor = Cursor::from_slice(&message.body[4..]);
    let malformed = |_| EnvelopeError::Malformed("truncated container");
    let count = i32::deserialize(&mut cursor).map_err(malformed)?;
    let count = usize::try_from(count)
        .ok()
        .filter(|n| *n <= MAX_CONTAINER_LEN)
        .ok_or(EnvelopeError::Malformed("bad container length"))?;
    let mut messages = Vec::with_capacity(count);
    for _ in 0..count {
        let msg_id = i64::deserialize(&mut cursor).map_err(malformed)?;
        let seq_no = i32::deserialize(&mut cursor).map_err(malformed)?;
        let len = i32::deserialize(&mut cursor).map_err(malformed)?;
        let len = usize::try_from(len)
            .ok()
            .filter(|n| n % 4 == 0 && *n <= message.body.len())
            .ok_or(EnvelopeError::Malformed("bad message length in container"))?;
        let mut body = vec![0; len];
        cursor.read_exact(&mut body).map_err(malformed)?;
        if constructor_id(&body) == Some(MSG_CONTAINER) {
            return Err(EnvelopeError::Malformed("nested container"));
        }
        messages.push(unpack_gzip(Message {
            msg_id,
            seq_no,
            body,
        })?);
    }
    Ok(messages)
}

/// Serializes messages into a `msg_container` body.
pub fn container_body(messages: &[Message]) -> Vec<u8> {
    let mut body = Vec::new();
    MSG_CONTAINER.serialize(&mut body);
    (messages.len() as i32).serialize(&mut body);
    for message in messages {
        message.msg_id.serialize(&mut body);
        message.seq_no.serialize(&mut body);
        (message.body.len() as i32).serialize(&mut body);
        body.extend_from_slice(&message.body);
    }
    body
}

fn unpack_gzip(message: Message) -> Result<Message, EnvelopeError> {
    if constructor_id(&message.body) != Some(GZIP_PACKED) {
        return Ok(message);
    }
    let packed = Vec::<u8>::from_bytes(&message.body[4..])
        .map_err(|_| EnvelopeError::Malformed("truncated gzip_packed"))?;
    let mut inflated = Vec::new();
    GzDecoder::new(packed.as_slice())
        .take(MAX_INFLATED_LEN as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|_| EnvelopeError::Malformed("bad gzip stream"))?;
    if inflated.len() > MAX_INFLATED_LEN {
        return Err(EnvelopeError::Malformed("gzip_packed inflates too far"));
    }
    if constructor_id(&inflated).is_none() {
        return Err(EnvelopeError::Malformed("empty gzip_packed"));
    }
    Ok(Message {
        body: inflated,
        ..message
    })
}

/// Serializes a body into `gzip_packed`.
pub fn gzip_body(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(body)
        .expect("writing into a Vec cannot fail");
    let packed = encoder.finish().expect("writing into a Vec cannot fail");
    let mut out = Vec::with_capacity(packed.len() + 8);
    GZIP_PACKED.serialize(&mut out);
    packed.serialize(&mut out);
    out
}

/// The device and app a client described in `initConnection`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub api_id: i32,
    pub device_model: String,
    pub system_version: String,
    pub app_version: String,
    pub system_lang_code: String,
    pub lang_pack: String,
    pub lang_code: String,
}

/// A client message, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// `msgs_ack` and other service messages that need no answer.
    NoAnswer { constructor: u32 },
    /// `ping` or `ping_delay_disconnect`: answer `pong{msg_id, ping_id}`.
    Ping { msg_id: i64, ping_id: i64 },
    /// `get_future_salts`: answered with `future_salts` (not in `rpc_result`).
    GetFutureSalts { msg_id: i64, num: i32 },
    /// An RPC call, wrappers removed.
    Call(Call),
}

/// An RPC call with its wrappers (`invokeWithLayer`, `initConnection`,
/// `invokeWithoutUpdates`, `invokeAfterMsg(s)`) removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub msg_id: i64,
    /// The layer from `invokeWithLayer`, if this call carried one.
    pub layer: Option<i32>,
    /// The `initConnection` fields, if this call carried them.
    pub client: Option<ClientInfo>,
    /// The function, constructor id first. Undecodable wrappers leave this as
    /// the original body and set `malformed`.
    pub body: Vec<u8>,
    /// A wrapper could not be decoded: answer 400 `INPUT_FETCH_ERROR`.
    pub malformed: bool,
}

/// The rest of a wrapped query: lets grammers' generated wrapper structs
/// deserialize their own fields and hand us the inner function untouched.
struct Rest(Vec<u8>);

impl Deserializable for Rest {
    fn deserialize(buf: &mut Cursor) -> tl::deserialize::Result<Self> {
        let mut rest = Vec::new();
        buf.read_to_end(&mut rest)?;
        Ok(Rest(rest))
    }
}

fn parse_wrapper<T: Deserializable>(body: &[u8]) -> Option<T> {
    T::deserialize(&mut Cursor::from_slice(&body[4..])).ok()
}

/// Classifies one (already unpacked) client message.
pub fn classify(message: Message) -> Result<Inbound, EnvelopeError> {
    use tl::functions as f;
    use tl::types as t;
    let Some(id) = constructor_id(&message.body) else {
        return Err(EnvelopeError::Malformed("empty message body"));
    };
    let msg_id = message.msg_id;
    match id {
        t::MsgsAck::CONSTRUCTOR_ID
        | t::MsgsStateReq::CONSTRUCTOR_ID
        | t::MsgResendReq::CONSTRUCTOR_ID
        | t::MsgsAllInfo::CONSTRUCTOR_ID
        | t::HttpWait::CONSTRUCTOR_ID => Ok(Inbound::NoAnswer { constructor: id }),
        f::Ping::CONSTRUCTOR_ID => {
            let ping = parse_wrapper::<f::Ping>(&message.body)
                .ok_or(EnvelopeError::Malformed("truncated ping"))?;
            Ok(Inbound::Ping {
                msg_id,
                ping_id: ping.ping_id,
            })
        }
        f::PingDelayDisconnect::CONSTRUCTOR_ID => {
            let ping = parse_wrapper::<f::PingDelayDisconnect>(&message.body)
                .ok_or(EnvelopeError::Malformed("truncated ping_delay_disconnect"))?;
            Ok(Inbound::Ping {
                msg_id,
                ping_id: ping.ping_id,
            })
        }
        f::GetFutureSalts::CONSTRUCTOR_ID => {
            let request = parse_wrapper::<f::GetFutureSalts>(&message.body)
                .ok_or(EnvelopeError::Malformed("truncated get_future_salts"))?;
            Ok(Inbound::GetFutureSalts {
                msg_id,
                num: request.num,
            })
        }
        _ => Ok(Inbound::Call(unwrap_call(msg_id, message.body))),
    }
}

/// Removes invocation wrappers, remembering what they said.
pub fn unwrap_call(msg_id: i64, body: Vec<u8>) -> Call {
    use tl::functions as f;
    let mut call = Call {
        msg_id,
        layer: None,
        client: None,
        body,
        malformed: false,
    };
    // Each wrapper is at least 4 bytes, so this terminates; the bound only
    // keeps a hostile chain of wrappers cheap.
    for _ in 0..16 {
        let inner = match constructor_id(&call.body) {
            Some(f::InvokeWithLayer::<()>::CONSTRUCTOR_ID) => {
                parse_wrapper::<f::InvokeWithLayer<Rest>>(&call.body).map(|w| {
                    call.layer = Some(w.layer);
                    w.query.0
                })
            }
            Some(f::InitConnection::<()>::CONSTRUCTOR_ID) => {
                parse_wrapper::<f::InitConnection<Rest>>(&call.body).map(|w| {
                    call.client = Some(ClientInfo {
                        api_id: w.api_id,
                        device_model: w.device_model,
                        system_version: w.system_version,
                        app_version: w.app_version,
                        system_lang_code: w.system_lang_code,
                        lang_pack: w.lang_pack,
                        lang_code: w.lang_code,
                    });
                    w.query.0
                })
            }
            Some(f::InvokeWithoutUpdates::<()>::CONSTRUCTOR_ID) => {
                parse_wrapper::<f::InvokeWithoutUpdates<Rest>>(&call.body).map(|w| w.query.0)
            }
            Some(f::InvokeAfterMsg::<()>::CONSTRUCTOR_ID) => {
                parse_wrapper::<f::InvokeAfterMsg<Rest>>(&call.body).map(|w| w.query.0)
            }
            Some(f::InvokeAfterMsgs::<()>::CONSTRUCTOR_ID) => {
                parse_wrapper::<f::InvokeAfterMsgs<Rest>>(&call.body).map(|w| w.query.0)
            }
            _ => return call,
        };
        match inner {
            Some(inner) if constructor_id(&inner).is_some() => call.body = inner,
            _ => {
                call.malformed = true;
                return call;
            }
        }
    }
    call.malformed = true;
    call
}

/// `rpc_result{req_msg_id, result}` with a successful result.
pub fn rpc_result_body(req_msg_id: i64, result: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(12 + result.len());
    RPC_RESULT.serialize(&mut body);
    req_msg_id.serialize(&mut body);
    body.extend_from_slice(result);
    body
}

/// `rpc_result{req_msg_id, rpc_error{code, message}}`.
pub fn rpc_error_body(req_msg_id: i64, code: i32, message: &str) -> Vec<u8> {
    let error = tl::enums::RpcError::Error(tl::types::RpcError {
        error_code: code,
        error_message: message.to_owned(),
    });
    rpc_result_body(req_msg_id, &error.to_bytes())
}

/// `pong{msg_id, ping_id}`; grammers matches it to the ping by msg_id.
pub fn pong_body(msg_id: i64, ping_id: i64) -> Vec<u8> {
    tl::enums::Pong::Pong(tl::types::Pong { msg_id, ping_id }).to_bytes()
}

/// `future_salts` offering salt 0 forever (the sandbox accepts any salt).
pub fn future_salts_body(req_msg_id: i64, now: i32) -> Vec<u8> {
    tl::enums::FutureSalts::Salts(tl::types::FutureSalts {
        req_msg_id,
        now,
        salts: tl::RawVec(vec![tl::types::FutureSalt {
            valid_since: now.saturating_sub(60),
            valid_until: i32::MAX,
            salt: 0,
        }]),
    })
    .to_bytes()
}

/// Whether a server message answers a client message (msg_id ≡ 1 mod 4) or
/// is unsolicited (≡ 3 mod 4), per core.telegram.org/mtproto/description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgKind {
    Response,
    Unsolicited,
}

/// Time-based, strictly increasing server msg_ids and seq_nos for one session.
#[derive(Debug, Default)]
pub struct OutboundSequence {
    last_msg_id: i64,
    content_messages: i32,
}

impl OutboundSequence {
    /// The next msg_id: unix time in the upper 32 bits, odd, increasing.
    pub fn next_msg_id(&mut self, kind: MsgKind) -> i64 {
        let residue = match kind {
            MsgKind::Response => 1,
            MsgKind::Unsolicited => 3,
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let time_based = ((now.as_secs() as i64) << 32) | (i64::from(now.subsec_nanos()) << 2);
        let mut msg_id = (time_based & !3) | residue;
        if msg_id <= self.last_msg_id {
            msg_id = ((self.last_msg_id & !3) + 4) | residue;
        }
        self.last_msg_id = msg_id;
        msg_id
    }

    /// The next seq_no: 2·(content messages so far), plus 1 for a content message.
    pub fn next_seq_no(&mut self, content_related: bool) -> i32 {
        if content_related {
            self.content_messages += 1;
            self.content_messages * 2 - 1
        } else {
            self.content_messages * 2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key_from(seed: &[u8]) -> AuthKey {
        let mut data = [0u8; 256];
        for (i, b) in data.iter_mut().enumerate() {
            *b = seed[i % seed.len()].wrapping_add(i as u8);
        }
        AuthKey::from_bytes(data)
    }

    fn aligned_body() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u32>(), 1..200)
            .prop_map(|w| w.iter().flat_map(|x| x.to_le_bytes()).collect())
    }

    #[test]
    fn server_msg_ids_are_odd_and_increasing() {
        let mut seq = OutboundSequence::default();
        let mut last = 0;
        for i in 0..1000 {
            let kind = if i % 3 == 0 {
                MsgKind::Unsolicited
            } else {
                MsgKind::Response
            };
            let id = seq.next_msg_id(kind);
            assert!(id > last);
            assert_eq!(id & 3, if kind == MsgKind::Response { 1 } else { 3 });
            last = id;
        }
        assert_eq!(seq.next_seq_no(true), 1);
        assert_eq!(seq.next_seq_no(false), 2);
        assert_eq!(seq.next_seq_no(true), 3);
    }

    #[test]
    fn wrappers_are_removed_and_remembered() {
        use tl::functions as f;
        let request = f::InvokeWithLayer {
            layer: tl::LAYER,
            query: f::InitConnection {
                api_id: 7,
                device_model: "sandbox".into(),
                system_version: "1".into(),
                app_version: "2".into(),
                system_lang_code: "en".into(),
                lang_pack: "".into(),
                lang_code: "de".into(),
                proxy: Some(tl::enums::InputClientProxy::Proxy(
                    tl::types::InputClientProxy {
                        address: "x".into(),
                        port: 1,
                    },
                )),
                params: Some(tl::enums::Jsonvalue::JsonNull),
                query: f::InvokeWithoutUpdates {
                    query: f::help::GetConfig {},
                },
            },
        }
        .to_bytes();
        let Inbound::Call(call) = classify(Message {
            msg_id: 4,
            seq_no: 1,
            body: request,
        })
        .unwrap() else {
            panic!("a call");
        };
        assert_eq!(call.layer, Some(tl::LAYER));
        assert_eq!(call.client.as_ref().unwrap().device_model, "sandbox");
        assert_eq!(call.client.as_ref().unwrap().lang_code, "de");
        assert_eq!(call.body, f::help::GetConfig {}.to_bytes());
        assert!(!call.malformed);
    }

    #[test]
    fn truncated_wrapper_is_marked_malformed() {
        let mut body = tl::functions::InvokeWithLayer {
            layer: 1,
            query: tl::functions::help::GetConfig {},
        }
        .to_bytes();
        body.truncate(6);
        let call = unwrap_call(4, body);
        assert!(call.malformed);
    }

    #[test]
    fn gzip_packed_messages_are_inflated() {
        let body = tl::functions::help::GetConfig {}.to_bytes();
        let messages = flatten(Message {
            msg_id: 8,
            seq_no: 1,
            body: gzip_body(&body),
        })
        .unwrap();
        assert_eq!(messages[0].body, body);
    }

    proptest! {
        #[test]
        fn server_to_client_round_trips(seed in prop::collection::vec(any::<u8>(), 1..32), body in aligned_body(), salt: i64, session_id: i64, msg_id: i64, seq_no: i32) {
            let key = key_from(&seed);
            let envelope = Envelope { salt, session_id, message: Message { msg_id, seq_no, body } };
            let payload = seal(&key, Direction::ServerToClient, &envelope);
            prop_assert_eq!(payload_auth_key_id(&payload), Some(key.id()));
            prop_assert_eq!(open(&key, Direction::ServerToClient, &payload), Ok(envelope.clone()));
            // The other direction's keys must not open it.
            prop_assert_eq!(open(&key, Direction::ClientToServer, &payload), Err(EnvelopeError::MsgKeyMismatch));
        }

        #[test]
        fn client_to_server_round_trips(seed in prop::collection::vec(any::<u8>(), 1..32), body in aligned_body(), session_id: i64) {
            let key = key_from(&seed);
            let envelope = Envelope { salt: 0, session_id, message: Message { msg_id: 4, seq_no: 1, body } };
            let payload = seal(&key, Direction::ClientToServer, &envelope);
            prop_assert_eq!(open(&key, Direction::ClientToServer, &payload), Ok(envelope));
        }

        /// What the real client encrypts, we decrypt; what we encrypt, the
        /// real client decrypts (it panics on a session_id mismatch, so a
        /// pong that arrives proves the whole envelope).
        #[test]
        fn grammers_client_interoperates(seed in prop::collection::vec(any::<u8>(), 1..32), ping_id: i64) {
            use grammers_crypto::DequeBuffer;
            use grammers_mtproto::mtp::{Deserialization, Encrypted, Mtp};
            let key = key_from(&seed);
            let mut client = Encrypted::build().compression_threshold(None).finish(key.to_bytes());
            let mut buffer = DequeBuffer::with_capacity(256, 64);
            let ping = tl::functions::Ping { ping_id }.to_bytes();
            let sent_id = client.push(&mut buffer, &ping).unwrap();
            client.finalize(&mut buffer);
            let payload: &[u8] = buffer.as_ref();
            let envelope = open(&key, Direction::ClientToServer, payload).unwrap();
            let client_msg_id = envelope.message.msg_id;
            prop_assert_eq!(client_msg_id & 3, 0);
            let inbound = classify(envelope.message.clone()).unwrap();
            prop_assert_eq!(inbound, Inbound::Ping { msg_id: client_msg_id, ping_id });

            let mut sequence = OutboundSequence::default();
            let reply = Envelope {
                salt: 0,
                session_id: envelope.session_id,
                message: Message {
                    msg_id: sequence.next_msg_id(MsgKind::Response),
                    seq_no: sequence.next_seq_no(false),
                    body: pong_body(client_msg_id, ping_id),
                },
            };
            let mut payload = seal(&key, Direction::ServerToClient, &reply);
            let results = client.deserialize(&mut payload).unwrap();
            prop_assert!(matches!(&results[..], [Deserialization::RpcResult(r)] if r.msg_id == sent_id));
        }

        #[test]
        fn containers_round_trip(messages in prop::collection::vec((any::<i64>(), any::<i32>(), aligned_body()), 0..20)) {
            let messages: Vec<Message> = messages
                .into_iter()
                // Bodies that happen to start with a container/gzip id are not plain bodies.
                .filter(|(_, _, body)| !matches!(constructor_id(body), Some(MSG_CONTAINER | GZIP_PACKED)))
                .map(|(msg_id, seq_no, body)| Message { msg_id, seq_no, body })
                .collect();
            let container = Message { msg_id: 0, seq_no: 0, body: container_body(&messages) };
            prop_assert_eq!(flatten(container).unwrap(), messages);
        }

        #[test]
        fn random_bytes_never_panic_the_parsers(bytes in prop::collection::vec(any::<u8>(), 0..512), seed in prop::collection::vec(any::<u8>(), 1..8)) {
            let key = key_from(&seed);
            let _ = open(&key, Direction::ClientToServer, &bytes);
            let _ = parse_plaintext(&bytes);
            let message = Message { msg_id: 4, seq_no: 1, body: bytes.clone() };
            if let Ok(messages) = flatten(message.clone()) {
                for m in messages {
                    let _ = classify(m);
                }
            }
            let _ = classify(message);
            // Random bytes behind a container header, and behind every wrapper.
            let mut container = MSG_CONTAINER.to_le_bytes().to_vec();
            container.extend_from_slice(&bytes);
            let _ = flatten(Message { msg_id: 4, seq_no: 0, body: container });
            for wrapper in [0xda9b_0d0d_u32, 0xc1cd_5ea9, 0xbf94_59b7, 0xcb9f_372d, 0x3dc4_b4f0, GZIP_PACKED] {
                let mut body = wrapper.to_le_bytes().to_vec();
                body.extend_from_slice(&bytes);
                let _ = flatten(Message { msg_id: 4, seq_no: 1, body: body.clone() });
                let _ = unwrap_call(4, body);
            }
        }
    }
}
