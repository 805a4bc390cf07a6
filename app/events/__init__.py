"""FR-016 events: the catalogue of names, the record schema and the emitter."""
from app.events.catalogue import Endpoint, ErrorType, Event, Level, Status
from app.events.emit import configure, emit, redact

__all__ = ["Endpoint", "ErrorType", "Event", "Level", "Status", "configure", "emit", "redact"]
