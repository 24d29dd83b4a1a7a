"""Password hashing (bcrypt) and the password policy (NIST SP 800-63B, ASVS 6.2)."""

import functools
import unicodedata
from pathlib import Path

import bcrypt
from flask import Flask, current_app

# bcrypt reads at most 72 bytes; bcrypt 5 raises rather than truncate silently.
MAX_PASSWORD_BYTES = 72
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt")


def init_app(app: Flask) -> None:
    app.context_processor(policy_for_templates)


def policy_for_templates() -> dict:
    """The policy's numbers, for the live hints next to new-password fields."""
    config = current_app.config
    return {
        "password_policy": {
            "min_length": config["PASSWORD_MIN_LENGTH"],
            "max_bytes": MAX_PASSWORD_BYTES,
            "require_character_classes": config["PASSWORD_REQUIRE_CHARACTER_CLASSES"],
        }
    }


def hash_password(password: str) -> str:
    rounds = current_app.config["BCRYPT_LOG_ROUNDS"]
    return bcrypt.hashpw(_encode(password), bcrypt.gensalt(rounds)).decode()


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; with no hash (unknown user) spend the same time on a dummy one."""
    encoded = _encode(password)
    if len(encoded) > MAX_PASSWORD_BYTES:
        return False
    if password_hash is None:
        bcrypt.checkpw(encoded, _dummy_hash(current_app.config["BCRYPT_LOG_ROUNDS"]))
        return False
    return bcrypt.checkpw(encoded, password_hash.encode())


def password_problems(password: str, email: str | None = None) -> list[str]:
    """Everything wrong with a new password, in words a user understands.

    Judged in the NFKC form that is hashed: full-width or combining characters that
    normalise to a short or common password must not pass as a strong one.
    """
    config = current_app.config
    password = _normalise(password)
    problems = []
    if len(password) < config["PASSWORD_MIN_LENGTH"]:
        problems.append(f"Use at least {config['PASSWORD_MIN_LENGTH']} characters.")
    if len(_encode(password)) > MAX_PASSWORD_BYTES:
        problems.append(
            f"Use at most {MAX_PASSWORD_BYTES} bytes (about {MAX_PASSWORD_BYTES} letters; "
            "accented letters and emoji count as several)."
        )
    if password.lower() in common_passwords():
        problems.append("This is one of the most commonly used passwords; choose another.")
    local_part = email.partition("@")[0].lower() if email else ""
    if len(local_part) >= 3 and local_part in password.lower():
        problems.append("Do not use your e-mail address in your password.")
    if config["PASSWORD_REQUIRE_CHARACTER_CLASSES"] and not _has_character_classes(password):
        problems.append("Use upper- and lower-case letters, a digit and a symbol.")
    return problems


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords, lower-cased, read once per process."""
    return frozenset(COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines())


@functools.cache
def _dummy_hash(rounds: int) -> bytes:
    return bcrypt.hashpw(b"not a real password", bcrypt.gensalt(rounds))


def _normalise(password: str) -> str:
    # NFKC so the same password typed on different keyboards hashes the same.
    return unicodedata.normalize("NFKC", password)


def _encode(password: str) -> bytes:
    return _normalise(password).encode("utf-8")


def _has_character_classes(password: str) -> bool:
    return (
        any(c.islower() for c in password)
        and any(c.isupper() for c in password)
        and any(c.isdigit() for c in password)
        and any(not c.isalnum() for c in password)
    )
