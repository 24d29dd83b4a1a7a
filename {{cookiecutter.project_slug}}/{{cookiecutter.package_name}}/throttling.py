"""Rate limits (Flask-Limiter), keyed by client address, by account or by recipient.

Limit values are read from the config on each request, so they can be tuned per
environment. Storage comes from RATELIMIT_STORAGE_URI: Redis when several workers or
hosts serve the site, so they all count together (config.py says what happens when
Redis is down).

Failed logins lock an account for a while (RATELIMIT_LOGIN_PER_ACCOUNT), but a stranger's
guesses must not lock out its owner: a browser that has signed in to the account before
carries a signed device cookie and is counted on its own instead (OWASP's "device
cookies"). A completed password reset lifts the lock.
"""

import ipaddress
import logging

from flask import Flask, current_app, g, request
from flask.logging import default_handler
from flask.wrappers import Response
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse_many

from .events import log_security_event
from .forms import MAX_EMAIL_LENGTH, normalise_email
from .tokens import new_token

LOGIN_ACCOUNT_SCOPE = "login-per-account"
LOGIN_DEVICE_SCOPE = "login-per-device"
MAIL_RECIPIENT_SCOPE = "mail-per-recipient"
DEVICE_COOKIE_SALT = "device-cookie"
# Every limit here counts form posts (methods=["POST"]). Exempting the other methods
# up front spares each page view Flask-Limiter's work of resolving the limits only to
# drop them.
UNLIMITED_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_network() -> str:
    """Who a per-address rate limit counts: the client's IPv4 address, or the /64 of an
    IPv6 one (a single subscriber usually holds a whole /64 and can pick any address in it).
    """
    address = request.remote_addr or "127.0.0.1"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return address
    if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is that IPv4 client
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


def is_read_only() -> bool:
    return request.method in UNLIMITED_METHODS


limiter = Limiter(key_func=client_network)
limiter.request_filter(is_read_only)


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    report_storage_problems()


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


def trusted_device() -> str | None:
    """The id of this browser's device cookie when it was issued for the account the form
    names, else None."""
    if "trusted_device" not in g:
        g.trusted_device = None
        cookie = request.cookies.get(current_app.config["DEVICE_COOKIE_NAME"])
        if cookie:
            try:
                email, device_id = _device_serializer().loads(
                    cookie, max_age=current_app.config["DEVICE_COOKIE_LIFETIME"].total_seconds()
                )
            except (BadSignature, ValueError):
                pass
            else:
                if email == submitted_email():
                    g.trusted_device = device_id
    return g.trusted_device


def is_untrusted_device() -> bool:
    return trusted_device() is None


def is_trusted_device() -> bool:
    return trusted_device() is not None


login_per_account = limiter.shared_limit(
    configured("RATELIMIT_LOGIN_PER_ACCOUNT"),
    scope=LOGIN_ACCOUNT_SCOPE,
    key_func=submitted_email,
    methods=["POST"],
    deduct_when=form_rejected,
    exempt_when=is_trusted_device,
)
# A known browser gets the same allowance, counted for that browser alone.
login_per_device = limiter.shared_limit(
    configured("RATELIMIT_LOGIN_PER_ACCOUNT"),
    scope=LOGIN_DEVICE_SCOPE,
    key_func=lambda: trusted_device() or "",
    methods=["POST"],
    deduct_when=form_rejected,
    exempt_when=is_untrusted_device,
)


def remember_device(response: Response, email: str) -> None:
    """After a successful login: this browser is now known for this account."""
    config = current_app.config
    response.set_cookie(
        config["DEVICE_COOKIE_NAME"],
        _device_serializer().dumps([email, new_token()]),
        max_age=int(config["DEVICE_COOKIE_LIFETIME"].total_seconds()),
        secure=config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


def clear_login_failures(email: str) -> None:
    """Wipe the account's failure count, and this browser's (after a login or a reset)."""
    _clear(LOGIN_ACCOUNT_SCOPE, email)
    device = trusted_device()
    if device is not None:
        _clear(LOGIN_DEVICE_SCOPE, device)


def allow_mail_to(address: str) -> bool:
    """Count one e-mail to `address` that a stranger's form post can cause; False once
    RATELIMIT_MAIL_PER_RECIPIENT is used up (the mail is then not sent)."""
    items = parse_many(current_app.config["RATELIMIT_MAIL_PER_RECIPIENT"])
    key = _identifiers(MAIL_RECIPIENT_SCOPE, address.lower())
    if all(limiter.limiter.hit(item, *key) for item in items):
        return True
    log_security_event("mail.suppressed", recipient=address)
    return False


def _clear(scope: str, key: str) -> None:
    for item in parse_many(current_app.config["RATELIMIT_LOGIN_PER_ACCOUNT"]):
        limiter.limiter.clear(item, *_identifiers(scope, key))


def _identifiers(scope: str, key: str) -> list[str]:
    # As Flask-Limiter builds them for a shared limit: [prefix,] key, scope.
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    return [prefix, key, scope] if prefix else [key, scope]


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=DEVICE_COOKIE_SALT)


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
