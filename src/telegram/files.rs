//! Files of received messages: the `TelegramFiles` port on [`Telegram`].
//! A message's file is located by fetching the message (so the file
//! reference is fresh), and read chunk by chunk through grammers' download
//! iterator, which follows a file to the DC that serves it.

use async_trait::async_trait;
use bytes::Bytes;
use grammers_client::media::Downloadable;
use grammers_tl_types as tl;
use grammers_tl_types::{Deserializable, Serializable};

use super::Error;
use super::accounts::Telegram;
use super::chats::input_peer;
use super::convert;
use crate::domain::chat::ChatProfile;
use crate::domain::media::{CHUNK_SIZE, RemoteFile};
use crate::domain::ports::TelegramFiles;
use crate::domain::{self, AccountId};

/// Located is a file as grammers downloads it.
struct Located {
    location: tl::enums::InputFileLocation,
    size: i64,
    dc_id: i32,
}

impl Downloadable for Located {
    fn to_raw_input_location(&self) -> Option<tl::enums::InputFileLocation> {
        Some(self.location.clone())
    }

    fn size(&self) -> Option<usize> {
        usize::try_from(self.size).ok()
    }

    fn dc_id(&self) -> Option<i32> {
        Some(self.dc_id)
    }
}

/// remote_file is where Telegram serves a message's file: a document, or
/// a photo's largest size; `None` for media without a file.
fn remote_file(media: &tl::enums::MessageMedia) -> Option<RemoteFile> {
    let (location, size, dc_id) = match media {
        tl::enums::MessageMedia::Document(d) => {
            let tl::enums::Document::Document(doc) = d.document.as_ref()? else {
                return None;
            };
            let location = tl::enums::InputFileLocation::InputDocumentFileLocation(
                tl::types::InputDocumentFileLocation {
                    id: doc.id,
                    access_hash: doc.access_hash,
                    file_reference: doc.file_reference.clone(),
                    thumb_size: String::new(),
                },
            );
            (location, doc.size, doc.dc_id)
        }
        tl::enums::MessageMedia::Photo(p) => {
            let tl::enums::Photo::Photo(photo) = p.photo.as_ref()? else {
                return None;
            };
            let largest = convert::largest_photo_size(photo)?;
            let location = tl::enums::InputFileLocation::InputPhotoFileLocation(
                tl::types::InputPhotoFileLocation {
                    id: photo.id,
                    access_hash: photo.access_hash,
                    file_reference: photo.file_reference.clone(),
                    thumb_size: largest.kind.to_owned(),
                },
            );
            (location, largest.size, photo.dc_id)
        }
        _ => return None,
    };
    Some(RemoteFile {
        location: location.to_bytes(),
        size,
        dc_id,
    })
}

/// chunk_error tells a file reference that expired (the message must be
/// fetched again) from other failures.
fn chunk_error(err: Error) -> domain::Error {
    match &err {
        Error::Rejected { name, .. } if name.starts_with("FILE_REFERENCE_") => {
            domain::Error::FailedPrecondition {
                reason: "FILE_REFERENCE_EXPIRED",
                message: format!("telegram wants a fresh file reference ({name})"),
            }
        }
        _ => err.into(),
    }
}

#[async_trait]
impl TelegramFiles for Telegram {
    async fn message_file(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        message_id: i64,
    ) -> Result<Option<RemoteFile>, domain::Error> {
        let Ok(id) = i32::try_from(message_id) else {
            return Ok(None);
        };
        self.with(account, async |link| {
            let ids = vec![tl::enums::InputMessage::Id(tl::types::InputMessageId {
                id,
            })];
            let answer = match input_peer(link, chat).await? {
                tl::enums::InputPeer::Channel(channel) => {
                    link.invoke(&tl::functions::channels::GetMessages {
                        channel: tl::enums::InputChannel::Channel(tl::types::InputChannel {
                            channel_id: channel.channel_id,
                            access_hash: channel.access_hash,
                        }),
                        id: ids,
                    })
                    .await?
                }
                _ => {
                    link.invoke(&tl::functions::messages::GetMessages { id: ids })
                        .await?
                }
            };
            let messages = match answer {
                tl::enums::messages::Messages::Messages(m) => m.messages,
                tl::enums::messages::Messages::Slice(m) => m.messages,
                tl::enums::messages::Messages::ChannelMessages(m) => m.messages,
                tl::enums::messages::Messages::NotModified(_) => Vec::new(),
            };
            // Ids of private chats and basic groups number all of the
            // account's messages: the one found must be this chat's.
            Ok(messages.iter().find_map(|raw| {
                let message = convert::message(account, raw)?;
                if message.chat_id != chat.chat_id || message.message_id != message_id {
                    return None;
                }
                match raw {
                    tl::enums::Message::Message(m) => remote_file(m.media.as_ref()?),
                    _ => None,
                }
            }))
        })
        .await
    }

    async fn file_chunk(
        &self,
        account: AccountId,
        file: &RemoteFile,
        index: i64,
    ) -> Result<Bytes, domain::Error> {
        let location = tl::enums::InputFileLocation::from_bytes(&file.location)
            .map_err(|err| domain::Error::Internal(format!("a stored file location: {err}")))?;
        let located = Located {
            location,
            size: file.size,
            dc_id: file.dc_id,
        };
        let skip = i32::try_from(index)
            .map_err(|_| domain::Error::Internal(format!("chunk {index} is past any file")))?;
        self.with_raw(account, async |link| {
            let mut download = link
                .client
                .iter_download(&located)
                .chunk_size(CHUNK_SIZE as i32)
                .skip_chunks(skip);
            let chunk = link.bounded(async { Ok(download.next().await?) }).await?;
            Ok(Bytes::from(chunk.unwrap_or_default()))
        })
        .await
        .map_err(chunk_error)
    }
}
