import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tez.telegram.v1 import account_pb2 as _account_pb2
from tez.telegram.v1 import chat_pb2 as _chat_pb2
from tez.telegram.v1 import message_pb2 as _message_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_MESSAGE_CREATED: _ClassVar[EventKind]
    EVENT_KIND_MESSAGE_EDITED: _ClassVar[EventKind]
    EVENT_KIND_MESSAGE_DELETED: _ClassVar[EventKind]
    EVENT_KIND_MESSAGE_SEND_FAILED: _ClassVar[EventKind]
    EVENT_KIND_READ: _ClassVar[EventKind]
    EVENT_KIND_TYPING: _ClassVar[EventKind]
    EVENT_KIND_CHAT_UPDATED: _ClassVar[EventKind]
    EVENT_KIND_ACCOUNT_STATE_CHANGED: _ClassVar[EventKind]
    EVENT_KIND_TRIGGER_FIRED: _ClassVar[EventKind]
    EVENT_KIND_CHAT_LINKED: _ClassVar[EventKind]
    EVENT_KIND_CHAT_UNLINKED: _ClassVar[EventKind]
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_MESSAGE_CREATED: EventKind
EVENT_KIND_MESSAGE_EDITED: EventKind
EVENT_KIND_MESSAGE_DELETED: EventKind
EVENT_KIND_MESSAGE_SEND_FAILED: EventKind
EVENT_KIND_READ: EventKind
EVENT_KIND_TYPING: EventKind
EVENT_KIND_CHAT_UPDATED: EventKind
EVENT_KIND_ACCOUNT_STATE_CHANGED: EventKind
EVENT_KIND_TRIGGER_FIRED: EventKind
EVENT_KIND_CHAT_LINKED: EventKind
EVENT_KIND_CHAT_UNLINKED: EventKind

class Event(_message.Message):
    __slots__ = ("cursor", "event_time", "account_id", "message_created", "message_edited", "message_deleted", "message_send_failed", "read", "typing", "chat_updated", "account_state_changed", "trigger_fired", "chat_linked", "chat_unlinked", "heartbeat")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_CREATED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_EDITED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_DELETED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_SEND_FAILED_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    TYPING_FIELD_NUMBER: _ClassVar[int]
    CHAT_UPDATED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_STATE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIRED_FIELD_NUMBER: _ClassVar[int]
    CHAT_LINKED_FIELD_NUMBER: _ClassVar[int]
    CHAT_UNLINKED_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    event_time: _timestamp_pb2.Timestamp
    account_id: str
    message_created: MessageCreated
    message_edited: MessageEdited
    message_deleted: MessageDeleted
    message_send_failed: MessageSendFailed
    read: ChatRead
    typing: Typing
    chat_updated: ChatUpdated
    account_state_changed: AccountStateChanged
    trigger_fired: TriggerFired
    chat_linked: ChatLinked
    chat_unlinked: ChatUnlinked
    heartbeat: Heartbeat
    def __init__(self, cursor: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., account_id: _Optional[str] = ..., message_created: _Optional[_Union[MessageCreated, _Mapping]] = ..., message_edited: _Optional[_Union[MessageEdited, _Mapping]] = ..., message_deleted: _Optional[_Union[MessageDeleted, _Mapping]] = ..., message_send_failed: _Optional[_Union[MessageSendFailed, _Mapping]] = ..., read: _Optional[_Union[ChatRead, _Mapping]] = ..., typing: _Optional[_Union[Typing, _Mapping]] = ..., chat_updated: _Optional[_Union[ChatUpdated, _Mapping]] = ..., account_state_changed: _Optional[_Union[AccountStateChanged, _Mapping]] = ..., trigger_fired: _Optional[_Union[TriggerFired, _Mapping]] = ..., chat_linked: _Optional[_Union[ChatLinked, _Mapping]] = ..., chat_unlinked: _Optional[_Union[ChatUnlinked, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ...) -> None: ...

class MessageCreated(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: _message_pb2.Message
    def __init__(self, message: _Optional[_Union[_message_pb2.Message, _Mapping]] = ...) -> None: ...

class MessageEdited(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: _message_pb2.Message
    def __init__(self, message: _Optional[_Union[_message_pb2.Message, _Mapping]] = ...) -> None: ...

class MessageDeleted(_message.Message):
    __slots__ = ("chat_id", "message_ids")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    message_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, chat_id: _Optional[int] = ..., message_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class MessageSendFailed(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: _message_pb2.Message
    def __init__(self, message: _Optional[_Union[_message_pb2.Message, _Mapping]] = ...) -> None: ...

class ChatRead(_message.Message):
    __slots__ = ("chat_id", "max_message_id", "outgoing", "unread_count")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTGOING_FIELD_NUMBER: _ClassVar[int]
    UNREAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    max_message_id: int
    outgoing: bool
    unread_count: int
    def __init__(self, chat_id: _Optional[int] = ..., max_message_id: _Optional[int] = ..., outgoing: _Optional[bool] = ..., unread_count: _Optional[int] = ...) -> None: ...

class Typing(_message.Message):
    __slots__ = ("chat_id", "user_id", "action")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    user_id: int
    action: _message_pb2.TypingAction
    def __init__(self, chat_id: _Optional[int] = ..., user_id: _Optional[int] = ..., action: _Optional[_Union[_message_pb2.TypingAction, str]] = ...) -> None: ...

class ChatUpdated(_message.Message):
    __slots__ = ("chat",)
    CHAT_FIELD_NUMBER: _ClassVar[int]
    chat: _chat_pb2.Chat
    def __init__(self, chat: _Optional[_Union[_chat_pb2.Chat, _Mapping]] = ...) -> None: ...

class AccountStateChanged(_message.Message):
    __slots__ = ("account", "previous_state")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATE_FIELD_NUMBER: _ClassVar[int]
    account: _account_pb2.Account
    previous_state: _account_pb2.AccountState
    def __init__(self, account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ..., previous_state: _Optional[_Union[_account_pb2.AccountState, str]] = ...) -> None: ...

class ChatLinked(_message.Message):
    __slots__ = ("chat_id", "entity", "previous_chat_id")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    entity: _chat_pb2.LinkedEntity
    previous_chat_id: int
    def __init__(self, chat_id: _Optional[int] = ..., entity: _Optional[_Union[_chat_pb2.LinkedEntity, _Mapping]] = ..., previous_chat_id: _Optional[int] = ...) -> None: ...

class ChatUnlinked(_message.Message):
    __slots__ = ("chat_id", "entity")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    entity: _chat_pb2.LinkedEntity
    def __init__(self, chat_id: _Optional[int] = ..., entity: _Optional[_Union[_chat_pb2.LinkedEntity, _Mapping]] = ...) -> None: ...

class TriggerFired(_message.Message):
    __slots__ = ("trigger_id", "trigger_name", "event")
    TRIGGER_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_NAME_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    trigger_id: str
    trigger_name: str
    event: Event
    def __init__(self, trigger_id: _Optional[str] = ..., trigger_name: _Optional[str] = ..., event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("account_ids", "chat_ids", "kinds", "cursor")
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    CHAT_IDS_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    chat_ids: _containers.RepeatedScalarFieldContainer[int]
    kinds: _containers.RepeatedScalarFieldContainer[EventKind]
    cursor: str
    def __init__(self, account_ids: _Optional[_Iterable[str]] = ..., chat_ids: _Optional[_Iterable[int]] = ..., kinds: _Optional[_Iterable[_Union[EventKind, str]]] = ..., cursor: _Optional[str] = ...) -> None: ...

class SubscribeResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: Event
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...
