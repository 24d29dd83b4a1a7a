from extra_apps import PRODUCTION_URL
from markupsafe import escape

PROJECT_NAME = "{{ cookiecutter.project_name }}"


def test_home_page_is_public(client):
    response = client.get("/")
    assert response.status_code == 200
    # As the page writes it: HTML-escaped (an apostrophe or & in the name).
    assert escape(PROJECT_NAME) in response.get_data(as_text=True)


def test_dashboard_needs_login(client):
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_dashboard_shows_the_user(client, app_context, make_user):
    make_user("dana@example.com")
    client.log_in("dana@example.com")
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert b"dana@example.com" in response.data


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_reports_an_unreachable_database(make_app, tmp_path):
    unreachable = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'no-such-folder' / 'app.db'}")
    response = unreachable.test_client().get("/healthz", base_url=PRODUCTION_URL)
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
