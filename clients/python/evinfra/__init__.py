"""Python client of the event infrastructure: publish events (``XADD`` or HTTP), submit and
follow jobs. Standard library only; the wire rules come from the bundled contract files."""

from .errors import (
    AuthError, ConflictError, EvinfraError, ForbiddenError, HttpError, InvalidEventError, Issue,
    NoHandlerError, NotFoundError, PayloadTooLargeError, RedisReplyError, TimeoutError,
    UnavailableError, ValidationError,
)
from .events import EVENT_TYPES, FAMILIES, SPEC_VERSION, Event, NewEvent, decode_event, encode_event, validate_event
from .http_client import Job, JobRef, JobSpec, StackClient
from .publisher import DEFAULT_STREAM, MAX_BATCH, PublishedEvent, PublishError, StreamPublisher
from .resp import RedisConnection

__all__ = [
    "AuthError", "ConflictError", "EvinfraError", "ForbiddenError", "HttpError", "InvalidEventError",
    "Issue", "NoHandlerError", "NotFoundError", "PayloadTooLargeError", "RedisReplyError", "TimeoutError",
    "UnavailableError", "ValidationError", "EVENT_TYPES", "FAMILIES", "SPEC_VERSION", "Event", "NewEvent",
    "decode_event", "encode_event", "validate_event", "Job", "JobRef", "JobSpec", "StackClient",
    "DEFAULT_STREAM", "MAX_BATCH", "PublishedEvent", "PublishError", "StreamPublisher", "RedisConnection",
]
