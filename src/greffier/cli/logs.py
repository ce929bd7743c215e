"""How the server and worker processes log: text for a person at a terminal, or one JSON
object a line for a log collector (setting log_format). Every line of a request carries its
request id (X-Request-ID: the client's, or a new one), the same id Greffier sends to the
upstream model servers it calls. Configured here, at the command line's edge; the library
only logs to named loggers."""

from __future__ import annotations

import logging.config

TEXT = "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s"
JSON = "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s"


def config(log_format: str, level: str) -> dict:
    """A logging dictConfig (for uvicorn's log_config and the worker)."""
    formatter = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON,
            "rename_fields": {
                "correlation_id": "request_id",
                "levelname": "level",
                "asctime": "time",
            },
        }
        if log_format == "json"
        else {"format": TEXT}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "greffier",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {
                "()": "asgi_correlation_id.CorrelationIdFilter",
                "uuid_length": 32,
                "default_value": "-",
            }
        },
        "formatters": {"greffier": formatter},
        "handlers": {"default": handler},
        "loggers": {
            name: {"handlers": ["default"], "level": level.upper(), "propagate": False}
            for name in ("greffier", "uvicorn", "uvicorn.error", "uvicorn.access", "procrastinate")
        },
    }


def configure(log_format: str, level: str) -> None:
    logging.config.dictConfig(config(log_format, level))
