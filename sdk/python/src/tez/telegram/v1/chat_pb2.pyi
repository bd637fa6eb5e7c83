import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tez.telegram.v1 import message_pb2 as _message_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChatType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHAT_TYPE_UNSPECIFIED: _ClassVar[ChatType]
    CHAT_TYPE_PRIVATE: _ClassVar[ChatType]
    CHAT_TYPE_BOT: _ClassVar[ChatType]
    CHAT_TYPE_GROUP: _ClassVar[ChatType]
    CHAT_TYPE_SUPERGROUP: _ClassVar[ChatType]
    CHAT_TYPE_CHANNEL: _ClassVar[ChatType]
CHAT_TYPE_UNSPECIFIED: ChatType
CHAT_TYPE_PRIVATE: ChatType
CHAT_TYPE_BOT: ChatType
CHAT_TYPE_GROUP: ChatType
CHAT_TYPE_SUPERGROUP: ChatType
CHAT_TYPE_CHANNEL: ChatType

class Chat(_message.Message):
    __slots__ = ("account_id", "chat_id", "type", "title", "username", "first_name", "last_name", "about", "member_count", "unread_count", "last_message", "pinned", "archived", "update_time", "phone_number", "read_inbox_max_id", "read_outbox_max_id", "muted", "muted_until", "linked_entities")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    ABOUT_FIELD_NUMBER: _ClassVar[int]
    MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNREAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    READ_INBOX_MAX_ID_FIELD_NUMBER: _ClassVar[int]
    READ_OUTBOX_MAX_ID_FIELD_NUMBER: _ClassVar[int]
    MUTED_FIELD_NUMBER: _ClassVar[int]
    MUTED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    LINKED_ENTITIES_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    type: ChatType
    title: str
    username: str
    first_name: str
    last_name: str
    about: str
    member_count: int
    unread_count: int
    last_message: _message_pb2.Message
    pinned: bool
    archived: bool
    update_time: _timestamp_pb2.Timestamp
    phone_number: str
    read_inbox_max_id: int
    read_outbox_max_id: int
    muted: bool
    muted_until: _timestamp_pb2.Timestamp
    linked_entities: _containers.RepeatedCompositeFieldContainer[LinkedEntity]
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., type: _Optional[_Union[ChatType, str]] = ..., title: _Optional[str] = ..., username: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., about: _Optional[str] = ..., member_count: _Optional[int] = ..., unread_count: _Optional[int] = ..., last_message: _Optional[_Union[_message_pb2.Message, _Mapping]] = ..., pinned: _Optional[bool] = ..., archived: _Optional[bool] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., phone_number: _Optional[str] = ..., read_inbox_max_id: _Optional[int] = ..., read_outbox_max_id: _Optional[int] = ..., muted: _Optional[bool] = ..., muted_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., linked_entities: _Optional[_Iterable[_Union[LinkedEntity, _Mapping]]] = ...) -> None: ...

class LinkedEntity(_message.Message):
    __slots__ = ("type", "id", "link_time")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LINK_TIME_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    link_time: _timestamp_pb2.Timestamp
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ..., link_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Contact(_message.Message):
    __slots__ = ("account_id", "user_id", "phone_number", "first_name", "last_name", "username", "mutual")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    MUTUAL_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    user_id: int
    phone_number: str
    first_name: str
    last_name: str
    username: str
    mutual: bool
    def __init__(self, account_id: _Optional[str] = ..., user_id: _Optional[int] = ..., phone_number: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., username: _Optional[str] = ..., mutual: _Optional[bool] = ...) -> None: ...

class ChatFilter(_message.Message):
    __slots__ = ("archived", "types", "query")
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    archived: bool
    types: _containers.RepeatedScalarFieldContainer[ChatType]
    query: str
    def __init__(self, archived: _Optional[bool] = ..., types: _Optional[_Iterable[_Union[ChatType, str]]] = ..., query: _Optional[str] = ...) -> None: ...

class ListChatsRequest(_message.Message):
    __slots__ = ("account_id", "page_size", "page_token", "filter")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    page_size: int
    page_token: str
    filter: ChatFilter
    def __init__(self, account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[_Union[ChatFilter, _Mapping]] = ...) -> None: ...

class ListChatsResponse(_message.Message):
    __slots__ = ("chats", "next_page_token")
    CHATS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    chats: _containers.RepeatedCompositeFieldContainer[Chat]
    next_page_token: str
    def __init__(self, chats: _Optional[_Iterable[_Union[Chat, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetChatRequest(_message.Message):
    __slots__ = ("account_id", "chat_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ...) -> None: ...

class GetChatResponse(_message.Message):
    __slots__ = ("chat",)
    CHAT_FIELD_NUMBER: _ClassVar[int]
    chat: Chat
    def __init__(self, chat: _Optional[_Union[Chat, _Mapping]] = ...) -> None: ...

class ResolveChatRequest(_message.Message):
    __slots__ = ("account_id", "username", "phone_number", "first_name", "last_name")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    username: str
    phone_number: str
    first_name: str
    last_name: str
    def __init__(self, account_id: _Optional[str] = ..., username: _Optional[str] = ..., phone_number: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ...) -> None: ...

class ResolveChatResponse(_message.Message):
    __slots__ = ("chat", "contact_imported")
    CHAT_FIELD_NUMBER: _ClassVar[int]
    CONTACT_IMPORTED_FIELD_NUMBER: _ClassVar[int]
    chat: Chat
    contact_imported: bool
    def __init__(self, chat: _Optional[_Union[Chat, _Mapping]] = ..., contact_imported: _Optional[bool] = ...) -> None: ...

class ListContactsRequest(_message.Message):
    __slots__ = ("account_id", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListContactsResponse(_message.Message):
    __slots__ = ("contacts", "next_page_token")
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    next_page_token: str
    def __init__(self, contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
