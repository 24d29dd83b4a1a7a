import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from helpers import PASSWORD, code_from
from sqlalchemy import select

from {{ cookiecutter.package_name }}.database import utcnow
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.verification.models import OneTimeCode

OWNER_PASSWORD = "my very own passphrase"
ATTACKER_PASSWORD = "the squatter's passphrase"


def sign_up(client, email="new@example.com", password=PASSWORD):
    data = {"email": email, "password": password, "confirm_password": password}
    return client.submit("/auth/signup", data)


def enter(client, code):
    return client.submit("/auth/verify", {"code": code})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def resend(client):
    return client.submit("/auth/verify", {}, action="/auth/verify/resend")


def test_signup_sends_a_six_digit_code_stored_only_as_a_hash(client, app_context, outbox):
    sign_up(client)
    assert len(outbox) == 1
    code = code_from(outbox[0])
    assert len(code) == 6
    assert outbox[0].html and code in outbox[0].html
    stored = db.session.scalars(select(OneTimeCode)).one()
    assert code not in stored.code_hash
    assert stored.expires_at - stored.created_at == timedelta(minutes=10)


def test_the_right_code_verifies_and_signs_in(client, app_context, outbox, find_user):
    sign_up(client)
    response = enter(client, code_from(outbox[0]))
    assert response.headers["Location"] == "/dashboard"
    assert find_user("new@example.com").is_verified
    assert client.get("/dashboard").status_code == 200


def test_a_code_works_once(app, app_context, outbox):
    client = app.test_client()
    sign_up(client)
    code = code_from(outbox[0])
    enter(client, code)
    assert db.session.scalars(select(OneTimeCode)).all() == []


def test_unverified_account_is_sent_to_the_verify_page(client, app_context, outbox):
    sign_up(client)
    assert client.get("/dashboard").status_code == 302
    response = client.log_in("new@example.com")
    assert response.headers["Location"] == "/auth/verify"
    assert client.get("/dashboard").headers["Location"].startswith("/auth/login")


def test_wrong_code_is_refused(client, app_context, outbox, find_user):
    sign_up(client)
    response = enter(client, wrong(code_from(outbox[0])))
    assert response.status_code == 200
    assert b"not correct" in response.data
    assert not find_user("new@example.com").is_verified


def test_expired_code_is_refused(client, app_context, outbox, find_user):
    sign_up(client)
    stored = db.session.scalars(select(OneTimeCode)).one()
    stored.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = enter(client, code_from(outbox[0]))
    assert b"expired" in response.data
    assert not find_user("new@example.com").is_verified


def test_a_new_code_voids_the_old_one(client, app, app_context, outbox, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN", timedelta(0))
    sign_up(client)
    first = code_from(outbox[0])
    resend(client)
    assert len(outbox) == 2
    second = code_from(outbox[1])
    if first != second:
        assert b"not correct" in enter(client, first).data
    assert enter(client, second).headers["Location"] == "/dashboard"


def test_five_wrong_codes_lock_verification_even_across_resends(
    client, app, app_context, outbox, monkeypatch, find_user
):
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN", timedelta(0))
    sign_up(client)
    for attempt in range(5):
        if attempt == 3:
            resend(client)  # must not reset the count
        response = enter(client, wrong(code_from(outbox[-1])))
    assert b"Too many wrong codes" in response.data
    # Even the right code is refused during the wait.
    assert b"Too many wrong codes" in enter(client, code_from(outbox[-1])).data
    assert not find_user("new@example.com").is_verified


def test_resend_has_a_server_enforced_cooldown(client, app_context, outbox):
    sign_up(client)
    page = client.get("/auth/verify").get_data(as_text=True)
    assert 55 <= int(re.search(r'data-resend-wait="(\d+)"', page).group(1)) <= 60
    response = resend(client)
    assert response.status_code == 302
    assert len(outbox) == 1
    assert b"Please wait" in client.get("/auth/verify").data


def test_resend_after_the_cooldown_sends_a_new_code(client, app, app_context, outbox, monkeypatch):
    sign_up(client)
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN", timedelta(0))
    resend(client)
    assert len(outbox) == 2


def test_taken_address_gets_the_same_verify_page(app, app_context, outbox, make_user):
    make_user("taken@example.com")
    client = app.test_client()
    assert sign_up(client, "taken@example.com").headers["Location"] == "/auth/verify"
    page = client.get("/auth/verify")
    assert page.status_code == 200
    assert b"taken@example.com" in page.data
    # No code exists for a verified account, so every guess fails like a wrong code.
    assert b"not correct" in enter(client, "123456").data


@pytest.mark.parametrize("code", ["12345", "abcdef", "1234567", ""])
def test_malformed_codes_get_a_form_error(client, app_context, outbox, code, find_user):
    sign_up(client)
    response = enter(client, code)
    assert response.status_code == 200
    assert not find_user("new@example.com").is_verified


# --- account pre-hijacking: a password set without the mailbox never opens the account ---


def test_a_squatters_password_never_opens_the_account_its_owner_verifies(
    app, app_context, outbox, find_user
):
    attacker, owner = app.test_client(), app.test_client()
    sign_up(attacker, "owner@example.com", ATTACKER_PASSWORD)
    sign_up(owner, "owner@example.com", OWNER_PASSWORD)
    assert len(outbox) == 2  # two codes, both in the owner's mailbox
    # The owner enters the code of their own sign-up and is signed in.
    assert enter(owner, code_from(outbox[1])).headers["Location"] == "/dashboard"
    assert find_user("owner@example.com").is_verified
    # The squatter's password opens nothing; the owner's does.
    assert app.test_client().log_in("owner@example.com", ATTACKER_PASSWORD).status_code == 200
    response = app.test_client().log_in("owner@example.com", OWNER_PASSWORD)
    assert response.headers["Location"] == "/dashboard"


def test_a_code_verifies_only_in_the_browser_that_asked_for_it(app, app_context, outbox):
    owner, attacker = app.test_client(), app.test_client()
    sign_up(owner, "owner@example.com", OWNER_PASSWORD)
    sign_up(attacker, "owner@example.com", ATTACKER_PASSWORD)
    owners_code, attackers_code = code_from(outbox[0]), code_from(outbox[1])
    # The newest e-mail belongs to the squatter's sign-up: from the owner's browser it
    # is refused, and it cannot give the account the squatter's password.
    if attackers_code != owners_code:
        assert b"not correct" in enter(owner, attackers_code).data
    assert enter(owner, owners_code).headers["Location"] == "/dashboard"
    assert app.test_client().log_in("owner@example.com", ATTACKER_PASSWORD).status_code == 200
    # And the squatter's sign-up is void once the owner has verified.
    assert b"expired" in enter(attacker, attackers_code).data


def test_a_second_sign_up_replaces_an_unverified_password(app, app_context, outbox):
    sign_up(app.test_client(), "owner@example.com", ATTACKER_PASSWORD)
    sign_up(app.test_client(), "owner@example.com", OWNER_PASSWORD)
    assert app.test_client().log_in("owner@example.com", ATTACKER_PASSWORD).status_code == 200
    response = app.test_client().log_in("owner@example.com", OWNER_PASSWORD)
    assert response.headers["Location"] == "/auth/verify"


def test_a_password_reset_proves_the_address_and_voids_pending_sign_ups(
    app, app_context, outbox, find_user
):
    attacker = app.test_client()
    sign_up(attacker, "owner@example.com", ATTACKER_PASSWORD)
    owner = app.test_client()
    owner.submit("/auth/forgot-password", {"email": "owner@example.com"})
    link = re.search(r"/auth/reset-password/[\w-]+", outbox[-1].body).group(0)
    owner.get(link)
    data = {"password": OWNER_PASSWORD, "confirm_password": OWNER_PASSWORD}
    assert owner.submit("/auth/reset-password", data).headers["Location"] == "/auth/login"
    assert find_user("owner@example.com").is_verified
    assert db.session.scalars(select(OneTimeCode)).all() == []
    assert owner.log_in("owner@example.com", OWNER_PASSWORD).headers["Location"] == "/dashboard"


# --- taken and free addresses answer alike -------------------------------------------


def verify_page_answers(app, email, address) -> list:
    """What a stranger sees on the verify page after signing up with `email`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address  # each run has the rate limits to itself
    sign_up(client, email)
    page = client.get("/auth/verify").get_data(as_text=True)
    answers = [re.search(r'data-resend-wait="(\d+)"', page).group(1)]
    answers.append(flashed_after(client, resend(client)))
    answers.append(text_of(enter(client, "000000")))
    # Every pending code of the address expires, and its resend wait is over.
    for pending in db.session.scalars(select(OneTimeCode)):
        pending.created_at = pending.expires_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    answers.append(text_of(enter(client, "000000")))
    answers.append(flashed_after(client, resend(client)))
    for _ in range(5):
        last = enter(client, "000000")
    answers.append(text_of(last))
    return answers


def flashed_after(client, response) -> str:
    return text_of(client.get(response.headers["Location"]))


def text_of(response) -> str:
    """The page's message area, without the per-request CSRF token."""
    text = response.get_data(as_text=True)
    return re.sub(r'name="csrf_token"[^>]*>', "", text).replace("taken@", "@").replace("free@", "@")


def test_taken_and_free_addresses_get_identical_verify_pages(app, app_context, outbox, make_user):
    make_user("taken@example.com")
    taken = verify_page_answers(app, "taken@example.com", "192.0.2.1")
    free = verify_page_answers(app, "free@example.com", "192.0.2.2")
    assert taken == free
    assert "expired" in free[3]
    assert "Too many wrong codes" in free[5]


# --- parallel guesses ---------------------------------------------------------------


def test_parallel_guesses_cannot_exceed_the_attempt_limit(
    app, app_context, outbox, monkeypatch, caplog, find_user, reads_held
):
    monkeypatch.setitem(app.config, "OTP_MAX_ATTEMPTS", 3)
    signer = app.test_client()
    sign_up(signer)
    code = code_from(outbox[0])
    token = signer.csrf_token("/auth/verify")
    browsers = []
    for _ in range(8):  # the same browser session, several requests at once
        browser = app.test_client()
        browser.set_cookie("session", signer.get_cookie("session").value)
        browsers.append(browser)

    def guess(browser):
        return browser.post("/auth/verify", data={"csrf_token": token, "code": wrong(code)})

    with reads_held("one_time_codes"), ThreadPoolExecutor(len(browsers)) as pool:
        answers = [response.get_data(as_text=True) for response in pool.map(guess, browsers)]
    # Exactly three codes were compared; every other request was refused unseen.
    compared = [record for record in caplog.records if 'event="otp.failure"' in record.getMessage()]
    assert len(compared) == 3
    assert sum("not correct" in answer for answer in answers) == 2
    assert sum("Too many wrong codes" in answer for answer in answers) == 6
    assert find_user("new@example.com").otp_locked_until is not None
