"""Rate limits of the auth views (Flask-Limiter), keyed by client address or by account.

Limit values are read from the config on each request, so they can be tuned per
environment. Storage comes from RATELIMIT_STORAGE_URI: Redis when several workers or
hosts serve the site, so they all count together (config.py says what happens when
Redis is down).
"""

import logging

from flask import current_app, request
from flask.logging import default_handler
from flask.wrappers import Response
from flask_limiter import RateLimitExceeded
from flask_login import current_user

from ..events import log_security_event
from ..extensions import limiter
from ..forms import MAX_EMAIL_LENGTH, normalise_email

LOGIN_ACCOUNT_SCOPE = "login-per-account"
# Every limit here counts form posts (methods=["POST"]). Exempting the other methods
# up front spares each page view Flask-Limiter's work of resolving the limits only to
# drop them.
UNLIMITED_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@limiter.request_filter
def is_read_only() -> bool:
    return request.method in UNLIMITED_METHODS


def configured(name: str):
    return lambda: current_app.config[name]


def submitted_email() -> str:
    """The account a request targets, so guesses spread over many addresses still add up.

    Normalised as the login form does it, so spellings of one address share one count.
    """
    email = request.form.get("email", "").strip()[:MAX_EMAIL_LENGTH]
    try:
        return normalise_email(email)
    except ValueError:
        return email.lower()


def limit_per_user(setting: str):
    """For signed-in actions that take a password: counted per account, not per address."""
    return limiter.limit(
        configured(setting), key_func=lambda: f"user:{current_user.id}", methods=["POST"]
    )


def form_rejected(response: Response) -> bool:
    # A failed login re-renders the form (200); success redirects.
    return response.status_code == 200


def limit_per_address(setting: str):
    return limiter.limit(configured(setting), methods=["POST"])


def limit_per_account(setting: str):
    return limiter.limit(configured(setting), key_func=submitted_email, methods=["POST"])


login_per_account = limiter.shared_limit(
    configured("RATELIMIT_LOGIN_PER_ACCOUNT"),
    scope=LOGIN_ACCOUNT_SCOPE,
    key_func=submitted_email,
    methods=["POST"],
    deduct_when=form_rejected,
)


def clear_login_failures() -> None:
    """A successful login wipes the account's failure count."""
    for request_limit in limiter.current_limits:
        if LOGIN_ACCOUNT_SCOPE in request_limit.request_args:
            limiter.limiter.clear(request_limit.limit, *request_limit.request_args)


def log_rate_limit_breach(error: RateLimitExceeded) -> None:
    """Called by the 429 error page: which limit stopped whom (the key: address or account)."""
    runtime_limit = error.limit
    log_security_event(
        "rate_limit.exceeded",
        current_user,
        endpoint=request.endpoint,
        limit=str(runtime_limit.limit),
        key=runtime_limit.key_func(),
    )


def report_storage_problems() -> None:
    """Let "Rate limit storage unreachable" reach the log like the app's own messages.

    Flask-Limiter writes it to its own logger, which has only a NullHandler; unless the
    project configures logging itself, the warning would go nowhere.
    """
    logger = logging.getLogger("flask-limiter")
    handlers = [*logger.handlers, *logging.getLogger().handlers]
    if all(isinstance(handler, logging.NullHandler) for handler in handlers):
        logger.addHandler(default_handler)
