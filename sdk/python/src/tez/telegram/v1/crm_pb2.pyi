import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tez.telegram.v1 import chat_pb2 as _chat_pb2
from tez.telegram.v1 import update_pb2 as _update_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CrmEntityType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CRM_ENTITY_TYPE_UNSPECIFIED: _ClassVar[CrmEntityType]
    CRM_ENTITY_TYPE_CONTACT: _ClassVar[CrmEntityType]
    CRM_ENTITY_TYPE_DEAL: _ClassVar[CrmEntityType]
    CRM_ENTITY_TYPE_COMPANY: _ClassVar[CrmEntityType]
    CRM_ENTITY_TYPE_LEAD: _ClassVar[CrmEntityType]
    CRM_ENTITY_TYPE_TICKET: _ClassVar[CrmEntityType]

class MatchReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MATCH_REASON_UNSPECIFIED: _ClassVar[MatchReason]
    MATCH_REASON_PHONE_NUMBER: _ClassVar[MatchReason]
    MATCH_REASON_USERNAME: _ClassVar[MatchReason]
    MATCH_REASON_NAME: _ClassVar[MatchReason]

class MessageDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_DIRECTION_UNSPECIFIED: _ClassVar[MessageDirection]
    MESSAGE_DIRECTION_INCOMING: _ClassVar[MessageDirection]
    MESSAGE_DIRECTION_OUTGOING: _ClassVar[MessageDirection]

class DeliveryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATUS_UNSPECIFIED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_PENDING: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_RETRYING: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_SUCCEEDED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_FAILED: _ClassVar[DeliveryStatus]
CRM_ENTITY_TYPE_UNSPECIFIED: CrmEntityType
CRM_ENTITY_TYPE_CONTACT: CrmEntityType
CRM_ENTITY_TYPE_DEAL: CrmEntityType
CRM_ENTITY_TYPE_COMPANY: CrmEntityType
CRM_ENTITY_TYPE_LEAD: CrmEntityType
CRM_ENTITY_TYPE_TICKET: CrmEntityType
MATCH_REASON_UNSPECIFIED: MatchReason
MATCH_REASON_PHONE_NUMBER: MatchReason
MATCH_REASON_USERNAME: MatchReason
MATCH_REASON_NAME: MatchReason
MESSAGE_DIRECTION_UNSPECIFIED: MessageDirection
MESSAGE_DIRECTION_INCOMING: MessageDirection
MESSAGE_DIRECTION_OUTGOING: MessageDirection
DELIVERY_STATUS_UNSPECIFIED: DeliveryStatus
DELIVERY_STATUS_PENDING: DeliveryStatus
DELIVERY_STATUS_RETRYING: DeliveryStatus
DELIVERY_STATUS_SUCCEEDED: DeliveryStatus
DELIVERY_STATUS_FAILED: DeliveryStatus

class CrmEntity(_message.Message):
    __slots__ = ("type", "id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    type: CrmEntityType
    id: str
    def __init__(self, type: _Optional[_Union[CrmEntityType, str]] = ..., id: _Optional[str] = ...) -> None: ...

class ChatRef(_message.Message):
    __slots__ = ("account_id", "chat_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ...) -> None: ...

class ChatLink(_message.Message):
    __slots__ = ("account_id", "chat_id", "entity", "create_time")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    entity: CrmEntity
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., entity: _Optional[_Union[CrmEntity, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EntityContact(_message.Message):
    __slots__ = ("phone_number", "username", "phone_numbers", "usernames", "name", "default_region")
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    USERNAMES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_REGION_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    username: str
    phone_numbers: _containers.RepeatedScalarFieldContainer[str]
    usernames: _containers.RepeatedScalarFieldContainer[str]
    name: str
    default_region: str
    def __init__(self, phone_number: _Optional[str] = ..., username: _Optional[str] = ..., phone_numbers: _Optional[_Iterable[str]] = ..., usernames: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ..., default_region: _Optional[str] = ...) -> None: ...

class LinkSuggestion(_message.Message):
    __slots__ = ("chat", "match_reason", "score", "match_reasons")
    CHAT_FIELD_NUMBER: _ClassVar[int]
    MATCH_REASON_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    MATCH_REASONS_FIELD_NUMBER: _ClassVar[int]
    chat: _chat_pb2.Chat
    match_reason: MatchReason
    score: float
    match_reasons: _containers.RepeatedScalarFieldContainer[MatchReason]
    def __init__(self, chat: _Optional[_Union[_chat_pb2.Chat, _Mapping]] = ..., match_reason: _Optional[_Union[MatchReason, str]] = ..., score: _Optional[float] = ..., match_reasons: _Optional[_Iterable[_Union[MatchReason, str]]] = ...) -> None: ...

class Trigger(_message.Message):
    __slots__ = ("trigger_id", "name", "event_kinds", "conditions", "webhook", "stream", "enabled", "create_time", "update_time", "disabled_reason")
    TRIGGER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EVENT_KINDS_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DISABLED_REASON_FIELD_NUMBER: _ClassVar[int]
    trigger_id: str
    name: str
    event_kinds: _containers.RepeatedScalarFieldContainer[_update_pb2.EventKind]
    conditions: TriggerConditions
    webhook: WebhookAction
    stream: StreamAction
    enabled: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    disabled_reason: str
    def __init__(self, trigger_id: _Optional[str] = ..., name: _Optional[str] = ..., event_kinds: _Optional[_Iterable[_Union[_update_pb2.EventKind, str]]] = ..., conditions: _Optional[_Union[TriggerConditions, _Mapping]] = ..., webhook: _Optional[_Union[WebhookAction, _Mapping]] = ..., stream: _Optional[_Union[StreamAction, _Mapping]] = ..., enabled: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., disabled_reason: _Optional[str] = ...) -> None: ...

class TriggerConditions(_message.Message):
    __slots__ = ("account_ids", "chat_ids", "chat_types", "direction", "text_contains", "text_regex", "linked_entity_types", "first_message_from_unlinked_chat")
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    CHAT_IDS_FIELD_NUMBER: _ClassVar[int]
    CHAT_TYPES_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    TEXT_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    TEXT_REGEX_FIELD_NUMBER: _ClassVar[int]
    LINKED_ENTITY_TYPES_FIELD_NUMBER: _ClassVar[int]
    FIRST_MESSAGE_FROM_UNLINKED_CHAT_FIELD_NUMBER: _ClassVar[int]
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    chat_ids: _containers.RepeatedScalarFieldContainer[int]
    chat_types: _containers.RepeatedScalarFieldContainer[_chat_pb2.ChatType]
    direction: MessageDirection
    text_contains: str
    text_regex: str
    linked_entity_types: _containers.RepeatedScalarFieldContainer[CrmEntityType]
    first_message_from_unlinked_chat: bool
    def __init__(self, account_ids: _Optional[_Iterable[str]] = ..., chat_ids: _Optional[_Iterable[int]] = ..., chat_types: _Optional[_Iterable[_Union[_chat_pb2.ChatType, str]]] = ..., direction: _Optional[_Union[MessageDirection, str]] = ..., text_contains: _Optional[str] = ..., text_regex: _Optional[str] = ..., linked_entity_types: _Optional[_Iterable[_Union[CrmEntityType, str]]] = ..., first_message_from_unlinked_chat: _Optional[bool] = ...) -> None: ...

class WebhookAction(_message.Message):
    __slots__ = ("url", "secret")
    URL_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    url: str
    secret: str
    def __init__(self, url: _Optional[str] = ..., secret: _Optional[str] = ...) -> None: ...

class StreamAction(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WebhookDelivery(_message.Message):
    __slots__ = ("delivery_id", "trigger_id", "event_cursor", "status", "attempts", "response_code", "last_error", "create_time", "last_attempt_time", "next_attempt_time", "latency_ms", "attempt_log")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_CODE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_LOG_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    trigger_id: str
    event_cursor: str
    status: DeliveryStatus
    attempts: int
    response_code: int
    last_error: str
    create_time: _timestamp_pb2.Timestamp
    last_attempt_time: _timestamp_pb2.Timestamp
    next_attempt_time: _timestamp_pb2.Timestamp
    latency_ms: int
    attempt_log: _containers.RepeatedCompositeFieldContainer[DeliveryAttempt]
    def __init__(self, delivery_id: _Optional[str] = ..., trigger_id: _Optional[str] = ..., event_cursor: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., attempts: _Optional[int] = ..., response_code: _Optional[int] = ..., last_error: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latency_ms: _Optional[int] = ..., attempt_log: _Optional[_Iterable[_Union[DeliveryAttempt, _Mapping]]] = ...) -> None: ...

class DeliveryAttempt(_message.Message):
    __slots__ = ("attempt_time", "response_code", "latency_ms", "error")
    ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_CODE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    attempt_time: _timestamp_pb2.Timestamp
    response_code: int
    latency_ms: int
    error: str
    def __init__(self, attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., response_code: _Optional[int] = ..., latency_ms: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class LinkChatRequest(_message.Message):
    __slots__ = ("account_id", "chat_id", "entity", "request_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    entity: CrmEntity
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., entity: _Optional[_Union[CrmEntity, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class LinkChatResponse(_message.Message):
    __slots__ = ("link",)
    LINK_FIELD_NUMBER: _ClassVar[int]
    link: ChatLink
    def __init__(self, link: _Optional[_Union[ChatLink, _Mapping]] = ...) -> None: ...

class UnlinkChatRequest(_message.Message):
    __slots__ = ("account_id", "chat_id", "entity")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chat_id: int
    entity: CrmEntity
    def __init__(self, account_id: _Optional[str] = ..., chat_id: _Optional[int] = ..., entity: _Optional[_Union[CrmEntity, _Mapping]] = ...) -> None: ...

class UnlinkChatResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListLinksRequest(_message.Message):
    __slots__ = ("chat", "entity", "page_size", "page_token")
    CHAT_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    chat: ChatRef
    entity: CrmEntity
    page_size: int
    page_token: str
    def __init__(self, chat: _Optional[_Union[ChatRef, _Mapping]] = ..., entity: _Optional[_Union[CrmEntity, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLinksResponse(_message.Message):
    __slots__ = ("links", "next_page_token")
    LINKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    links: _containers.RepeatedCompositeFieldContainer[ChatLink]
    next_page_token: str
    def __init__(self, links: _Optional[_Iterable[_Union[ChatLink, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SuggestLinksRequest(_message.Message):
    __slots__ = ("account_id", "entity")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    entity: EntityContact
    def __init__(self, account_id: _Optional[str] = ..., entity: _Optional[_Union[EntityContact, _Mapping]] = ...) -> None: ...

class SuggestLinksResponse(_message.Message):
    __slots__ = ("suggestions",)
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    suggestions: _containers.RepeatedCompositeFieldContainer[LinkSuggestion]
    def __init__(self, suggestions: _Optional[_Iterable[_Union[LinkSuggestion, _Mapping]]] = ...) -> None: ...

class CreateTriggerRequest(_message.Message):
    __slots__ = ("trigger", "request_id")
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    trigger: Trigger
    request_id: str
    def __init__(self, trigger: _Optional[_Union[Trigger, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateTriggerResponse(_message.Message):
    __slots__ = ("trigger", "webhook_secret")
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_SECRET_FIELD_NUMBER: _ClassVar[int]
    trigger: Trigger
    webhook_secret: str
    def __init__(self, trigger: _Optional[_Union[Trigger, _Mapping]] = ..., webhook_secret: _Optional[str] = ...) -> None: ...

class GetTriggerRequest(_message.Message):
    __slots__ = ("trigger_id",)
    TRIGGER_ID_FIELD_NUMBER: _ClassVar[int]
    trigger_id: str
    def __init__(self, trigger_id: _Optional[str] = ...) -> None: ...

class GetTriggerResponse(_message.Message):
    __slots__ = ("trigger",)
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    trigger: Trigger
    def __init__(self, trigger: _Optional[_Union[Trigger, _Mapping]] = ...) -> None: ...

class ListTriggersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTriggersResponse(_message.Message):
    __slots__ = ("triggers", "next_page_token")
    TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    triggers: _containers.RepeatedCompositeFieldContainer[Trigger]
    next_page_token: str
    def __init__(self, triggers: _Optional[_Iterable[_Union[Trigger, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateTriggerRequest(_message.Message):
    __slots__ = ("trigger", "update_mask")
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    trigger: Trigger
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, trigger: _Optional[_Union[Trigger, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateTriggerResponse(_message.Message):
    __slots__ = ("trigger", "webhook_secret")
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_SECRET_FIELD_NUMBER: _ClassVar[int]
    trigger: Trigger
    webhook_secret: str
    def __init__(self, trigger: _Optional[_Union[Trigger, _Mapping]] = ..., webhook_secret: _Optional[str] = ...) -> None: ...

class DeleteTriggerRequest(_message.Message):
    __slots__ = ("trigger_id",)
    TRIGGER_ID_FIELD_NUMBER: _ClassVar[int]
    trigger_id: str
    def __init__(self, trigger_id: _Optional[str] = ...) -> None: ...

class DeleteTriggerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListDeliveriesRequest(_message.Message):
    __slots__ = ("trigger_id", "page_size", "page_token")
    TRIGGER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    trigger_id: str
    page_size: int
    page_token: str
    def __init__(self, trigger_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries", "next_page_token")
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[WebhookDelivery]
    next_page_token: str
    def __init__(self, deliveries: _Optional[_Iterable[_Union[WebhookDelivery, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RedeliverWebhookRequest(_message.Message):
    __slots__ = ("trigger_id", "delivery_id")
    TRIGGER_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    trigger_id: str
    delivery_id: str
    def __init__(self, trigger_id: _Optional[str] = ..., delivery_id: _Optional[str] = ...) -> None: ...

class RedeliverWebhookResponse(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: WebhookDelivery
    def __init__(self, delivery: _Optional[_Union[WebhookDelivery, _Mapping]] = ...) -> None: ...
