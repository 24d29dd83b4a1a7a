"""Benchmarks of the template and of the project it generates; prints markdown tables.

    python bench/run.py [--with-template-suite]

Run it with the interpreter of the template's development environment (the one
`pip install -r requirements-dev.txt` went into): it bakes and runs everything with
that interpreter and installs nothing. See bench/README.md for what is measured.
"""

import argparse
import itertools
import json
import os
import platform
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import serve

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
CONFIG = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PACKAGE = "flask_auth_app"  # the default package_name
# Every rate limit the project reads, raised far out of reach: the benchmark measures
# serving, not 429 answers. (The GET pages timed here are not limited anyway: the
# limits apply to form posts, and /healthz is exempt.)
RATE_LIMITS = (
    "RATELIMIT_LOGIN_PER_ADDRESS",
    "RATELIMIT_LOGIN_PER_ACCOUNT",
    "RATELIMIT_SIGNUP",
    "RATELIMIT_FORGOT_PER_ADDRESS",
    "RATELIMIT_FORGOT_PER_ACCOUNT",
    "RATELIMIT_CREDENTIAL_CHANGE",
    "RATELIMIT_VERIFY",
    "RATELIMIT_RESEND",
)
UNLIMITED = "1000000/minute"
SERVED_PATHS = ("/auth/login", "/healthz")
SERVES = {
    "project": SERVED_PATHS,
    "bare": SERVED_PATHS,
    "bare_form": ("/auth/login",),
    "bare_orm": ("/healthz",),
}
APP_NAMES = {
    "project": "project",
    "bare": "bare Flask",
    "bare_form": "bare Flask + CSRF form",
    "bare_orm": "bare Flask + Flask-SQLAlchemy",
}

BARE_TEMPLATE_NAME = "one-file template (cookiecutter alone)"
PARTS = ("bake", "suite", "serving", "login", "admin")
TARGETS = {
    "bake": 0.5,  # seconds, one bake
    "project_suite": 10.0,  # seconds, one variant's generated test suite
    "page_ratio": 0.7,  # login page requests/s against bare Flask's
    "login_overhead": 1.05,  # login POST against bcrypt.checkpw
    "admin_ms": 20.0,  # dashboard and search with 100,000 users
    "rss_mb": 50.0,  # per gunicorn worker
}


# --- small helpers --------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def summary(samples: list[float]) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples)}


def spread(figures: dict, digits: int = 2, unit: str = "") -> str:
    """'0.41 s (0.39-0.44)': the median with min and max."""
    median, low, high = (f"{figures[key]:.{digits}f}" for key in ("median", "min", "max"))
    return f"{median}{unit} ({low}-{high})"


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def project_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A production configuration: what a deployment must set, limits out of reach."""
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MAIL_SERVER": "smtp.invalid",
        "BASE_URL": "https://localhost",
        "RATELIMIT_STORAGE_URI": "memory://",
        "BCRYPT_LOG_ROUNDS": "12",
        **{name: UNLIMITED for name in RATE_LIMITS},
    }
    env.update(extra or {})
    return serve.scrubbed_env(env)


def machine() -> dict[str, str]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        model = found.group(1).strip() if found else model
    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


# --- baking -----------------------------------------------------------------------


def variants() -> list[dict[str, str]]:
    """Every combination of the choice lists and yes/no options (the licence held at
    its default, as in the template's own suite)."""
    options = {}
    for key, value in CONFIG.items():
        if key.startswith("_") or key == "open_source_license":
            continue
        if isinstance(value, bool):
            options[key] = ["yes", "no"] if value else ["no", "yes"]
        elif isinstance(value, list):
            options[key] = value
    keys = list(options)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*options.values())]


def variant_name(answers: dict[str, str]) -> str:
    words = []
    for key, value in answers.items():
        if value in ("yes", "no"):
            name = key.removeprefix("use_")
            words.append(name if value == "yes" else f"no-{name}")
        else:
            words.append(value)
    return " ".join(words)


def timed_run(command: list[str], **kwargs) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a command; its wall time, and the CPU time it and its children used.

    CPU time hardly changes when other processes compete for the machine, wall time
    does: the two together tell slow code from a busy machine.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, result


def bake(
    output_dir: Path, answers: dict[str, str], template: Path = TEMPLATE_DIR
) -> tuple[float, float]:
    """One bake with the real cookiecutter command line: wall and CPU time."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", str(template)]
    command += ["-o", str(output_dir), *(f"{key}={value}" for key, value in answers.items())]
    wall, cpu, result = timed_run(command, env=serve.scrubbed_env({}))
    if result.returncode != 0:
        raise RuntimeError(f"bake {answers} failed:\n{result.stderr}")
    return wall, cpu


def bake_times(work: Path, runs: int) -> list[tuple[str, dict, dict]]:
    """Every variant, then the floor: cookiecutter baking a template of one file."""
    bakes = [(variant_name(answers), answers, TEMPLATE_DIR) for answers in variants()]
    bakes.append((BARE_TEMPLATE_NAME, {}, BENCH_DIR / "bare_template"))
    results = []
    for name, answers, template in bakes:
        walls, cpus = [], []
        for run in range(runs):
            output = work / f"bake-{run}"
            wall, cpu = bake(output, answers, template)
            walls.append(wall)
            cpus.append(cpu)
            shutil.rmtree(output)
        results.append((name, summary(walls), summary(cpus)))
        log(f"bake {name}: {spread(results[-1][1])} s")
    return results


# --- test suites --------------------------------------------------------------------


def timed_pytest(cwd: Path) -> tuple[float, float, str]:
    """`python -m pytest` in `cwd`: wall time, CPU time and pytest's last line."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    env = serve.scrubbed_env({})
    env.pop("TEST_DATABASE_URL", None)
    # Python's default, as on a developer's machine: compiled modules are cached, so
    # only the first run compiles the project and rewrites its tests' asserts.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if cwd != TEMPLATE_DIR:
        # A generated project's own environment has no pytest plugins; this one has
        # the template's (pytest-cookies imports all of cookiecutter): leave them out.
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    wall, cpu, result = timed_run(command, cwd=cwd, env=env)
    lines = result.stdout.strip().splitlines()
    outcome = lines[-1].strip("= ") if lines else f"exit {result.returncode}"
    if result.returncode != 0:
        outcome = f"FAILED (exit {result.returncode}): {outcome}"
    return wall, cpu, outcome


def project_suite(project: Path, runs: int) -> tuple[dict, dict, str]:
    walls, cpus, outcome = [], [], ""
    for _ in range(runs):
        wall, cpu, outcome = timed_pytest(project)
        walls.append(wall)
        cpus.append(cpu)
        log(f"generated suite: {wall:.1f} s ({cpu:.1f} s CPU), {outcome}")
    return summary(walls), summary(cpus), outcome


# --- serving ------------------------------------------------------------------------


def migrate(project: Path, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )


def serving(project: Path, work: Path, rounds: int, seconds: int) -> dict:
    env = project_env({"DATABASE_URL": f"sqlite:///{work / 'serve.db'}"})
    migrate(project, env)
    bare_env = serve.scrubbed_env(
        {"SECRET_KEY": secrets.token_urlsafe(48), "DATABASE_URL": f"sqlite:///{work / 'orm.db'}"}
    )
    bare_dir = BENCH_DIR / "bare_app"
    servers = {
        "project": serve.Gunicorn("project", "wsgi:app", project, env, work / "project.log"),
        "bare": serve.Gunicorn("bare", "app:app", bare_dir, bare_env, work / "bare.log"),
        "bare_form": serve.Gunicorn(
            "bare_form", "app:form_app", bare_dir, bare_env, work / "bare_form.log"
        ),
        "bare_orm": serve.Gunicorn(
            "bare_orm", "orm_app:app", bare_dir, bare_env, work / "bare_orm.log"
        ),
    }
    try:
        for name, server in servers.items():
            server.wait_until_ready(path=SERVES[name][0])
        results = {}
        for path in SERVED_PATHS:
            # The form baseline serves the login page only, the ORM one the health check.
            compared = {name: server for name, server in servers.items() if path in SERVES[name]}
            log(f"serving {path}: {rounds} rounds of {seconds} s per server")
            results[path] = serve.compare(compared, path, rounds, seconds)
        results["rss"] = {name: server.worker_rss_mb() for name, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    return results


# --- in-process measurements ------------------------------------------------------------


def in_process(project: Path, env: dict[str, str], *args: str) -> dict:
    command = [sys.executable, str(BENCH_DIR / "inprocess.py"), *args]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


def login_cost(project: Path, work: Path, runs: int) -> dict:
    env = project_env({"DATABASE_URL": f"sqlite:///{work / 'login.db'}"})
    migrate(project, env)
    return in_process(project, env, "login", PACKAGE, "--runs", str(runs))


def postgres_database(name: str, action: str) -> str | None:
    """CREATE or DROP a database next to POSTGRES_URL; returns its URL, None if unreachable."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as connection:
            if action == "create":
                connection.execute(f'CREATE DATABASE "{name}"')
            else:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.OperationalError as error:
        log(f"PostgreSQL not reachable at {POSTGRES_URL}: {error}")
        return None
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"


def admin_latency(project: Path, database_url: str, users: int, runs: int) -> dict:
    env = project_env({"DATABASE_URL": database_url})
    migrate(project, env)
    return in_process(project, env, "admin", PACKAGE, "--users", str(users), "--runs", str(runs))


def admin_figures(work: Path, project: Path, args: argparse.Namespace) -> list[dict]:
    log(f"admin panel with {args.users:,} users on SQLite")
    figures = [
        admin_latency(project, f"sqlite:///{work / 'admin.db'}", args.users, args.admin_runs)
    ]
    pg_project_dir = work / "postgresql"
    bake(pg_project_dir, {"database": "postgresql"})
    database = f"bench_{secrets.token_hex(4)}"
    postgres_url = postgres_database(database, "create")
    if postgres_url:
        log(f"admin panel with {args.users:,} users on PostgreSQL")
        try:
            pg_project = pg_project_dir / "flask_auth_app"
            figures.append(admin_latency(pg_project, postgres_url, args.users, args.admin_runs))
        finally:
            postgres_database(database, "drop")
    return figures


# --- report -------------------------------------------------------------------------


def report(results: dict, args: argparse.Namespace) -> str:
    info = results["machine"]
    parts = [
        f"Machine: {info['cores']} cores, {info['cpu']}; Python {info['python']}, "
        f"{info['system']}. Load average (1/5/15 min) before: {results['load_before']}, "
        f"after: {results['load_after']}. Figures: median (min-max)."
    ]
    sections = {
        "bakes": bake_section,
        "project_suite": suite_section,
        "serving": serving_section,
        "login": login_section,
        "admin": admin_section,
    }
    for key, section in sections.items():
        if key in results:
            parts.extend(section(results, args))
    parts.append("**Targets**\n\n" + table(["target", "measured", ""], targets(results)))
    return "\n\n".join(parts)


def bake_section(results: dict, args: argparse.Namespace) -> list[str]:
    rows = [[name, spread(wall), spread(cpu)] for name, wall, cpu in results["bakes"]]
    return [
        f"**Bake time** (`cookiecutter --no-input`, {args.bake_runs} runs each)\n\n"
        + table(["variant", "wall s", "CPU s"], rows)
    ]


def suite_section(results: dict, args: argparse.Namespace) -> list[str]:
    wall, cpu, outcome = results["project_suite"]
    rows = [
        [
            f"generated project, default variant ({args.test_runs} runs)",
            spread(wall, 1),
            spread(cpu, 1),
            outcome,
        ]
    ]
    if "template_suite" in results:
        wall, cpu, outcome = results["template_suite"]
        rows.append(["whole template suite (1 run)", f"{wall:.1f}", f"{cpu:.1f}", outcome])
    return [
        "**Test suites**\n\n" + table(["suite", "wall s", "CPU s (all processes)", "result"], rows)
    ]


def serving_section(results: dict, args: argparse.Namespace) -> list[str]:
    rows = []
    for path in SERVED_PATHS:
        figures = results["serving"][path]
        for name, run in figures.items():
            rows.append(
                [
                    f"`GET {path}`",
                    APP_NAMES[name],
                    f"{run['rps']:.0f} ({run['rps_min']:.0f}-{run['rps_max']:.0f})",
                    f"{run['p50']:.2f}",
                    f"{run['p99']:.2f}",
                    str(run["errors"]),
                ]
            )
        for name, run in figures.items():
            if name != "bare":
                ratio = run["rps"] / figures["bare"]["rps"]
                label = f"**ratio** {APP_NAMES[name]} / bare Flask"
                rows.append([f"`GET {path}`", label, f"**{ratio:.2f}**", "", "", ""])
    serving = (
        f"**Serving** (gunicorn, {serve.WORKERS} sync workers, production config, "
        f"SQLite; rate limits raised to {UNLIMITED} in memory://; load by "
        f"{serve.load_tool()}, {serve.CONNECTIONS} connections, {args.rounds} alternating "
        f"rounds of {args.seconds} s after a warm-up round)\n\n"
        + table(["request", "app", "requests/s", "p50 ms", "p99 ms", "errors"], rows)
    )

    rss = results["serving"]["rss"]
    memory = "**Memory** (RSS per gunicorn worker after the serving runs)\n\n" + table(
        ["app", "MB per worker"],
        [
            [APP_NAMES[name], ", ".join(f"{size:.1f}" for size in sizes)]
            for name, sizes in rss.items()
        ],
    )
    return [serving, memory]


def login_section(results: dict, args: argparse.Namespace) -> list[str]:
    login = results["login"]
    ratio = login["login_post"]["median"] / login["checkpw"]["median"]
    return [
        f"**Login cost** (in-process, cost {login['rounds']}, {args.login_runs} runs each, "
        "interleaved)\n\n"
        + table(
            ["measure", "ms"],
            [
                ["successful `POST /auth/login`", spread(login["login_post"], 1)],
                ["`bcrypt.checkpw` alone", spread(login["checkpw"], 1)],
                ["**ratio** (framework overhead)", f"**{ratio:.3f}**"],
            ],
        )
    ]


def admin_section(results: dict, args: argparse.Namespace) -> list[str]:
    rows = []
    for admin in results["admin"]:
        for page, figures in admin["pages"].items():
            rows.append([admin["database"], page, spread(figures, 1)])
    users = f"{args.users:,}"
    return [
        f"**Admin panel** with {users} users and 20,000 audit entries (in-process, "
        f"{args.admin_runs} requests each after one warm-up)\n\n"
        + table(["database", "page", "ms"], rows)
    ]


def targets(results: dict) -> list[list[str]]:
    rows = []
    if "bakes" in results:
        variants = [run for run in results["bakes"] if run[0] != BARE_TEMPLATE_NAME]
        bake = max(wall["median"] for _, wall, _ in variants)
        bake_cpu = max(cpu["median"] for _, _, cpu in variants)
        floor = next(
            wall["median"] for name, wall, _ in results["bakes"] if name == BARE_TEMPLATE_NAME
        )
        rows.append(
            [
                f"one bake < {TARGETS['bake']} s",
                f"{bake:.2f} s wall, {bake_cpu:.2f} s CPU (slowest variant; "
                f"a one-file template: {floor:.2f} s)",
                verdict(bake < TARGETS["bake"]),
            ]
        )
    if "project_suite" in results:
        suite, suite_cpu = (figures["median"] for figures in results["project_suite"][:2])
        rows.append(
            [
                f"generated suite < {TARGETS['project_suite']:g} s",
                f"{suite:.1f} s wall, {suite_cpu:.1f} s CPU",
                verdict(suite < TARGETS["project_suite"]),
            ]
        )
    if "serving" in results:
        serving = results["serving"]["/auth/login"]
        ratio = serving["project"]["rps"] / serving["bare"]["rps"]
        floor = serving["bare_form"]["rps"] / serving["bare"]["rps"]
        rows.append(
            [
                f"login page >= {TARGETS['page_ratio']} x bare Flask",
                f"{ratio:.2f} (bare Flask + CSRF form: {floor:.2f})",
                verdict(ratio >= TARGETS["page_ratio"]),
            ]
        )
    if "login" in results:
        login = results["login"]
        overhead = login["login_post"]["median"] / login["checkpw"]["median"]
        rows.append(
            [
                f"login POST <= {TARGETS['login_overhead']} x bcrypt",
                f"{overhead:.3f}",
                verdict(overhead <= TARGETS["login_overhead"]),
            ]
        )
    if "admin" in results:
        admin = max(
            figures["median"] for run in results["admin"] for figures in run["pages"].values()
        )
        rows.append(
            [
                f"admin pages < {TARGETS['admin_ms']:g} ms",
                f"{admin:.1f} ms (slowest)",
                verdict(admin < TARGETS["admin_ms"]),
            ]
        )
    if "serving" in results:
        rss = max(results["serving"]["rss"]["project"])
        floor = max(results["serving"]["rss"]["bare_orm"])
        rows.append(
            [
                f"RSS < {TARGETS['rss_mb']:g} MB per worker",
                f"{rss:.1f} MB (bare Flask + Flask-SQLAlchemy: {floor:.1f} MB)",
                verdict(rss < TARGETS["rss_mb"]),
            ]
        )
    return rows


# --- main ---------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--with-template-suite", action="store_true", help="also time the whole template suite"
    )
    parser.add_argument("--bake-runs", type=int, default=5)
    parser.add_argument("--test-runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5, help="serving rounds per server")
    parser.add_argument("--seconds", type=int, default=2, help="length of one serving round")
    parser.add_argument("--login-runs", type=int, default=20)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--admin-runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=PARTS,
        default=PARTS,
        help="run these parts only (the report leaves the others out)",
    )
    return parser.parse_args()


def check_environment() -> None:
    missing = []
    for module in ("cookiecutter", "flask", "gunicorn", "bcrypt", "psycopg", "pytest"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        sys.exit(
            f"{sys.executable} lacks {', '.join(missing)}: run this with the interpreter "
            "of the template's dev environment (pip install -r requirements-dev.txt)"
        )


def main() -> None:
    args = parse_args()
    check_environment()
    work = Path(tempfile.mkdtemp(prefix="flask-auth-bench-"))
    log(f"work folder: {work}")
    results = {"machine": machine(), "load_before": load_average()}
    try:
        if "bake" in args.only:
            results["bakes"] = bake_times(work, args.bake_runs)

        bake(work, {})
        project = work / "flask_auth_app"

        if "suite" in args.only:
            results["project_suite"] = project_suite(project, args.test_runs)
            if args.with_template_suite:
                log("whole template suite (several minutes)")
                results["template_suite"] = timed_pytest(TEMPLATE_DIR)

        if "serving" in args.only:
            results["serving"] = serving(project, work, args.rounds, args.seconds)

        if "login" in args.only:
            log("login POST against bcrypt.checkpw")
            results["login"] = login_cost(project, work, args.login_runs)

        if "admin" in args.only:
            results["admin"] = admin_figures(work, project, args)
        results["load_after"] = load_average()
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(report(results, args))


if __name__ == "__main__":
    main()
