import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_ACTION_UNSPECIFIED: _ClassVar[AuditAction]
    AUDIT_ACTION_MESSAGE_SENT: _ClassVar[AuditAction]
    AUDIT_ACTION_MESSAGE_EDITED: _ClassVar[AuditAction]
    AUDIT_ACTION_MESSAGES_DELETED: _ClassVar[AuditAction]
    AUDIT_ACTION_MESSAGES_FORWARDED: _ClassVar[AuditAction]
    AUDIT_ACTION_CHAT_READ: _ClassVar[AuditAction]
    AUDIT_ACTION_CHAT_LINKED: _ClassVar[AuditAction]
    AUDIT_ACTION_CHAT_UNLINKED: _ClassVar[AuditAction]
    AUDIT_ACTION_TRIGGER_CREATED: _ClassVar[AuditAction]
    AUDIT_ACTION_TRIGGER_UPDATED: _ClassVar[AuditAction]
    AUDIT_ACTION_TRIGGER_DELETED: _ClassVar[AuditAction]
    AUDIT_ACTION_WEBHOOK_REDELIVERED: _ClassVar[AuditAction]
    AUDIT_ACTION_LOGIN_STARTED: _ClassVar[AuditAction]
    AUDIT_ACTION_LOGGED_IN: _ClassVar[AuditAction]
    AUDIT_ACTION_LOGGED_OUT: _ClassVar[AuditAction]
    AUDIT_ACTION_ACCOUNT_DELETED: _ClassVar[AuditAction]
    AUDIT_ACTION_AUTHORIZATION_TERMINATED: _ClassVar[AuditAction]

class PrincipalKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRINCIPAL_KIND_UNSPECIFIED: _ClassVar[PrincipalKind]
    PRINCIPAL_KIND_USER: _ClassVar[PrincipalKind]
    PRINCIPAL_KIND_API_KEY: _ClassVar[PrincipalKind]
AUDIT_ACTION_UNSPECIFIED: AuditAction
AUDIT_ACTION_MESSAGE_SENT: AuditAction
AUDIT_ACTION_MESSAGE_EDITED: AuditAction
AUDIT_ACTION_MESSAGES_DELETED: AuditAction
AUDIT_ACTION_MESSAGES_FORWARDED: AuditAction
AUDIT_ACTION_CHAT_READ: AuditAction
AUDIT_ACTION_CHAT_LINKED: AuditAction
AUDIT_ACTION_CHAT_UNLINKED: AuditAction
AUDIT_ACTION_TRIGGER_CREATED: AuditAction
AUDIT_ACTION_TRIGGER_UPDATED: AuditAction
AUDIT_ACTION_TRIGGER_DELETED: AuditAction
AUDIT_ACTION_WEBHOOK_REDELIVERED: AuditAction
AUDIT_ACTION_LOGIN_STARTED: AuditAction
AUDIT_ACTION_LOGGED_IN: AuditAction
AUDIT_ACTION_LOGGED_OUT: AuditAction
AUDIT_ACTION_ACCOUNT_DELETED: AuditAction
AUDIT_ACTION_AUTHORIZATION_TERMINATED: AuditAction
PRINCIPAL_KIND_UNSPECIFIED: PrincipalKind
PRINCIPAL_KIND_USER: PrincipalKind
PRINCIPAL_KIND_API_KEY: PrincipalKind

class AuditEntry(_message.Message):
    __slots__ = ("entry_id", "time", "principal", "principal_kind", "action", "account_id", "chat_id", "details")
    class DetailsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_KIND_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    entry_id: int
    time: _timestamp_pb2.Timestamp
    principal: str
    principal_kind: PrincipalKind
    action: AuditAction
    account_id: str
    chat_id: int
    details: _containers.ScalarMap[str, str]
    def __init__(self, entry_id: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., principal: _Optional[str] = ..., principal_kind: _Optional[_Union[PrincipalKind, str]] = ..., action: _Optional[_Union[AuditAction, str]] = ..., account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., details: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListAuditEntriesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "account_id", "principal", "actions", "from_time", "to_time")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    account_id: str
    principal: str
    actions: _containers.RepeatedScalarFieldContainer[AuditAction]
    from_time: _timestamp_pb2.Timestamp
    to_time: _timestamp_pb2.Timestamp
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., account_id: _Optional[str] = ..., principal: _Optional[str] = ..., actions: _Optional[_Iterable[_Union[AuditAction, str]]] = ..., from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., to_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListAuditEntriesResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
