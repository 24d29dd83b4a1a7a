"""Settings, one class per environment, picked by APP_ENV.

Each setting is declared once, with its default. The ones with a type annotation come
from the environment variable of the same name when that is set (secrets and whatever
differs between deployments, see .env.example); the others are fixed here. load_config()
builds an environment's settings in this order: its class, the environment, a test's
overrides (create_app's test_config), the settings that follow from those; then it checks
them.
"""

import os
from datetime import timedelta
from email.headerregistry import Address
from typing import NewType, get_type_hints
from urllib.parse import urlsplit

import click
from dotenv import dotenv_values, find_dotenv
from flask.helpers import get_load_dotenv
from limits import parse_many

from .database import engine_options, normalise_database_url

# A rate limit in Flask-Limiter's notation: "10/hour", "5/minute;50/day".
RateLimit = NewType("RateLimit", str)
# Text copied from a sample file rather than generated: refused even when long enough.
PLACEHOLDER_MARKERS = ("change-me", "changeme", "change_me", "replace-me", "replace_me", "your-")
MIN_SECRET_KEY_LENGTH = 32
# A generated key uses many different characters; "x" * 40 or "abab..." does not.
MIN_SECRET_KEY_DISTINCT_CHARACTERS = 10
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
# E-mails come from PROJECT_NAME at this address unless MAIL_DEFAULT_SENDER is set.
NO_REPLY_ADDRESS = "no-reply@{{ cookiecutter.domain_name }}"
# Without DATABASE_URL: a SQLite file, whose relative path lives in the instance/ folder.
DEFAULT_DATABASE_URL = "sqlite:///{{ cookiecutter.project_slug }}.db"
# Production refuses to start without these settings.
{%- if cookiecutter.database == "postgresql" %}
# DATABASE_URL too: the default SQLite file is for development.
REQUIRED_IN_PRODUCTION = ("MAIL_SERVER", "BASE_URL", "DATABASE_URL")
{%- else %}
REQUIRED_IN_PRODUCTION = ("MAIL_SERVER", "BASE_URL")
{%- endif %}


class ConfigurationError(click.ClickException):
    """Raised at start-up when the environment is missing something the app needs.

    A ClickException, so the `flask` command prints the message alone, with no traceback.
    """


def is_yes(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def host_names(text: str) -> list[str] | None:
    return [name.strip() for name in text.split(",") if name.strip()] or None


# How an environment variable's text becomes a setting, by the setting's annotation.
PARSERS = {str: str, int: int, bool: is_yes, RateLimit: str, list[str] | None: host_names}


def settings_from_dotenv() -> tuple[str, list[str]]:
    """The .env file found from the working directory, and the variables whose value in
    the environment is the non-empty one that file sets.

    The `flask` command loads .env before it imports the app (python-dotenv, which never
    overrides a variable already set), unless FLASK_SKIP_DOTENV tells it not to; a shell
    may have sourced the file too. Either way the environment then holds its values.
    """
    path = find_dotenv(usecwd=True)
    if not path or not get_load_dotenv():
        return path, []
    names = [
        name
        for name, value in dotenv_values(path).items()
        if value and os.environ.get(name) == value
    ]
    return path, names


class Config:
    """Settings shared by every environment."""

    PROJECT_NAME = "{{ cookiecutter.project_name }}"
    # Signs sessions and CSRF tokens: a random value, which check() insists on.
    SECRET_KEY: str = ""
    # Empty: DEFAULT_DATABASE_URL.
    DATABASE_URL: str = ""
    # The site's public address: links in e-mails are built from it, never from the
    # request's Host header. Empty in development: links follow the browser's address.
    BASE_URL: str = ""

    # Forms only, no uploads: anything bigger is refused with 413 before it is parsed.
    MAX_CONTENT_LENGTH = 64 * 1024
    MAX_FORM_MEMORY_SIZE = 64 * 1024

    # Reverse proxies in front of the app whose X-Forwarded-* headers to trust, and the
    # host names the app answers to (others get 400; None: any, except in production).
    TRUSTED_PROXIES: int = 0
    TRUSTED_HOSTS: list[str] | None = None

    # Cookies. The session cookie carries only a server-side session token (auth/sessions.py).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_REFRESH_EACH_REQUEST = False
    # A browser that signed in to an account is not locked out by strangers' failed
    # logins to it (throttling.py); the cookie says which account, signed.
    DEVICE_COOKIE_NAME = "device"
    DEVICE_COOKIE_LIFETIME = timedelta(days=365)
    SEND_HSTS = False

    # Server-side sessions (ASVS 7.3): ended after this long without a request unless
    # "remember me" was ticked, and after the absolute lifetime in any case.
    SESSION_IDLE_TIMEOUT = timedelta(hours=2)
    SESSION_ABSOLUTE_LIFETIME = timedelta(days=30)
    REMEMBER_COOKIE_DURATION = SESSION_ABSOLUTE_LIFETIME
    SESSION_TOUCH_INTERVAL = timedelta(minutes=1)

    # Password policy (NIST SP 800-63B / ASVS 6.2): length and a deny-list, no
    # composition rules unless a team's policy demands them.
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_REQUIRE_CHARACTER_CLASSES = False
    BCRYPT_LOG_ROUNDS: int = 12
    PASSWORD_RESET_TOKEN_LIFETIME = timedelta(minutes=30)

    # Rate limits. Login is limited per client address and, separately, per target
    # account, so a guess spread over many addresses is slowed too.
    RATELIMIT_LOGIN_PER_ADDRESS: RateLimit = "20/minute;100/hour"
    RATELIMIT_LOGIN_PER_ACCOUNT: RateLimit = "10/15 minutes"
    RATELIMIT_SIGNUP: RateLimit = "10/hour"
    RATELIMIT_FORGOT_PER_ADDRESS: RateLimit = "10/hour"
    RATELIMIT_FORGOT_PER_ACCOUNT: RateLimit = "3/hour"
    RATELIMIT_CREDENTIAL_CHANGE: RateLimit = "10/hour"
    # E-mails a stranger's form post can send to one address (codes, "someone tried to
    # sign up with your address").
    RATELIMIT_MAIL_PER_RECIPIENT: RateLimit = "5/hour;20/day"
    RATELIMIT_HEADERS_ENABLED = True
    # memory:// counts in each process; redis://host:6379/0 counts for every worker.
    RATELIMIT_STORAGE_URI: str = "memory://"
    # Lets several sites share one Redis without counting each other's requests.
    RATELIMIT_KEY_PREFIX: str = "{{ cookiecutter.project_slug }}"
    # When the rate-limit storage (Redis) cannot be reached, neither fail open (no limits:
    # an attacker who can upset Redis gets unlimited password guesses) nor fail closed
    # (every limited page answers 500: a Redis outage becomes a login outage). Each worker
    # falls back to counting in its own memory with the same limits, logs a warning
    # ("Rate limit storage unreachable") and goes back to Redis once it answers again.
    # While Redis is down a limit of N allows at most N x workers tries, never unlimited.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = False

    # E-mail through SMTP (Flask-Mail); "console" prints each one to the log instead.
    MAIL_BACKEND = "smtp"
    MAIL_SERVER: str = ""
    MAIL_PORT: int = 25
    MAIL_USE_TLS: bool = False
    MAIL_USE_SSL: bool = False
    MAIL_USERNAME: str = ""
    MAIL_PASSWORD: str = ""
    # Empty: PROJECT_NAME at NO_REPLY_ADDRESS.
    MAIL_DEFAULT_SENDER: str = ""
    MAIL_TIMEOUT = 10
    MAIL_SEND_ASYNC = True
{%- if cookiecutter.use_admin %}

    # The admin pages ask for the password again when the last one is older.
    REAUTHENTICATION_WINDOW = timedelta(minutes=15)
{%- endif %}
{%- if cookiecutter.use_otp %}

    # E-mail verification by one-time code.
    OTP_LIFETIME = timedelta(minutes=10)
    OTP_MAX_ATTEMPTS = 5
    OTP_LOCKOUT = timedelta(minutes=15)
    OTP_RESEND_COOLDOWN = timedelta(seconds=60)
    RATELIMIT_VERIFY: RateLimit = "10/minute"
    RATELIMIT_RESEND: RateLimit = "5/hour"
{%- endif %}

    def read_environment(self) -> None:
        """Each annotated setting from the variable of its name; unset or empty leaves it."""
        for name, kind in ENVIRONMENT_SETTINGS.items():
            if text := os.environ.get(name):
                setattr(self, name, PARSERS[kind](text))

    def derive(self) -> None:
        """The settings that follow from the others."""
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            self.DATABASE_URL or DEFAULT_DATABASE_URL
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.BASE_URL = self.BASE_URL.rstrip("/")
        # A dead Redis must not hang a worker: give up on it after a second.
        self.RATELIMIT_STORAGE_OPTIONS = (
            {"socket_connect_timeout": 1, "socket_timeout": 1}
            if self.RATELIMIT_STORAGE_URI.startswith(("redis://", "rediss://"))
            else {}
        )
        # The standard library quotes a name with a comma or colon, which would otherwise
        # split the header ("Smith, Jones & Co" gave "From: Smith" with no address).
        self.MAIL_DEFAULT_SENDER = self.MAIL_DEFAULT_SENDER or str(
            Address(self.PROJECT_NAME, addr_spec=NO_REPLY_ADDRESS)
        )

    def check(self) -> None:
        """Refuse to start with a configuration that would be unsafe or broken."""
        key = self.SECRET_KEY
        if (
            len(key) < MIN_SECRET_KEY_LENGTH
            or len(set(key)) < MIN_SECRET_KEY_DISTINCT_CHARACTERS
            or any(marker in key.lower() for marker in PLACEHOLDER_MARKERS)
        ):
            raise ConfigurationError(
                f"SECRET_KEY must be a random value of at least {MIN_SECRET_KEY_LENGTH} "
                "characters, not a placeholder; generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        for name in RATE_LIMITS:
            try:
                parse_many(getattr(self, name))
            except ValueError:
                raise ConfigurationError(
                    f"{name} is not a rate limit such as '10/hour' or '5/minute;50/day': "
                    f"{getattr(self, name)!r}"
                ) from None


# The settings an environment variable may set, with their types: Config's annotated ones.
ENVIRONMENT_SETTINGS = get_type_hints(Config)
RATE_LIMITS = [name for name, kind in ENVIRONMENT_SETTINGS.items() if kind is RateLimit]


class DevelopmentConfig(Config):
    """No DEBUG here: as Flask advises, `flask run --debug` (or FLASK_DEBUG) decides, so
    the debugger, the reloader and app.debug are on or off together.

    BASE_URL may stay unset: links in e-mails then follow the request's address.
    """

    def derive(self) -> None:
        super().derive()
        # With no SMTP server configured, e-mails are printed to the log.
        if not self.MAIL_SERVER:
            self.MAIL_BACKEND = "console"


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret-key-" + "x" * 32
    # In memory, unless a test gives DATABASE_URL (tests/conftest.py does).
    DATABASE_URL = "sqlite://"
    BASE_URL = "http://localhost"
    BCRYPT_LOG_ROUNDS = 4
    MAIL_SEND_ASYNC = False

    def read_environment(self) -> None:
        """Nothing: a test passes what it needs to create_app (test_config), so a shell
        holding .env's or production's values changes no test and reaches no real
        database or mail server."""

    def derive(self) -> None:
        super().derive()
        # Captured in memory (mail.record_messages) unless a test gives a MAIL_SERVER.
        self.MAIL_SUPPRESS_SEND = not self.MAIL_SERVER


class ProductionConfig(Config):
    DEBUG = False
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    # The __Host- prefix pins the cookie to this exact host, HTTPS only, path /.
    SESSION_COOKIE_NAME = "__Host-session"
    REMEMBER_COOKIE_NAME = "__Host-remember_token"
    DEVICE_COOKIE_NAME = "__Host-device"
    PREFERRED_URL_SCHEME = "https"
    SEND_HSTS = True

    def derive(self) -> None:
        super().derive()
        # Answer only to the site's own names (a forged Host header gets 400): the names in
        # TRUSTED_HOSTS, else the host of BASE_URL plus the loopback names a health check
        # inside the container or host uses (links never come from the Host header).
        if self.TRUSTED_HOSTS is None and self.BASE_URL:
            self.TRUSTED_HOSTS = [urlsplit(self.BASE_URL).hostname, *LOOPBACK_HOSTS]

    def check(self) -> None:
        # First: a development value taken from .env (its SECRET_KEY, above all) would
        # pass every other check.
        path, from_dotenv = settings_from_dotenv()
        if from_dotenv:
            raise ConfigurationError(
                f"Production will not run on settings from {path}, the development file: "
                f"the environment holds its values for {', '.join(from_dotenv)}. Give "
                "production its own environment variables and delete or rename that file "
                "on this machine (FLASK_SKIP_DOTENV=1 makes the flask command ignore it)."
            )
        super().check()
        missing = [name for name in REQUIRED_IN_PRODUCTION if not getattr(self, name)]
        if missing:
            raise ConfigurationError(
                f"Production needs these environment variables: {', '.join(missing)}"
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name: str, test_config: dict | None = None) -> Config:
    """The settings of environment `name`, checked.

    test_config (a test's own settings, as in Flask's tutorial) comes after the
    environment and before what follows from the settings: give DATABASE_URL, not
    SQLALCHEMY_DATABASE_URI.
    """
    try:
        config = CONFIGS[name]()
    except KeyError:
        raise ConfigurationError(
            f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}"
        ) from None
    config.read_environment()
    for setting, value in (test_config or {}).items():
        setattr(config, setting, value)
    config.derive()
    config.check()
    return config
