"""The FR-016 event catalogue: event names, error types and levels, written once.

Everything else (the JSON Schema, the app's emitters, the LogQL queries' tests)
takes these names from here.
"""
from enum import StrEnum


class Event(StrEnum):
    """Every event the FR-016 stream may hold."""

    OAUTH_INITIATE = "basecamp_oauth_initiate"
    OAUTH_CONNECT = "basecamp_oauth_connect"
    TOKEN_REFRESH = "basecamp_token_refresh"  # nosec B105 - an event name, not a password
    API_REQUEST = "basecamp_api_request"
    STATUS_CHECK = "basecamp_status_check"
    DISCONNECT = "basecamp_disconnect"
    ACCOUNT_HEALTH = "basecamp_account_health"


class Level(StrEnum):
    """Levels as the spec assigns them (INFO success, WARNING retryable, ERROR fatal)."""

    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class Status(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


class ErrorType(StrEnum):
    """Machine-readable failure causes carried in `error_type`."""

    # OAuth callback outcomes (spec section 6 and issue 2 item 2)
    INVALID_STATE = "invalid_state"
    SESSION_EXPIRED = "session_expired"
    AUTHORIZATION_FAILED = "authorization_failed"
    TOKEN_EXCHANGE_FAILED = "token_exchange_failed"  # nosec B105 - an error type, not a password
    NO_BASECAMP_ACCOUNT = "no_basecamp_account"
    ACCOUNT_ALREADY_CONNECTED = "account_already_connected"
    # Token refresh and API request outcomes
    INVALID_GRANT = "invalid_grant"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    NETWORK_ERROR = "network_error"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    CLIENT_ERROR = "client_error"
    INVALID_RESPONSE = "invalid_response"
    NOT_CONNECTED = "not_connected"


class Endpoint(StrEnum):
    """`metadata.endpoint` of a `basecamp_api_request` event."""

    TOKEN = "token"  # nosec B105 - an endpoint name, not a password
    IDENTITY = "identity"
    API = "api"
