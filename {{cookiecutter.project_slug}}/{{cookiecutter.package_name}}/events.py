"""The security event log (ASVS 16.3): who did what, from where; never secrets.

Values are JSON-encoded so input carrying CR/LF or quotes cannot forge log lines.
"""

import json
import logging

from flask import request

logger = logging.getLogger(__name__)


def log_security_event(event: str, user=None, **details) -> None:
    fields = {"event": event, "user_id": getattr(user, "id", None), "ip": request.remote_addr}
    fields.update(details)
    line = " ".join(f"{key}={json.dumps(value, default=str)}" for key, value in fields.items())
    logger.info(line)
