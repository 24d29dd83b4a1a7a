"""The security event log (ASVS 16.3): who did what, from where; never secrets.

One line per event, `key=value` with every value JSON-encoded, so input carrying CR/LF
or quotes cannot forge log lines. Fields whose name says they hold a secret are never
written, whatever a caller passes.
"""

import json
import logging

from flask import has_request_context, request

logger = logging.getLogger(__name__)

SECRET_FIELD_MARKERS = ("password", "token", "secret", "code")


def log_security_event(event: str, user=None, **details) -> None:
    fields = {
        "event": event,
        "user_id": getattr(user, "id", None),
        # Behind a proxy this is the client's address (TRUSTED_PROXIES, security.py).
        "ip": request.remote_addr if has_request_context() else None,
    }
    for key, value in details.items():
        fields[key] = "[redacted]" if is_secret_field(key) else value
    line = " ".join(f"{key}={json.dumps(value, default=str)}" for key, value in fields.items())
    logger.info(line)


def is_secret_field(name: str) -> bool:
    return any(marker in name.lower() for marker in SECRET_FIELD_MARKERS)
