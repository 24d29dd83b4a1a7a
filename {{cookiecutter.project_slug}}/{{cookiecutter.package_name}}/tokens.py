"""Random secrets for links and sessions; only their hashes are stored."""

import hashlib
import secrets


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # The tokens are random and long, so a plain SHA-256 is enough to make a stolen
    # database useless for signing in or resetting passwords.
    return hashlib.sha256(token.encode()).hexdigest()
