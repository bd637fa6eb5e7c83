import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tez.telegram.v1 import message_pb2 as _message_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SandboxUser(_message.Message):
    __slots__ = ("user_id", "phone_number", "first_name", "last_name", "username", "bot", "login_code", "bot_token", "has_password", "create_time")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    BOT_FIELD_NUMBER: _ClassVar[int]
    LOGIN_CODE_FIELD_NUMBER: _ClassVar[int]
    BOT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HAS_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    phone_number: str
    first_name: str
    last_name: str
    username: str
    bot: bool
    login_code: str
    bot_token: str
    has_password: bool
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[int] = ..., phone_number: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., username: _Optional[str] = ..., bot: _Optional[bool] = ..., login_code: _Optional[str] = ..., bot_token: _Optional[str] = ..., has_password: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SandboxUserRef(_message.Message):
    __slots__ = ("phone_number", "user_id")
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    user_id: int
    def __init__(self, phone_number: _Optional[str] = ..., user_id: _Optional[int] = ...) -> None: ...

class CreateSandboxUserRequest(_message.Message):
    __slots__ = ("phone_number", "first_name", "last_name", "username", "password", "password_hint", "bot", "request_id")
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_HINT_FIELD_NUMBER: _ClassVar[int]
    BOT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    first_name: str
    last_name: str
    username: str
    password: str
    password_hint: str
    bot: bool
    request_id: str
    def __init__(self, phone_number: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., username: _Optional[str] = ..., password: _Optional[str] = ..., password_hint: _Optional[str] = ..., bot: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateSandboxUserResponse(_message.Message):
    __slots__ = ("sandbox_user",)
    SANDBOX_USER_FIELD_NUMBER: _ClassVar[int]
    sandbox_user: SandboxUser
    def __init__(self, sandbox_user: _Optional[_Union[SandboxUser, _Mapping]] = ...) -> None: ...

class ListSandboxUsersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSandboxUsersResponse(_message.Message):
    __slots__ = ("sandbox_users", "next_page_token")
    SANDBOX_USERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sandbox_users: _containers.RepeatedCompositeFieldContainer[SandboxUser]
    next_page_token: str
    def __init__(self, sandbox_users: _Optional[_Iterable[_Union[SandboxUser, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SendAsSandboxUserRequest(_message.Message):
    __slots__ = ("sandbox_user", "to_account_id", "text")
    SANDBOX_USER_FIELD_NUMBER: _ClassVar[int]
    TO_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    sandbox_user: SandboxUserRef
    to_account_id: str
    text: str
    def __init__(self, sandbox_user: _Optional[_Union[SandboxUserRef, _Mapping]] = ..., to_account_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class SendAsSandboxUserResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: _message_pb2.Message
    def __init__(self, message: _Optional[_Union[_message_pb2.Message, _Mapping]] = ...) -> None: ...

class AcceptQrLoginRequest(_message.Message):
    __slots__ = ("sandbox_user", "qr_url")
    SANDBOX_USER_FIELD_NUMBER: _ClassVar[int]
    QR_URL_FIELD_NUMBER: _ClassVar[int]
    sandbox_user: SandboxUserRef
    qr_url: str
    def __init__(self, sandbox_user: _Optional[_Union[SandboxUserRef, _Mapping]] = ..., qr_url: _Optional[str] = ...) -> None: ...

class AcceptQrLoginResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InjectFaultRequest(_message.Message):
    __slots__ = ("account_id", "method", "flood_wait", "session_revoked", "drop_connection")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    FLOOD_WAIT_FIELD_NUMBER: _ClassVar[int]
    SESSION_REVOKED_FIELD_NUMBER: _ClassVar[int]
    DROP_CONNECTION_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    method: str
    flood_wait: FloodWait
    session_revoked: SessionRevoked
    drop_connection: DropConnection
    def __init__(self, account_id: _Optional[str] = ..., method: _Optional[str] = ..., flood_wait: _Optional[_Union[FloodWait, _Mapping]] = ..., session_revoked: _Optional[_Union[SessionRevoked, _Mapping]] = ..., drop_connection: _Optional[_Union[DropConnection, _Mapping]] = ...) -> None: ...

class FloodWait(_message.Message):
    __slots__ = ("seconds", "count")
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    seconds: int
    count: int
    def __init__(self, seconds: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class SessionRevoked(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DropConnection(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InjectFaultResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
