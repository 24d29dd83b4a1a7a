import pytest
from helpers import PASSWORD

from {{ cookiecutter.package_name }}.passwords import (
    common_passwords,
    hash_password,
    password_problems,
    verify_password,
)


@pytest.mark.usefixtures("app_context")
class TestPolicy:
    def test_a_long_passphrase_passes(self):
        assert password_problems(PASSWORD, "user@example.com") == []

    def test_unicode_and_spaces_are_allowed(self):
        assert password_problems("ñandú sobre el volcán 火山", "user@example.com") == []

    def test_too_short(self):
        assert password_problems("short pass", None) == ["Use at least 12 characters."]

    def test_64_characters_are_allowed(self):
        assert password_problems("a9 " * 21 + "z", None) == []

    def test_over_72_bytes_is_refused_with_a_reason(self):
        problems = password_problems("é" * 40, None)  # 40 characters, 80 bytes
        assert len(problems) == 1
        assert "72 bytes" in problems[0]

    def test_common_password_is_refused(self):
        assert "password1234" in common_passwords()
        assert "commonly used" in password_problems("Password1234", None)[0]

    def test_the_policy_judges_what_is_hashed(self):
        # Full-width letters hash as "password1234" (NFKC): as common as the original.
        full_width = "".join(chr(ord(char) + 0xFEE0) for char in "password1234")
        assert "commonly used" in password_problems(full_width, None)[0]
        # Six letters with combining accents are twelve code points but six characters.
        assert password_problems("e\u0301" * 6, None) == ["Use at least 12 characters."]

    def test_common_list_has_ten_thousand_entries(self):
        assert len(common_passwords()) == 10_000

    def test_email_local_part_is_refused(self):
        problems = password_problems("my name is margaret!", "margaret@example.com")
        assert problems == ["Do not use your e-mail address in your password."]

    def test_no_composition_rules_by_default(self, app):
        assert password_problems("all lower case words", None) == []

    def test_composition_rules_when_configured(self, app, monkeypatch):
        monkeypatch.setitem(app.config, "PASSWORD_REQUIRE_CHARACTER_CLASSES", True)
        assert password_problems("all lower case words", None) == [
            "Use upper- and lower-case letters, a digit and a symbol."
        ]
        assert password_problems("All lower case w0rds!", None) == []

    def test_min_length_is_configurable(self, app, monkeypatch):
        monkeypatch.setitem(app.config, "PASSWORD_MIN_LENGTH", 20)
        assert password_problems("nineteen characters", None) == ["Use at least 20 characters."]


@pytest.mark.usefixtures("app_context")
class TestHashing:
    def test_bcrypt_with_the_configured_cost(self, app):
        password_hash = hash_password(PASSWORD)
        assert password_hash.startswith(f"$2b${app.config['BCRYPT_LOG_ROUNDS']:02d}$")
        assert verify_password(PASSWORD, password_hash)
        assert not verify_password(PASSWORD + "x", password_hash)

    def test_unknown_user_is_checked_against_a_dummy_hash(self, monkeypatch):
        calls = []
        import bcrypt

        real_checkpw = bcrypt.checkpw
        monkeypatch.setattr(bcrypt, "checkpw", lambda *a: calls.append(a) or real_checkpw(*a))
        assert verify_password(PASSWORD, None) is False
        assert len(calls) == 1

    def test_overlong_password_never_raises(self):
        password_hash = hash_password(PASSWORD)
        assert verify_password("x" * 100, password_hash) is False
