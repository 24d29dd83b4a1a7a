"""bench/run.py, the benchmark command, still runs against what the template makes.

The benchmark is not run by CI for its figures, so a change to the project (a new
column, a renamed route) would break it unseen. This runs every part once with the
smallest loads and checks that each figure is reported; the figures themselves are
not judged (see bench/README.md for the targets).
"""

import os
import re
import subprocess
import sys

import psycopg
import pytest

import harness

BENCH = harness.TEMPLATE_DIR / "bench" / "run.py"
TINY_RUN = [
    "--bake-runs", "1",
    "--test-runs", "1",
    "--rounds", "1",
    "--seconds", "1",
    "--login-runs", "1",
    "--users", "200",
    "--admin-runs", "1",
]  # fmt: skip
SERVED = {
    "/auth/login": ["project", "bare Flask", "bare Flask + CSRF form"],
    "/healthz": ["project", "bare Flask", "bare Flask + Flask-SQLAlchemy"],
}
MEMORY_ROWS = ["project", "bare Flask", "bare Flask + CSRF form", "bare Flask + Flask-SQLAlchemy"]
ADMIN_PAGES = [
    "dashboard",
    "users list",
    "search, few matches",
    "search, many matches",
    "search, no match",
]
TARGETS = ["one bake", "generated suite", "login page", "login POST", "admin pages", "RSS"]

# One worker runs the whole module, so the benchmark runs once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("bench")


def postgres_reachable():
    try:
        psycopg.connect(harness.POSTGRES_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def section(report, title):
    """The table rows (lists of cells) under the bold `title` of the report."""
    start = report.index(f"**{title}**")
    end = report.find("\n\n**", start + 1)
    rows = []
    for line in report[start : end if end != -1 else None].splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # without the header


def number(cell):
    return float(re.match(r"\**([\d.]+)", cell).group(1))


@pytest.fixture(scope="module")
def report():
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in harness.PROJECT_ENV_VARS
        and not name.startswith(harness.SCRUBBED_ENV_PREFIXES)
    }
    env["BENCH_POSTGRES_URL"] = harness.POSTGRES_ADMIN_URL
    result = subprocess.run(
        [sys.executable, str(BENCH), *TINY_RUN],
        cwd=harness.TEMPLATE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def test_bench_times_every_variant_and_the_one_file_template(report):
    names = [row[0] for row in section(report, "Bake time")]
    assert len(names) == len(harness.VARIANTS) + 1
    assert names[-1].startswith("one-file template")


def test_bench_runs_the_generated_suite(report):
    (row,) = section(report, "Test suites")
    assert row[0].startswith("generated project")
    assert re.fullmatch(r"\d+ passed in [\d.]+s", row[3]), row[3]


def test_bench_serves_the_project_beside_its_baselines(report):
    rows = section(report, "Serving")
    for path, apps in SERVED.items():
        served = {row[1]: row for row in rows if row[0] == f"`GET {path}`"}
        for app in apps:
            assert number(served[app][2]) > 0, (path, app)
            assert served[app][5] == "0", f"{app} answered {path} with errors"
            if app != "bare Flask":
                assert number(served[f"**ratio** {app} / bare Flask"][2]) > 0


def test_bench_reports_each_workers_memory(report):
    rows = {row[0]: row[1] for row in section(report, "Memory")}
    assert sorted(rows) == sorted(MEMORY_ROWS)
    for app, sizes in rows.items():
        assert all(float(size) > 10 for size in sizes.split(", ")), (app, sizes)


def test_bench_compares_a_login_with_bcrypt(report):
    rows = {row[0]: row[1] for row in section(report, "Login cost")}
    assert number(rows["**ratio** (framework overhead)"]) > 0.5


def test_bench_times_the_admin_pages(report):
    databases = ["sqlite"]
    if postgres_reachable():
        databases.append("postgresql")
    elif os.environ.get("CI"):
        pytest.fail(f"no PostgreSQL at {harness.POSTGRES_ADMIN_URL}", pytrace=False)
    rows = {(row[0], row[1]): row[2] for row in section(report, "Admin panel")}
    for database in databases:
        for page in ADMIN_PAGES:
            assert number(rows[(database, page)]) > 0, (database, page)


def test_bench_judges_every_target(report):
    rows = section(report, "Targets")
    for row, target in zip(rows, TARGETS, strict=True):
        assert row[0].startswith(target), (row[0], target)
        assert row[2] in ("met", "**missed**"), row
