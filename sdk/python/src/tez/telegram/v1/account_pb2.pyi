import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccountKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_KIND_UNSPECIFIED: _ClassVar[AccountKind]
    ACCOUNT_KIND_USER: _ClassVar[AccountKind]
    ACCOUNT_KIND_BOT: _ClassVar[AccountKind]

class AccountState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_STATE_UNSPECIFIED: _ClassVar[AccountState]
    ACCOUNT_STATE_LOGIN_CODE_REQUIRED: _ClassVar[AccountState]
    ACCOUNT_STATE_PASSWORD_REQUIRED: _ClassVar[AccountState]
    ACCOUNT_STATE_AUTHORIZED: _ClassVar[AccountState]
    ACCOUNT_STATE_REAUTH_REQUIRED: _ClassVar[AccountState]
    ACCOUNT_STATE_LOGGED_OUT: _ClassVar[AccountState]
ACCOUNT_KIND_UNSPECIFIED: AccountKind
ACCOUNT_KIND_USER: AccountKind
ACCOUNT_KIND_BOT: AccountKind
ACCOUNT_STATE_UNSPECIFIED: AccountState
ACCOUNT_STATE_LOGIN_CODE_REQUIRED: AccountState
ACCOUNT_STATE_PASSWORD_REQUIRED: AccountState
ACCOUNT_STATE_AUTHORIZED: AccountState
ACCOUNT_STATE_REAUTH_REQUIRED: AccountState
ACCOUNT_STATE_LOGGED_OUT: AccountState

class Account(_message.Message):
    __slots__ = ("account_id", "kind", "state", "phone_number", "telegram_user_id", "username", "display_name", "create_time", "update_time", "password_hint")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TELEGRAM_USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_HINT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    kind: AccountKind
    state: AccountState
    phone_number: str
    telegram_user_id: int
    username: str
    display_name: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    password_hint: str
    def __init__(self, account_id: _Optional[str] = ..., kind: _Optional[_Union[AccountKind, str]] = ..., state: _Optional[_Union[AccountState, str]] = ..., phone_number: _Optional[str] = ..., telegram_user_id: _Optional[int] = ..., username: _Optional[str] = ..., display_name: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., password_hint: _Optional[str] = ...) -> None: ...

class StartLoginRequest(_message.Message):
    __slots__ = ("phone_number", "bot_token", "request_id")
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BOT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    bot_token: str
    request_id: str
    def __init__(self, phone_number: _Optional[str] = ..., bot_token: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class StartLoginResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class SubmitCodeRequest(_message.Message):
    __slots__ = ("account_id", "code")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    code: str
    def __init__(self, account_id: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class SubmitCodeResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class SubmitPasswordRequest(_message.Message):
    __slots__ = ("account_id", "password")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    password: str
    def __init__(self, account_id: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class SubmitPasswordResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class StartQrLoginRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class StartQrLoginResponse(_message.Message):
    __slots__ = ("qr_code", "account")
    QR_CODE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    qr_code: QrCode
    account: Account
    def __init__(self, qr_code: _Optional[_Union[QrCode, _Mapping]] = ..., account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class QrCode(_message.Message):
    __slots__ = ("qr_url", "expire_time")
    QR_URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    qr_url: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, qr_url: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class ListAccountsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAccountsResponse(_message.Message):
    __slots__ = ("accounts", "next_page_token")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[Account]
    next_page_token: str
    def __init__(self, accounts: _Optional[_Iterable[_Union[Account, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class LogOutRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class LogOutResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class DeleteAccountRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class DeleteAccountResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAuthorizationsRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class ListAuthorizationsResponse(_message.Message):
    __slots__ = ("authorizations",)
    AUTHORIZATIONS_FIELD_NUMBER: _ClassVar[int]
    authorizations: _containers.RepeatedCompositeFieldContainer[Authorization]
    def __init__(self, authorizations: _Optional[_Iterable[_Union[Authorization, _Mapping]]] = ...) -> None: ...

class Authorization(_message.Message):
    __slots__ = ("authorization_hash", "current", "device_model", "platform", "app_name", "ip", "country", "create_time", "active_time")
    AUTHORIZATION_HASH_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    DEVICE_MODEL_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    authorization_hash: int
    current: bool
    device_model: str
    platform: str
    app_name: str
    ip: str
    country: str
    create_time: _timestamp_pb2.Timestamp
    active_time: _timestamp_pb2.Timestamp
    def __init__(self, authorization_hash: _Optional[int] = ..., current: _Optional[bool] = ..., device_model: _Optional[str] = ..., platform: _Optional[str] = ..., app_name: _Optional[str] = ..., ip: _Optional[str] = ..., country: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TerminateAuthorizationRequest(_message.Message):
    __slots__ = ("account_id", "authorization_hash")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_HASH_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    authorization_hash: int
    def __init__(self, account_id: _Optional[str] = ..., authorization_hash: _Optional[int] = ...) -> None: ...

class TerminateAuthorizationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
