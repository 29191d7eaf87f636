"""Use cases of the CDP: event sources and the ingestion of events into the event log."""

from loopcrm.modules.cdp.service.ingestion import (
    IncomingRequest,
    Ingestion,
    InvalidWriteKey,
    OriginNotAllowed,
    TooManyEvents,
)
from loopcrm.modules.cdp.service.messages import SHORT_PATH_TYPES, RequestRefused
from loopcrm.modules.cdp.service.sources import (
    EVENT,
    SOURCE,
    count_events,
    create_source,
    get_source,
    list_dead_letters,
    list_events,
    list_sources,
    rotate_write_key,
    source_counters,
    update_source,
)
from loopcrm.modules.cdp.service.writer import WriteOutcome, WriterUnavailable

__all__ = [
    "EVENT",
    "SHORT_PATH_TYPES",
    "SOURCE",
    "IncomingRequest",
    "Ingestion",
    "InvalidWriteKey",
    "OriginNotAllowed",
    "RequestRefused",
    "TooManyEvents",
    "WriteOutcome",
    "WriterUnavailable",
    "count_events",
    "create_source",
    "get_source",
    "list_dead_letters",
    "list_events",
    "list_sources",
    "rotate_write_key",
    "source_counters",
    "update_source",
]
