"""What the template's tests share: the variants, baking, snapshots, the checks and
the databases. Test modules import it as `harness` (pytest's `pythonpath` setting).

The variants are data read from cookiecutter.json, so adding a variable grows the
suite without touching a test. VARIANTS is every choice list and every boolean
multiplied together: each gets the cheap checks (leftovers, compile, ruff...).
COVERING_VARIANTS is a few of them that hold every pair of option values at least
once, plus all options on, all off and the defaults: they get the expensive checks
(the generated test suite, the migration cycle, the Docker start command).
"""

import fnmatch
import hashlib
import importlib.util
import itertools
import json
import os
import re
import secrets
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
HOOKS_DIR = TEMPLATE_DIR / "hooks"
CONFIG = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))

# Variables held at their default in the product of variants and tested one value
# at a time instead (their effect is a single file, so 4x the bakes buys nothing).
HELD_AT_DEFAULT = ("open_source_license",)

# Short names for test ids: db:postgresql-admin:no-otp:yes-docker:no
ID_NAMES = {"database": "db", "open_source_license": "license"}

# Where to create one database per postgresql variant. The user needs CREATEDB.
POSTGRES_ADMIN_URL = os.environ.get(
    "TEMPLATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

# Environment variables the generated project reads (docs/public-interface.md) plus
# Flask's own: removed from the environment of every command run in a baked project,
# so the developer's shell cannot change the outcome.
PROJECT_ENV_VARS = {
    "APP_ENV",
    "SECRET_KEY",
    "DATABASE_URL",
    "TEST_DATABASE_URL",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER",
    "TEST_REDIS_URL",
    "BCRYPT_LOG_ROUNDS",
    "TRUSTED_PROXIES",
    "TRUSTED_HOSTS",
    "BASE_URL",
    "PYTHONPATH",
}
# RATELIMIT_: the storage URI, key prefix and every limit override the project reads.
SCRUBBED_ENV_PREFIXES = ("FLASK_", "PYTEST_", "RATELIMIT_")


def load_hook(name):
    """Import hooks/<name>.py unrendered (its CONTEXT_JSON is still a Jinja tag)."""
    spec = importlib.util.spec_from_file_location(name, HOOKS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


POST_GEN = load_hook("post_gen_project")


# --- variants ----------------------------------------------------------------


def option_values(config):
    """Every value each option can take: choice lists as they are, booleans both ways."""
    options = {}
    for key, value in config.items():
        if key.startswith("_"):
            continue
        if isinstance(value, list):
            options[key] = list(value)
        elif isinstance(value, bool):
            options[key] = [True, False]
    return options


OPTIONS = option_values(CONFIG)
# The default of a choice is its first entry.
DEFAULTS = {
    key: CONFIG[key] if isinstance(CONFIG[key], bool) else CONFIG[key][0] for key in OPTIONS
}
PRODUCT_OPTIONS = {key: values for key, values in OPTIONS.items() if key not in HELD_AT_DEFAULT}


def full_context(**overrides):
    return {**DEFAULTS, **overrides}


VARIANTS = [
    full_context(**dict(zip(PRODUCT_OPTIONS, values, strict=True)))
    for values in itertools.product(*PRODUCT_OPTIONS.values())
]
LICENSE_VARIANTS = [
    full_context(open_source_license=name) for name in OPTIONS["open_source_license"]
]


# "All on" and "all off" for a choice list: its last and its first value (the first
# is also the default). database: postgresql is "on", sqlite "off".
def extreme(options, on):
    """Every option on (True, or a choice list's last value) or off (False, or its first)."""
    return {
        key: on if isinstance(values[0], bool) else values[-1 if on else 0]
        for key, values in options.items()
    }


def value_pairs(variant, keys):
    """Every pair of (option, value) one variant holds, over `keys` in their order."""
    return {
        ((first, variant[first]), (second, variant[second]))
        for first, second in itertools.combinations(keys, 2)
    }


def covering_set(options, defaults):
    """A few variants that together hold every pair of option values at least once
    (all-pairs testing), starting from all on, all off and the defaults.

    Greedy and deterministic: while pairs are missing, each missing pair proposes a
    variant (that pair, then each other option, most values first, at the value that
    adds the most missing pairs, the first value on a tie); the proposal that adds
    the most is kept.
    """
    keys = list(options)
    every_pair = [
        ((first, a), (second, b))
        for first, second in itertools.combinations(keys, 2)
        for a in options[first]
        for b in options[second]
    ]
    chosen = []
    for seed in (extreme(options, on=True), extreme(options, on=False), defaults):
        seed = {key: seed[key] for key in keys}
        if seed not in chosen:
            chosen.append(seed)
    missing = set(every_pair).difference(*(value_pairs(variant, keys) for variant in chosen))
    fill_order = sorted(keys, key=lambda key: -len(options[key]))

    def adds(partial, key, value):
        """How many missing pairs `key=value` would add to the options set so far."""
        candidate = {**partial, key: value}
        return len(value_pairs(candidate, [k for k in keys if k in candidate]) & missing)

    while missing:
        best, best_gain = None, -1
        for (first, a), (second, b) in [pair for pair in every_pair if pair in missing]:
            partial = {first: a, second: b}
            for key in fill_order:
                if key not in partial:
                    partial[key] = max(options[key], key=lambda v, k=key: adds(partial, k, v))
            variant = {key: partial[key] for key in keys}
            gain = len(value_pairs(variant, keys) & missing)
            if gain > best_gain:
                best, best_gain = variant, gain
        chosen.append(best)
        missing -= value_pairs(best, keys)
    return chosen


COVERING_VARIANTS = [full_context(**variant) for variant in covering_set(PRODUCT_OPTIONS, DEFAULTS)]


def variant_id(variant):
    """A readable id; options held at their default are left out while they are default."""
    parts = []
    for key in OPTIONS:
        value = variant[key]
        if key in HELD_AT_DEFAULT and value == DEFAULTS[key]:
            continue
        name = ID_NAMES.get(key, key.removeprefix("use_"))
        if isinstance(value, bool):
            value = "yes" if value else "no"
        parts.append(f"{name}:{str(value).replace(' ', '_')}")
    return "-".join(parts)


def params(variants):
    """Parametrize values that keep every check of one variant on one xdist worker,
    so that worker bakes it once (pytest runs with --dist loadgroup)."""
    return [
        pytest.param(
            variant, id=variant_id(variant), marks=pytest.mark.xdist_group(variant_id(variant))
        )
        for variant in variants
    ]


# --- baked projects ----------------------------------------------------------


@dataclass
class Bake:
    """A baked project and a snapshot of its files taken right after baking, so the
    static checks are not disturbed by what the runtime checks write (caches,
    databases)."""

    variant: dict
    context: dict  # the full context cookiecutter rendered with
    project: Path
    files: dict = field(default_factory=dict)  # relative posix path -> bytes
    modes: dict = field(default_factory=dict)  # relative posix path -> st_mode
    dirs: list = field(default_factory=list)  # relative posix paths of folders

    @property
    def package_name(self):
        return self.context["package_name"]

    @classmethod
    def snapshot(cls, variant, context, project):
        bake = cls(variant=variant, context=context, project=project)
        for path in sorted(project.rglob("*")):
            relative = path.relative_to(project).as_posix()
            if path.is_dir() and not path.is_symlink():
                bake.dirs.append(relative)
            else:
                bake.files[relative] = path.read_bytes() if path.is_file() else b""
                bake.modes[relative] = path.lstat().st_mode
        return bake

    def texts(self):
        """(path, text) of every file that is text (UTF-8 without NUL bytes)."""
        for path, data in self.files.items():
            if b"\0" in data:
                continue
            try:
                yield path, data.decode("utf-8")
            except UnicodeDecodeError:
                continue

    def text(self, path):
        return self.files[path].decode("utf-8")


def assert_none(problems):
    """Fail with every problem on its own line (pytest would shorten a list diff)."""
    if problems:
        pytest.fail(f"{len(problems)} problem(s):\n" + "\n".join(problems), pytrace=False)


def find_lines(text, pattern):
    return [number for number, line in enumerate(text.splitlines(), 1) if pattern.search(line)]


# --- static checks: each returns a list of problems, empty when all is well ------

JINJA_TAG = re.compile(r"(?<!\$)\{\{|\{%|\{#")  # ${{ }} is GitHub Actions, not Jinja
RAW_TAG = re.compile(r"\{%-?\s*raw|endraw")
COOKIECUTTER = re.compile("cookiecutter", re.IGNORECASE)
# Files that must not contain Jinja once baked (Flask templates under PKG/templates/
# legitimately do).
NON_TEMPLATE_SUFFIXES = {
    ".py",
    ".toml",
    ".cfg",
    ".ini",
    ".txt",
    ".yml",
    ".yaml",
    ".md",
    ".sh",
    ".mako",
    ".json",
    ".example",
}
NON_TEMPLATE_NAMES = {"Dockerfile", ".env", ".gitignore", ".dockerignore", ".gitattributes"}
# Files outside PKG/templates/ that contain Jinja syntax on purpose, with the reason.
JINJA_EXPECTED = {
    "tests/test_css.py": "parses Flask templates to find the CSS classes they use",
}


def is_flask_template(bake, path):
    return path.startswith(f"{bake.package_name}/templates/")


def template_leftovers(bake):
    problems = []
    for path in [*bake.files, *bake.dirs]:
        if COOKIECUTTER.search(path) or "{" in path:
            problems.append(f"{path}: template text in the path")
    for path, text in bake.texts():
        for number in find_lines(text, COOKIECUTTER):
            problems.append(f"{path}:{number}: mentions cookiecutter")
        for number in find_lines(text, RAW_TAG):
            problems.append(f"{path}:{number}: raw/endraw left over")
        name = path.rsplit("/", 1)[-1]
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        checked = suffix in NON_TEMPLATE_SUFFIXES or name in NON_TEMPLATE_NAMES
        if checked and not is_flask_template(bake, path) and path not in JINJA_EXPECTED:
            for number in find_lines(text, JINJA_TAG):
                problems.append(f"{path}:{number}: Jinja tag left over")
    return problems


def empty_files_and_dirs(bake):
    problems = [f"{path}: empty file" for path, data in bake.files.items() if not data.strip()]
    for folder in bake.dirs:
        if not any(other.startswith(folder + "/") for other in bake.files):
            problems.append(f"{folder}/: empty folder")
    return problems


def crlf_files(bake):
    return [f"{path}: carriage return (CRLF)" for path, text in bake.texts() if "\r" in text]


def non_executable_scripts(bake):
    problems = []
    for path, text in bake.texts():
        if (path.endswith(".sh") or text.startswith("#!")) and not bake.modes[path] & 0o111:
            problems.append(f"{path}: shell script without the executable bit")
    return problems


WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {
    f"{p}{d}" for p in ("com", "lpt") for d in range(1, 10)
}
WINDOWS_BAD_CHARS = re.compile(r'[<>:"|?*\\\x00-\x1f]')


def windows_unsafe_paths(bake):
    problems = []
    seen = {}
    for path in [*bake.files, *bake.dirs]:
        name = path.rsplit("/", 1)[-1]
        if WINDOWS_BAD_CHARS.search(name) or name.endswith((".", " ")):
            problems.append(f"{path}: name Windows cannot hold")
        if name.split(".", 1)[0].lower() in WINDOWS_RESERVED:
            problems.append(f"{path}: name Windows reserves for a device")
        other = seen.setdefault(path.lower(), path)
        if other != path:
            problems.append(f"{path}: differs from {other} only in case")
    return problems


# What each deselected option must leave behind: none of its files (the hook's
# OPTION_FILES) and none of these strings, in any file. The other way round, every
# file of a selected option must exist, so the hook's table cannot go stale.
OPTION_MARKERS = {
    ("use_admin", False): [
        r"\bis_admin\b",
        r"create[-_]admin",
        r"\bAuditEvent\b",
        r"\baudit_event",
        r"\badmin\.\w",  # endpoints and modules: admin.users, PKG.admin.routes
        r"\.admin\b",  # imports: from .admin import ..., PKG.admin
        r"/admin\b",  # URLs and paths
        # Asking for the password again exists for the admin pages only.
        r"(?i)reauthenticat",
        r"\bauthenticated_at\b",
        r"\bmark_authenticated\b",
        # Nothing may promise the panel either (the default description once did).
        r"(?i)\badmin panel\b",
    ],
    ("use_otp", False): [
        r"\bOneTimeCode\b",
        r"\bone_time_code",
        r"verification_code",
        r"\bis_verified\b",
        r"\bauth\.verify\b",
        r"/auth/verify\b",
        r"\bresend_code\b",
        r"(?i)(?<![a-z])otp(?![a-z])",
    ],
    ("use_docker", False): [r"(?i)docker"],
}
# What a sqlite bake must not hold: the pieces that only work with PostgreSQL, as
# (files, pattern, what it is). Code written once for both databases may name
# PostgreSQL (an index's postgresql_where beside its sqlite_where, a postgresql://
# URL it accepts), so the word alone is no leftover.
POSTGRES_ONLY = [
    ("pyproject.toml", r"(?i)psycopg", "the PostgreSQL driver as a dependency"),
    ("*", r"pg_trgm|gin_trgm_ops", "PostgreSQL's trigram extension or index"),
    ("docker-compose.yml", r"(?i)image:\s*postgres|POSTGRES_", "a PostgreSQL service"),
    (".github/workflows/*", r"(?i)image:\s*postgres", "a PostgreSQL service in CI"),
    (".env.example", r"(?i)DATABASE_URL=postgres", "a PostgreSQL database URL"),
]
# Data, not code: the password deny-list holds words like "admin" and "docker".
# .env holds a random secret that could spell anything.
MARKER_EXEMPT_NAMES = {"common-passwords.txt", ".env"}


def option_traces(bake):
    problems = []
    variant = bake.variant
    for (key, off_value), relative_paths in POST_GEN.OPTION_FILES.items():
        for relative in relative_paths:
            path = POST_GEN.resolve(bake.project, relative, bake.package_name)
            posix = path.relative_to(bake.project).as_posix()
            present = posix in bake.files or posix in bake.dirs
            if variant[key] == off_value and present:
                problems.append(f"{posix}: left over although {key}={off_value}")
            if variant[key] != off_value and not present:
                problems.append(f"{posix}: missing although {key}={variant[key]}")
    for (key, off_value), markers in OPTION_MARKERS.items():
        if variant[key] != off_value:
            continue
        for marker in markers:
            pattern = re.compile(marker)
            for path in [*bake.files, *bake.dirs]:
                if pattern.search(path):
                    problems.append(f"{path}: path matches {marker!r} although {key}={off_value}")
            for path, text in bake.texts():
                if path.rsplit("/", 1)[-1] in MARKER_EXEMPT_NAMES:
                    continue
                for number in find_lines(text, pattern):
                    problems.append(f"{path}:{number}: {marker!r} although {key}={off_value}")
    if variant["database"] == "sqlite":
        for files, marker, what in POSTGRES_ONLY:
            pattern = re.compile(marker)
            for path, text in bake.texts():
                if fnmatch.fnmatchcase(path, files):
                    for number in find_lines(text, pattern):
                        problems.append(
                            f"{path}:{number}: {what} ({marker!r}) although database=sqlite"
                        )
    return problems


# --- the template itself ------------------------------------------------------

PROJECT_TEMPLATE_DIR = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"


def copied_without_rendering(config=CONFIG, root=PROJECT_TEMPLATE_DIR):
    """{relative posix path: pattern} of every file cookiecutter copies as it is: the
    file's own path, or a folder above it, matches an entry of _copy_without_render."""
    patterns = config.get("_copy_without_render", [])
    copied = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(root).as_posix()
        parts = relative.split("/")
        candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
        for pattern in patterns:
            if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
                copied[relative] = pattern
                break
    return copied


def copy_without_render_problems(config=CONFIG, root=PROJECT_TEMPLATE_DIR):
    """Files copied without rendering must hold no Jinja (it would reach the project
    as it is), and every entry must still match something (no stale entries)."""
    copied = copied_without_rendering(config, root)
    problems = [
        f"{pattern}: in _copy_without_render but matches nothing"
        for pattern in config.get("_copy_without_render", [])
        if pattern not in copied.values()
    ]
    for relative, pattern in copied.items():
        data = (root / relative).read_bytes()
        if b"\0" in data:
            continue  # binary (fonts)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        for number in find_lines(text, JINJA_TAG):
            problems.append(
                f"{relative}:{number}: Jinja syntax in a file copied without rendering "
                f"(matched by {pattern!r} in _copy_without_render: take it out of that list)"
            )
    return problems


def compile_errors(bake):
    problems = []
    for path, text in bake.texts():
        if path.endswith(".py"):
            try:
                compile(text, path, "exec", dont_inherit=True)
            except SyntaxError as error:
                problems.append(f"{path}:{error.lineno}: {error.msg}")
    return problems


def dotenv_problems(bake):
    problems = []
    if "SECRET_KEY=" not in bake.text(".env.example").splitlines():
        problems.append(".env.example: no empty 'SECRET_KEY=' line")
    secret_lines = [
        line for line in bake.text(".env").splitlines() if line.startswith("SECRET_KEY=")
    ]
    if len(secret_lines) != 1 or len(secret_lines[0]) < len("SECRET_KEY=") + 32:
        problems.append(f".env: expected one SECRET_KEY of 32+ characters, got {secret_lines}")
    if os.name == "posix" and bake.modes[".env"] & 0o077:
        problems.append(
            f".env: mode {oct(bake.modes['.env'] & 0o777)}, expected 0o600 (owner only)"
        )
    ignored = {line.strip().lstrip("/") for line in bake.text(".gitignore").splitlines()}
    if ".env" not in ignored:
        problems.append(".gitignore: .env is not ignored")
    return problems


def declared_requirements(bake):
    """Every requirement of the baked pyproject.toml: dependencies and all extras."""
    project = tomllib.loads(bake.text("pyproject.toml"))["project"]
    declared = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        declared.extend(extra)
    return declared


# --- commands in a baked project -----------------------------------------------


def project_env(bake, **extra):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in PROJECT_ENV_VARS and not key.startswith(SCRUBBED_ENV_PREFIXES)
    }
    env["PYTHONPATH"] = str(bake.project)
    env.update(extra)
    return env


def run(args, bake, env, timeout=600):
    """Run a command in the baked project with this interpreter; fail with its output."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=bake.project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).splitlines()
        tail = "\n".join(output[-150:])
        pytest.fail(
            f"`{' '.join(args)}` exited {result.returncode} in {bake.project}:\n{tail}",
            pytrace=False,
        )
    return result


def new_secret_key():
    return secrets.token_urlsafe(48)


# --- databases -----------------------------------------------------------------


class Databases:
    """One database per variant: a sqlite file, or a PostgreSQL database created on
    first use and dropped at the end of the session. `fresh_url` empties it first, so
    checks do not depend on the order they run in."""

    def __init__(self, tmp_dir):
        self.tmp_dir = tmp_dir
        self.created = []
        self.postgres_error = None
        self.postgres_checked = False

    def fresh_url(self, variant):
        name = "t_" + hashlib.sha1(variant_id(variant).encode()).hexdigest()[:12]
        if variant["database"] == "sqlite":
            path = self.tmp_dir / f"{name}.sqlite"
            path.unlink(missing_ok=True)
            return f"sqlite:///{path}"
        if variant["database"] == "postgresql":
            return self._fresh_postgres(f"flask_auth_template_{os.getpid()}_{name}")
        raise AssertionError(f"no test database for database={variant['database']}")

    def _connect(self, url):
        import psycopg  # only the postgresql variants need it

        return psycopg.connect(url, autocommit=True, connect_timeout=5)

    def _require_postgres(self):
        if not self.postgres_checked:
            self.postgres_checked = True
            try:
                self._connect(POSTGRES_ADMIN_URL).close()
            except Exception as error:
                self.postgres_error = f"{type(error).__name__}: {error}".strip()
        if self.postgres_error:
            reason = (
                f"NO POSTGRESQL SERVER at {POSTGRES_ADMIN_URL} ({self.postgres_error}); "
                "postgresql variants are NOT tested. Start one or set TEMPLATE_TEST_POSTGRES_URL."
            )
            if os.environ.get("CI"):
                pytest.fail(reason, pytrace=False)
            pytest.skip(reason)

    def _fresh_postgres(self, name):
        self._require_postgres()
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        if name not in self.created:
            with self._connect(POSTGRES_ADMIN_URL) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
                connection.execute(f'CREATE DATABASE "{name}"')
            self.created.append(name)
        else:
            with self._connect(url) as connection:
                connection.execute("DROP SCHEMA public CASCADE")
                connection.execute("CREATE SCHEMA public")
        return url

    def drop_all(self):
        if not self.created:
            return
        with self._connect(POSTGRES_ADMIN_URL) as connection:
            for name in self.created:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
