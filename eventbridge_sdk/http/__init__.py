"""CloudEvents over HTTP: the protocol binding (binary, structured, batched mode), the event
gateway, the publishing client, and Standard Webhooks signatures."""

from __future__ import annotations

from ._binding import (
    BATCH_CONTENT_TYPE,
    STRUCTURED_CONTENT_TYPE,
    DecodedMessage,
    HttpMessage,
    Mode,
    UnsupportedContentTypeError,
    decode_http,
    from_http,
    to_batch,
    to_binary,
    to_structured,
)
from ._client import (
    DEFAULT_CLIENT_RETRY,
    AsyncEventBridgeClient,
    EventBridgeClient,
    PublishError,
    PublishMode,
    PutEventsResult,
    PutEventsResultEntry,
)
from ._gateway import Gateway, GatewayResponse
from ._signing import WebhookSigner, generate_webhook_secret, verify_webhook

__all__ = [
    "AsyncEventBridgeClient",
    "BATCH_CONTENT_TYPE",
    "DecodedMessage",
    "decode_http",
    "DEFAULT_CLIENT_RETRY",
    "EventBridgeClient",
    "from_http",
    "Gateway",
    "GatewayResponse",
    "generate_webhook_secret",
    "HttpMessage",
    "Mode",
    "PublishError",
    "PublishMode",
    "PutEventsResult",
    "PutEventsResultEntry",
    "STRUCTURED_CONTENT_TYPE",
    "to_batch",
    "to_binary",
    "to_structured",
    "UnsupportedContentTypeError",
    "verify_webhook",
    "WebhookSigner",
]
