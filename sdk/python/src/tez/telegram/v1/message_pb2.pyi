import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MessageState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_STATE_UNSPECIFIED: _ClassVar[MessageState]
    MESSAGE_STATE_SENT: _ClassVar[MessageState]
    MESSAGE_STATE_PENDING: _ClassVar[MessageState]
    MESSAGE_STATE_FAILED: _ClassVar[MessageState]
    MESSAGE_STATE_SCHEDULED: _ClassVar[MessageState]

class MessageEntityType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_ENTITY_TYPE_UNSPECIFIED: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_BOLD: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_ITALIC: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_UNDERLINE: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_STRIKETHROUGH: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_SPOILER: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_CODE: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_PRE: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_TEXT_URL: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_URL: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_EMAIL: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_PHONE_NUMBER: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_MENTION: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_MENTION_NAME: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_HASHTAG: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_CASHTAG: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_BOT_COMMAND: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_BLOCKQUOTE: _ClassVar[MessageEntityType]
    MESSAGE_ENTITY_TYPE_CUSTOM_EMOJI: _ClassVar[MessageEntityType]

class MediaKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEDIA_KIND_UNSPECIFIED: _ClassVar[MediaKind]
    MEDIA_KIND_PHOTO: _ClassVar[MediaKind]
    MEDIA_KIND_VIDEO: _ClassVar[MediaKind]
    MEDIA_KIND_AUDIO: _ClassVar[MediaKind]
    MEDIA_KIND_VOICE: _ClassVar[MediaKind]
    MEDIA_KIND_VIDEO_NOTE: _ClassVar[MediaKind]
    MEDIA_KIND_ANIMATION: _ClassVar[MediaKind]
    MEDIA_KIND_STICKER: _ClassVar[MediaKind]
    MEDIA_KIND_DOCUMENT: _ClassVar[MediaKind]
    MEDIA_KIND_OTHER: _ClassVar[MediaKind]

class ForwardOriginType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FORWARD_ORIGIN_TYPE_UNSPECIFIED: _ClassVar[ForwardOriginType]
    FORWARD_ORIGIN_TYPE_USER: _ClassVar[ForwardOriginType]
    FORWARD_ORIGIN_TYPE_HIDDEN_USER: _ClassVar[ForwardOriginType]
    FORWARD_ORIGIN_TYPE_CHAT: _ClassVar[ForwardOriginType]
    FORWARD_ORIGIN_TYPE_CHANNEL: _ClassVar[ForwardOriginType]

class MessageActionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_ACTION_TYPE_UNSPECIFIED: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_CHAT_CREATE: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_CHAT_EDIT_TITLE: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_CHAT_EDIT_PHOTO: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_CHAT_DELETE_PHOTO: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_CHAT_ADD_USER: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_CHAT_DELETE_USER: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_CHAT_JOINED_BY_LINK: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_CHANNEL_CREATE: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_CHAT_MIGRATE_TO: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_CHANNEL_MIGRATE_FROM: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_PIN_MESSAGE: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_HISTORY_CLEAR: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_PHONE_CALL: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_SCREENSHOT_TAKEN: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_CONTACT_SIGN_UP: _ClassVar[MessageActionType]
    MESSAGE_ACTION_TYPE_OTHER: _ClassVar[MessageActionType]

class ParseMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARSE_MODE_UNSPECIFIED: _ClassVar[ParseMode]
    PARSE_MODE_MARKDOWN: _ClassVar[ParseMode]
    PARSE_MODE_HTML: _ClassVar[ParseMode]

class TypingAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TYPING_ACTION_UNSPECIFIED: _ClassVar[TypingAction]
    TYPING_ACTION_TYPING: _ClassVar[TypingAction]
    TYPING_ACTION_CANCEL: _ClassVar[TypingAction]
    TYPING_ACTION_RECORD_VOICE: _ClassVar[TypingAction]
    TYPING_ACTION_UPLOAD_PHOTO: _ClassVar[TypingAction]
    TYPING_ACTION_UPLOAD_VIDEO: _ClassVar[TypingAction]
    TYPING_ACTION_UPLOAD_DOCUMENT: _ClassVar[TypingAction]
    TYPING_ACTION_CHOOSE_STICKER: _ClassVar[TypingAction]
MESSAGE_STATE_UNSPECIFIED: MessageState
MESSAGE_STATE_SENT: MessageState
MESSAGE_STATE_PENDING: MessageState
MESSAGE_STATE_FAILED: MessageState
MESSAGE_STATE_SCHEDULED: MessageState
MESSAGE_ENTITY_TYPE_UNSPECIFIED: MessageEntityType
MESSAGE_ENTITY_TYPE_BOLD: MessageEntityType
MESSAGE_ENTITY_TYPE_ITALIC: MessageEntityType
MESSAGE_ENTITY_TYPE_UNDERLINE: MessageEntityType
MESSAGE_ENTITY_TYPE_STRIKETHROUGH: MessageEntityType
MESSAGE_ENTITY_TYPE_SPOILER: MessageEntityType
MESSAGE_ENTITY_TYPE_CODE: MessageEntityType
MESSAGE_ENTITY_TYPE_PRE: MessageEntityType
MESSAGE_ENTITY_TYPE_TEXT_URL: MessageEntityType
MESSAGE_ENTITY_TYPE_URL: MessageEntityType
MESSAGE_ENTITY_TYPE_EMAIL: MessageEntityType
MESSAGE_ENTITY_TYPE_PHONE_NUMBER: MessageEntityType
MESSAGE_ENTITY_TYPE_MENTION: MessageEntityType
MESSAGE_ENTITY_TYPE_MENTION_NAME: MessageEntityType
MESSAGE_ENTITY_TYPE_HASHTAG: MessageEntityType
MESSAGE_ENTITY_TYPE_CASHTAG: MessageEntityType
MESSAGE_ENTITY_TYPE_BOT_COMMAND: MessageEntityType
MESSAGE_ENTITY_TYPE_BLOCKQUOTE: MessageEntityType
MESSAGE_ENTITY_TYPE_CUSTOM_EMOJI: MessageEntityType
MEDIA_KIND_UNSPECIFIED: MediaKind
MEDIA_KIND_PHOTO: MediaKind
MEDIA_KIND_VIDEO: MediaKind
MEDIA_KIND_AUDIO: MediaKind
MEDIA_KIND_VOICE: MediaKind
MEDIA_KIND_VIDEO_NOTE: MediaKind
MEDIA_KIND_ANIMATION: MediaKind
MEDIA_KIND_STICKER: MediaKind
MEDIA_KIND_DOCUMENT: MediaKind
MEDIA_KIND_OTHER: MediaKind
FORWARD_ORIGIN_TYPE_UNSPECIFIED: ForwardOriginType
FORWARD_ORIGIN_TYPE_USER: ForwardOriginType
FORWARD_ORIGIN_TYPE_HIDDEN_USER: ForwardOriginType
FORWARD_ORIGIN_TYPE_CHAT: ForwardOriginType
FORWARD_ORIGIN_TYPE_CHANNEL: ForwardOriginType
MESSAGE_ACTION_TYPE_UNSPECIFIED: MessageActionType
MESSAGE_ACTION_TYPE_CHAT_CREATE: MessageActionType
MESSAGE_ACTION_TYPE_CHAT_EDIT_TITLE: MessageActionType
MESSAGE_ACTION_TYPE_CHAT_EDIT_PHOTO: MessageActionType
MESSAGE_ACTION_TYPE_CHAT_DELETE_PHOTO: MessageActionType
MESSAGE_ACTION_TYPE_CHAT_ADD_USER: MessageActionType
MESSAGE_ACTION_TYPE_CHAT_DELETE_USER: MessageActionType
MESSAGE_ACTION_TYPE_CHAT_JOINED_BY_LINK: MessageActionType
MESSAGE_ACTION_TYPE_CHANNEL_CREATE: MessageActionType
MESSAGE_ACTION_TYPE_CHAT_MIGRATE_TO: MessageActionType
MESSAGE_ACTION_TYPE_CHANNEL_MIGRATE_FROM: MessageActionType
MESSAGE_ACTION_TYPE_PIN_MESSAGE: MessageActionType
MESSAGE_ACTION_TYPE_HISTORY_CLEAR: MessageActionType
MESSAGE_ACTION_TYPE_PHONE_CALL: MessageActionType
MESSAGE_ACTION_TYPE_SCREENSHOT_TAKEN: MessageActionType
MESSAGE_ACTION_TYPE_CONTACT_SIGN_UP: MessageActionType
MESSAGE_ACTION_TYPE_OTHER: MessageActionType
PARSE_MODE_UNSPECIFIED: ParseMode
PARSE_MODE_MARKDOWN: ParseMode
PARSE_MODE_HTML: ParseMode
TYPING_ACTION_UNSPECIFIED: TypingAction
TYPING_ACTION_TYPING: TypingAction
TYPING_ACTION_CANCEL: TypingAction
TYPING_ACTION_RECORD_VOICE: TypingAction
TYPING_ACTION_UPLOAD_PHOTO: TypingAction
TYPING_ACTION_UPLOAD_VIDEO: TypingAction
TYPING_ACTION_UPLOAD_DOCUMENT: TypingAction
TYPING_ACTION_CHOOSE_STICKER: TypingAction

class Message(_message.Message):
    __slots__ = ("account_id", "chat_id", "message_id", "sender_id", "outgoing", "text", "entities", "media", "reply_to_message_id", "forward_from", "send_time", "edit_time", "views", "state", "request_id", "error_reason", "grouped_id", "action")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_ID_FIELD_NUMBER: _ClassVar[int]
    OUTGOING_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    FORWARD_FROM_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    EDIT_TIME_FIELD_NUMBER: _ClassVar[int]
    VIEWS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_REASON_FIELD_NUMBER: _ClassVar[int]
    GROUPED_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    message_id: int
    sender_id: int
    outgoing: bool
    text: str
    entities: _containers.RepeatedCompositeFieldContainer[MessageEntity]
    media: MessageMedia
    reply_to_message_id: int
    forward_from: ForwardHeader
    send_time: _timestamp_pb2.Timestamp
    edit_time: _timestamp_pb2.Timestamp
    views: int
    state: MessageState
    request_id: str
    error_reason: str
    grouped_id: int
    action: MessageAction
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., message_id: _Optional[int] = ..., sender_id: _Optional[int] = ..., outgoing: _Optional[bool] = ..., text: _Optional[str] = ..., entities: _Optional[_Iterable[_Union[MessageEntity, _Mapping]]] = ..., media: _Optional[_Union[MessageMedia, _Mapping]] = ..., reply_to_message_id: _Optional[int] = ..., forward_from: _Optional[_Union[ForwardHeader, _Mapping]] = ..., send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., edit_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., views: _Optional[int] = ..., state: _Optional[_Union[MessageState, str]] = ..., request_id: _Optional[str] = ..., error_reason: _Optional[str] = ..., grouped_id: _Optional[int] = ..., action: _Optional[_Union[MessageAction, _Mapping]] = ...) -> None: ...

class MessageEntity(_message.Message):
    __slots__ = ("type", "offset", "length", "url", "user_id", "language", "custom_emoji_id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_EMOJI_ID_FIELD_NUMBER: _ClassVar[int]
    type: MessageEntityType
    offset: int
    length: int
    url: str
    user_id: int
    language: str
    custom_emoji_id: int
    def __init__(self, type: _Optional[_Union[MessageEntityType, str]] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ..., url: _Optional[str] = ..., user_id: _Optional[int] = ..., language: _Optional[str] = ..., custom_emoji_id: _Optional[int] = ...) -> None: ...

class MessageMedia(_message.Message):
    __slots__ = ("kind", "media_id", "file_name", "mime_type", "size_bytes", "width", "height", "duration", "title", "performer", "emoji")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PERFORMER_FIELD_NUMBER: _ClassVar[int]
    EMOJI_FIELD_NUMBER: _ClassVar[int]
    kind: MediaKind
    media_id: str
    file_name: str
    mime_type: str
    size_bytes: int
    width: int
    height: int
    duration: _duration_pb2.Duration
    title: str
    performer: str
    emoji: str
    def __init__(self, kind: _Optional[_Union[MediaKind, str]] = ..., media_id: _Optional[str] = ..., file_name: _Optional[str] = ..., mime_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., title: _Optional[str] = ..., performer: _Optional[str] = ..., emoji: _Optional[str] = ...) -> None: ...

class ForwardHeader(_message.Message):
    __slots__ = ("sender_id", "sender_name", "chat_id", "message_id", "send_time", "origin_type", "post_author")
    SENDER_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_NAME_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_TYPE_FIELD_NUMBER: _ClassVar[int]
    POST_AUTHOR_FIELD_NUMBER: _ClassVar[int]
    sender_id: int
    sender_name: str
    chat_id: int
    message_id: int
    send_time: _timestamp_pb2.Timestamp
    origin_type: ForwardOriginType
    post_author: str
    def __init__(self, sender_id: _Optional[int] = ..., sender_name: _Optional[str] = ..., chat_id: _Optional[int] = ..., message_id: _Optional[int] = ..., send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., origin_type: _Optional[_Union[ForwardOriginType, str]] = ..., post_author: _Optional[str] = ...) -> None: ...

class MessageAction(_message.Message):
    __slots__ = ("type", "user_ids", "title", "message_id", "chat_id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    type: MessageActionType
    user_ids: _containers.RepeatedScalarFieldContainer[int]
    title: str
    message_id: int
    chat_id: int
    def __init__(self, type: _Optional[_Union[MessageActionType, str]] = ..., user_ids: _Optional[_Iterable[int]] = ..., title: _Optional[str] = ..., message_id: _Optional[int] = ..., chat_id: _Optional[int] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("account_id", "chat_id", "page_size", "page_token", "before_message_id", "before_time", "after_message_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    BEFORE_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    BEFORE_TIME_FIELD_NUMBER: _ClassVar[int]
    AFTER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    page_size: int
    page_token: str
    before_message_id: int
    before_time: _timestamp_pb2.Timestamp
    after_message_id: int
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., before_message_id: _Optional[int] = ..., before_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., after_message_id: _Optional[int] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_page_token", "total_count")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    next_page_token: str
    total_count: int
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_count: _Optional[int] = ...) -> None: ...

class GetMessageRequest(_message.Message):
    __slots__ = ("account_id", "chat_id", "message_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    message_id: int
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., message_id: _Optional[int] = ...) -> None: ...

class GetMessageResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: Message
    def __init__(self, message: _Optional[_Union[Message, _Mapping]] = ...) -> None: ...

class SearchMessagesRequest(_message.Message):
    __slots__ = ("account_id", "chat_id", "query", "from_time", "to_time", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    query: str
    from_time: _timestamp_pb2.Timestamp
    to_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., query: _Optional[str] = ..., from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., to_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_page_token")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    next_page_token: str
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SendMessageRequest(_message.Message):
    __slots__ = ("account_id", "chat_id", "text", "entities", "parse_mode", "reply_to_message_id", "media_id", "send_as", "schedule_time", "silent", "request_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    PARSE_MODE_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_AS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TIME_FIELD_NUMBER: _ClassVar[int]
    SILENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    text: str
    entities: _containers.RepeatedCompositeFieldContainer[MessageEntity]
    parse_mode: ParseMode
    reply_to_message_id: int
    media_id: str
    send_as: MediaKind
    schedule_time: _timestamp_pb2.Timestamp
    silent: bool
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., text: _Optional[str] = ..., entities: _Optional[_Iterable[_Union[MessageEntity, _Mapping]]] = ..., parse_mode: _Optional[_Union[ParseMode, str]] = ..., reply_to_message_id: _Optional[int] = ..., media_id: _Optional[str] = ..., send_as: _Optional[_Union[MediaKind, str]] = ..., schedule_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., silent: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class SendMessageResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: Message
    def __init__(self, message: _Optional[_Union[Message, _Mapping]] = ...) -> None: ...

class EditMessageRequest(_message.Message):
    __slots__ = ("account_id", "chat_id", "message_id", "text", "entities", "update_mask")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    message_id: int
    text: str
    entities: _containers.RepeatedCompositeFieldContainer[MessageEntity]
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., message_id: _Optional[int] = ..., text: _Optional[str] = ..., entities: _Optional[_Iterable[_Union[MessageEntity, _Mapping]]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class EditMessageResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: Message
    def __init__(self, message: _Optional[_Union[Message, _Mapping]] = ...) -> None: ...

class DeleteMessagesRequest(_message.Message):
    __slots__ = ("account_id", "chat_id", "message_ids", "revoke")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    REVOKE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    message_ids: _containers.RepeatedScalarFieldContainer[int]
    revoke: bool
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., message_ids: _Optional[_Iterable[int]] = ..., revoke: _Optional[bool] = ...) -> None: ...

class DeleteMessagesResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ForwardMessagesRequest(_message.Message):
    __slots__ = ("account_id", "from_chat_id", "message_ids", "to_chat_id", "request_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    TO_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    from_chat_id: int
    message_ids: _containers.RepeatedScalarFieldContainer[int]
    to_chat_id: int
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., from_chat_id: _Optional[int] = ..., message_ids: _Optional[_Iterable[int]] = ..., to_chat_id: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class ForwardMessagesResponse(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ...) -> None: ...

class MarkReadRequest(_message.Message):
    __slots__ = ("account_id", "chat_id", "max_message_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    max_message_id: int
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., max_message_id: _Optional[int] = ...) -> None: ...

class MarkReadResponse(_message.Message):
    __slots__ = ("unread_count",)
    UNREAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    unread_count: int
    def __init__(self, unread_count: _Optional[int] = ...) -> None: ...

class SetTypingRequest(_message.Message):
    __slots__ = ("account_id", "chat_id", "action")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    action: TypingAction
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., action: _Optional[_Union[TypingAction, str]] = ...) -> None: ...

class SetTypingResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
