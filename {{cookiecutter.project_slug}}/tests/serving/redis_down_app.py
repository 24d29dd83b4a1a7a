"""Four failed sign-ins to a production app whose Redis does not answer; prints the outcome.

Run by test_serving.py in a process of its own, with RATELIMIT_STORAGE_URI pointing at
a closed port.
"""

import time

started = time.monotonic()

import json  # noqa: E402 (the clock starts before the app is imported)
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

from {{ cookiecutter.package_name }} import create_app  # noqa: E402
from {{ cookiecutter.package_name }}.extensions import db  # noqa: E402

URL = "https://app.example.com"

app = create_app("production")
with app.app_context():
    db.create_all()
client = app.test_client()
page = client.get("/auth/login", base_url=URL).get_data(as_text=True)
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
statuses = []
for number in range(4):
    response = client.post(
        "/auth/login",
        data={"csrf_token": token, "email": f"u{number}@example.com", "password": "x" * 12},
        base_url=URL,
        headers={"Referer": f"{URL}/auth/login"},
    )
    statuses.append(response.status_code)
health = client.get("/healthz", base_url=URL).status_code
seconds = time.monotonic() - started
print(json.dumps({"statuses": statuses, "health": health, "seconds": seconds}))
# Everything is said: skip tearing the interpreter down (a few tenths of a second).
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
