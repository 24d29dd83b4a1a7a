from helpers import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    data = {"current_password": current, "password": new, "confirm_password": confirm or new}
    return client.submit("/account/password", data)


def test_password_page_needs_login(client):
    assert client.get("/account/password").headers["Location"].startswith("/auth/login")


def test_change_password(client, app_context, outbox, make_user):
    make_user()
    client.log_in()
    response = change_password(client)
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 200  # this session stays
    client.submit("/dashboard", {}, action="/auth/logout")
    assert client.log_in(password=NEW_PASSWORD).status_code == 302
    assert outbox[-1].recipients == ["user@example.com"]
    assert "password was changed" in outbox[-1].subject


def test_wrong_current_password_changes_nothing(client, app_context, outbox, make_user):
    make_user()
    client.log_in()
    response = change_password(client, current="not my password at all")
    assert response.status_code == 200
    assert b"not your current password" in response.data
    assert outbox == []


def test_new_password_must_meet_the_policy(client, app_context, make_user):
    make_user()
    client.log_in()
    response = change_password(client, new="user password")
    assert b"Do not use your e-mail address" in response.data


def test_change_ends_other_sessions(app, client, app_context, make_user):
    make_user()
    other_device = app.test_client()
    other_device.log_in()
    client.log_in()
    change_password(client)
    assert other_device.get("/dashboard").status_code == 302
    assert client.get("/dashboard").status_code == 200
