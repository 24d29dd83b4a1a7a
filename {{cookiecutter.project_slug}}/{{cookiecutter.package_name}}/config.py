"""Settings, one class per environment, picked by APP_ENV.

Every secret and every deployment-specific value comes from the environment (see
.env.example); the classes only hold safe defaults. Values are read when the class is
instantiated, so tests can set variables before calling create_app().
"""

import os
from datetime import timedelta
from email.headerregistry import Address
from urllib.parse import urlsplit

import click
from dotenv import dotenv_values, find_dotenv
from flask.helpers import get_load_dotenv
from limits import parse_many

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
# The rate limits (Config below); an environment variable of the same name overrides each.
RATELIMIT_SETTINGS = (
    "RATELIMIT_LOGIN_PER_ADDRESS",
    "RATELIMIT_LOGIN_PER_ACCOUNT",
    "RATELIMIT_SIGNUP",
    "RATELIMIT_FORGOT_PER_ADDRESS",
    "RATELIMIT_FORGOT_PER_ACCOUNT",
    "RATELIMIT_CREDENTIAL_CHANGE",
    "RATELIMIT_MAIL_PER_RECIPIENT",
{%- if cookiecutter.use_otp %}
    "RATELIMIT_VERIFY",
    "RATELIMIT_RESEND",
{%- endif %}
)


class ConfigurationError(click.ClickException):
    """Raised at start-up when the environment is missing something the app needs.

    A ClickException, so the `flask` command prints the message alone, with no traceback.
    """


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


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
{%- if cookiecutter.database == "postgresql" %}


def normalise_database_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy needs the driver named.
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def engine_options(url: str) -> dict:
    """Connection pool settings for PostgreSQL; SQLite keeps SQLAlchemy's defaults.

    Each process (gunicorn worker) keeps its own pool: 5 connections, 10 more at peaks.
    """
    if not url.startswith("postgresql"):
        return {}
    return {
        # Test a connection before handing it out: one the server, a proxy or a failover
        # closed while it sat idle is replaced instead of failing the request.
        "pool_pre_ping": True,
        # Renew connections after 30 minutes, before the idle timeouts of proxies and
        # load balancers (often an hour) cut them.
        "pool_recycle": 1800,
    }
{%- endif %}


class Config:
    """Settings shared by every environment."""

    PROJECT_NAME = "{{ cookiecutter.project_name }}"

    # Forms only, no uploads: anything bigger is refused with 413 before it is parsed.
    MAX_CONTENT_LENGTH = 64 * 1024
    MAX_FORM_MEMORY_SIZE = 64 * 1024

    # Cookies. The session cookie carries only a server-side session token (auth/sessions.py).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_REFRESH_EACH_REQUEST = False
    # A browser that signed in to an account is not locked out by strangers' failed
    # logins to it (auth/throttling.py); the cookie says which account, signed.
    DEVICE_COOKIE_NAME = "device"
    DEVICE_COOKIE_LIFETIME = timedelta(days=365)

    # Server-side sessions (ASVS 7.3): ended after this long without a request unless
    # "remember me" was ticked, and after the absolute lifetime in any case.
    SESSION_IDLE_TIMEOUT = timedelta(hours=2)
    SESSION_ABSOLUTE_LIFETIME = timedelta(days=30)
    REMEMBER_COOKIE_DURATION = SESSION_ABSOLUTE_LIFETIME
    SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
{%- if cookiecutter.use_admin %}
    # The admin pages ask for the password again when the last one is older.
    REAUTHENTICATION_WINDOW = timedelta(minutes=15)
{%- endif %}

    # Password policy (NIST SP 800-63B / ASVS 6.2): length and a deny-list, no
    # composition rules unless a team's policy demands them.
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_REQUIRE_CHARACTER_CLASSES = False
    BCRYPT_LOG_ROUNDS = 12

    PASSWORD_RESET_TOKEN_LIFETIME = timedelta(minutes=30)
{%- if cookiecutter.use_otp %}
    OTP_LIFETIME = timedelta(minutes=10)
    OTP_MAX_ATTEMPTS = 5
    OTP_LOCKOUT = timedelta(minutes=15)
    OTP_RESEND_COOLDOWN = timedelta(seconds=60)
{%- endif %}

    # Rate limits (Flask-Limiter notation). Login is limited per client address and,
    # separately, per target account so a guess spread over many addresses is slowed too.
    # Each value can be overridden by an environment variable of the same name.
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_LOGIN_PER_ADDRESS = "20/minute;100/hour"
    RATELIMIT_LOGIN_PER_ACCOUNT = "10/15 minutes"
    RATELIMIT_SIGNUP = "10/hour"
    RATELIMIT_FORGOT_PER_ADDRESS = "10/hour"
    RATELIMIT_FORGOT_PER_ACCOUNT = "3/hour"
    RATELIMIT_CREDENTIAL_CHANGE = "10/hour"
    # E-mails a stranger's form post can send to one address (codes, "someone tried to
    # sign up with your address").
    RATELIMIT_MAIL_PER_RECIPIENT = "5/hour;20/day"
{%- if cookiecutter.use_otp %}
    RATELIMIT_VERIFY = "10/minute"
    RATELIMIT_RESEND = "5/hour"
{%- endif %}
    # When the rate-limit storage (Redis) cannot be reached, neither fail open (no limits:
    # an attacker who can upset Redis gets unlimited password guesses) nor fail closed
    # (every limited page answers 500: a Redis outage becomes a login outage). Each worker
    # falls back to counting in its own memory with the same limits, logs a warning
    # ("Rate limit storage unreachable") and goes back to Redis once it answers again.
    # While Redis is down a limit of N allows at most N x workers tries, never unlimited.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = False
    # Lets several sites share one Redis without counting each other's requests.
    RATELIMIT_KEY_PREFIX = "{{ cookiecutter.project_slug }}"

    SEND_HSTS = False

    MAIL_TIMEOUT = 10
    MAIL_SEND_ASYNC = True

    def __init__(self) -> None:
        self.SECRET_KEY = os.environ.get("SECRET_KEY", "")
{%- if cookiecutter.database == "postgresql" %}
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
{%- else %}
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
{%- endif %}
        self.BASE_URL = os.environ.get("BASE_URL", "").rstrip("/")
        self.BCRYPT_LOG_ROUNDS = env_int("BCRYPT_LOG_ROUNDS", self.BCRYPT_LOG_ROUNDS)
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_KEY_PREFIX = os.environ.get(
            "RATELIMIT_KEY_PREFIX", self.RATELIMIT_KEY_PREFIX
        )
        # A dead Redis must not hang a worker: give up on it after a second.
        self.RATELIMIT_STORAGE_OPTIONS = (
            {"socket_connect_timeout": 1, "socket_timeout": 1}
            if self.RATELIMIT_STORAGE_URI.startswith(("redis://", "rediss://"))
            else {}
        )
        for name in RATELIMIT_SETTINGS:
            setattr(self, name, os.environ.get(name) or getattr(self, name))
        self.TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
        self.TRUSTED_HOSTS = env_list("TRUSTED_HOSTS") or None

        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
        self.MAIL_PORT = env_int("MAIL_PORT", 25)
        self.MAIL_USE_TLS = env_bool("MAIL_USE_TLS")
        self.MAIL_USE_SSL = env_bool("MAIL_USE_SSL")
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
        # The standard library quotes a name with a comma or colon, which would otherwise
        # split the header ("Smith, Jones & Co" gave "From: Smith" with no address).
        self.MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER") or str(
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
        for name in RATELIMIT_SETTINGS:
            try:
                parse_many(getattr(self, name))
            except ValueError:
                raise ConfigurationError(
                    f"{name} is not a rate limit such as '10/hour' or '5/minute;50/day': "
                    f"{getattr(self, name)!r}"
                ) from None


class DevelopmentConfig(Config):
    """No DEBUG here: as Flask advises, `flask run --debug` (or FLASK_DEBUG) decides, so
    the debugger, the reloader and app.debug are on or off together.

    BASE_URL may stay unset: links in e-mails then follow the request's address.
    """

    def __init__(self) -> None:
        super().__init__()
        # With no SMTP server configured, e-mails are printed to the log.
        self.MAIL_BACKEND = "smtp" if self.MAIL_SERVER else "console"


class TestingConfig(Config):
    TESTING = True
    BCRYPT_LOG_ROUNDS = 4
    MAIL_BACKEND = "smtp"
    MAIL_SEND_ASYNC = False

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = "testing-secret-key-" + "x" * 32
{%- if cookiecutter.database == "postgresql" %}
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("TEST_DATABASE_URL") or "sqlite://"
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
{%- else %}
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
{%- endif %}
        self.BASE_URL = "http://localhost"
        # Captured in memory (mail.record_messages) unless a test points MAIL_SERVER somewhere.
        self.MAIL_SUPPRESS_SEND = not self.MAIL_SERVER
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.RATELIMIT_STORAGE_OPTIONS = {}


class ProductionConfig(Config):
    DEBUG = False
    MAIL_BACKEND = "smtp"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    # The __Host- prefix pins the cookie to this exact host, HTTPS only, path /.
    SESSION_COOKIE_NAME = "__Host-session"
    REMEMBER_COOKIE_NAME = "__Host-remember_token"
    DEVICE_COOKIE_NAME = "__Host-device"
    PREFERRED_URL_SCHEME = "https"
    SEND_HSTS = True

    def __init__(self) -> None:
        super().__init__()
        # Answer only to the site's own names (a forged Host header gets 400): the names in
        # TRUSTED_HOSTS, else the host of BASE_URL plus the loopback names a health check
        # inside the container or host uses (links never come from the Host header).
        if self.TRUSTED_HOSTS is None and os.environ.get("BASE_URL"):
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
        missing = [name for name in ("MAIL_SERVER", "BASE_URL") if not os.environ.get(name)]
{%- if cookiecutter.database == "postgresql" %}
        if not os.environ.get("DATABASE_URL"):
            missing.append("DATABASE_URL")
{%- endif %}
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
    try:
        config_class = CONFIGS[name]
    except KeyError:
        raise ConfigurationError(
            f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}"
        ) from None
    config = config_class()
    for key, value in (test_config or {}).items():
        setattr(config, key, value)
    config.check()
    return config
