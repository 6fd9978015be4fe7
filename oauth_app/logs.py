"""Structured logs: one JSON object per line, fields passed as `extra={"fields": {...}}`. Never log secrets."""

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info and record.levelno >= logging.ERROR:
            entry["exception"] = repr(record.exc_info[1])  # the type and message; no frames, no locals
        return json.dumps(entry, default=str)
