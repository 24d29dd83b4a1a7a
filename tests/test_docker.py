"""The Docker files of every use_docker variant, proved as far as a machine without a
Docker engine allows.

- docker-compose.yml: every ${VAR} resolves (it has a default or .env.example sets it);
  the interpolated file is valid against the Compose Specification's JSON schema
  (tests/schemas/compose-spec.json); the services are wired together as the README says.
- Dockerfile: a structural lint (base images pinned and slim, several stages, a non-root
  USER before the ENTRYPOINT, a HEALTHCHECK on /healthz, no secret baked in, every COPY
  source inside the build context) and docker/entrypoint.sh (LF, executable, `set -eu`,
  migrates, then execs gunicorn with the worker count and port from the environment).
- The start command itself: docker/entrypoint.sh, run outside a container with the
  environment the container gets (Dockerfile ENV, then .env, then the compose file's
  `environment`), the service host names pointed at the real PostgreSQL and Redis of
  this machine. It must migrate a fresh database, serve /healthz with gunicorn's worker
  count from WEB_CONCURRENCY, count rate limits in Redis, pass the Dockerfile's own
  HEALTHCHECK command and stop cleanly on SIGTERM.

Not proved without an engine: that the image builds (pip inside the slim base), file
ownership and volumes inside the container, the compose healthchecks of PostgreSQL and
Redis, and networking between the containers.
"""

import http.client
import json
import os
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from fnmatch import fnmatch
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import jsonschema
import pytest
import yaml

import harness

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "compose-spec.json"
COMPOSE_SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

STATIC_VARIANTS = harness.VARIANTS + [
    v for v in harness.LICENSE_VARIANTS if v not in harness.VARIANTS
]
DOCKER_VARIANTS = harness.params([v for v in STATIC_VARIANTS if v["use_docker"]])
# The start command runs for the variants of the covering set that have the Docker
# files (both databases among them; each reuses its variant's bake on the same xdist
# worker).
ENTRYPOINT_VARIANTS = harness.params([v for v in harness.COVERING_VARIANTS if v["use_docker"]])
REDIS_URL = os.environ.get("TEMPLATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")

SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|API_KEY|CREDENTIAL", re.I)
PINNED_TAG = re.compile(r"^[^:@/]+(?:/[^:@]+)*(?::(?P<tag>[^@]+))?(?:@sha256:[0-9a-f]{64})?$")


def is_pinned(image: str) -> bool:
    """A tag that names a version (digits), not "latest" and not none at all."""
    tag = PINNED_TAG.match(image)
    return bool(tag and tag["tag"] and tag["tag"] != "latest" and re.search(r"\d", tag["tag"]))


# --- reading the files ------------------------------------------------------------


def read_dotenv(text):
    """KEY=VALUE lines, as Compose reads an env_file (comments and blanks skipped)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)
BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?\Z", re.S)


def interpolate(value, variables, problems, where, used):
    """Compose's interpolation of one string: $$, $VAR, ${VAR}, ${VAR:-default},
    ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+other}, ${VAR+other}. A variable
    without a default must be set in `variables`."""

    def replace(match):
        if match["escaped"]:
            return "$"
        if match["named"]:
            name, op, arg = match["named"], None, ""
        else:
            braced = BRACED.match(match["braced"])
            if braced is None:
                problems.append(f"{where}: cannot read ${{{match['braced']}}}")
                return ""
            name, op, arg = braced["name"], braced["op"], braced["arg"] or ""
        used.add(name)
        if "$" in arg:
            problems.append(f"{where}: nested interpolation in ${{{match['braced']}}}")
        is_set = name in variables
        non_empty = bool(variables.get(name))
        if op == ":-":
            return variables[name] if non_empty else arg
        if op == "-":
            return variables[name] if is_set else arg
        if op == ":+":
            return arg if non_empty else ""
        if op == "+":
            return arg if is_set else ""
        if (op == ":?" and not non_empty) or (op == "?" and not is_set):
            problems.append(f"{where}: ${{{name}}} is required and .env.example does not set it")
            return ""
        if not is_set:
            problems.append(f"{where}: ${{{name}}} has no default and .env.example does not set it")
            return ""
        return variables[name]

    return INTERPOLATION.sub(replace, value)


def interpolate_all(node, variables, problems, used, where="docker-compose.yml"):
    if isinstance(node, dict):
        return {
            key: interpolate_all(value, variables, problems, used, f"{where}:{key}")
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [interpolate_all(item, variables, problems, used, where) for item in node]
    if isinstance(node, str):
        return interpolate(node, variables, problems, where, used)
    return node


def compose_file(bake):
    """(raw, interpolated, problems, variables used) of the baked docker-compose.yml."""
    raw = yaml.safe_load(bake.text("docker-compose.yml"))
    variables = read_dotenv(bake.text(".env.example"))
    problems, used = [], set()
    return raw, interpolate_all(raw, variables, problems, used), problems, used


def service_environment(service):
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def env_files(service):
    files = service.get("env_file") or []
    files = [files] if isinstance(files, (str, dict)) else files
    return [item["path"] if isinstance(item, dict) else item for item in files]


def dockerfile_instructions(text):
    """[(line, INSTRUCTION, arguments)], continuation lines joined, comments skipped."""
    instructions = []
    buffer, start = "", None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not buffer):
            continue  # comments (parser directives included) and blank lines
        start = start or number
        if stripped.endswith("\\"):
            buffer += stripped[:-1].strip() + " "
            continue
        buffer += stripped
        keyword, _, arguments = buffer.partition(" ")
        instructions.append((start, keyword.upper(), arguments.strip()))
        buffer, start = "", None
    return instructions


def split_flags(arguments):
    """('--chown=a:b --from=x src dest') -> ({'chown': 'a:b', 'from': 'x'}, ['src', 'dest'])."""
    flags, words = {}, []
    for word in shlex.split(arguments):
        if word.startswith("--") and not words:
            key, _, value = word[2:].partition("=")
            flags[key] = value
        else:
            words.append(word)
    return flags, words


def stages(instructions):
    """[(base image, stage name, [instructions of the stage])]."""
    result = []
    for instruction in instructions:
        _, keyword, arguments = instruction
        if keyword == "FROM":
            _, words = split_flags(arguments)
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            result.append((words[0], name, []))
        elif result:
            result[-1][2].append(instruction)
    return result


def env_pairs(arguments):
    words = shlex.split(arguments)
    if len(words) >= 2 and "=" not in words[0]:  # legacy form: ENV KEY value
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def dockerfile_env(bake):
    """The ENV of the final stage: what the app's process starts with."""
    *_, (_, _, final) = stages(dockerfile_instructions(bake.text("Dockerfile")))
    env = {}
    for _, keyword, arguments in final:
        if keyword == "ENV":
            env.update(env_pairs(arguments))
    return env


def dockerignore_patterns(bake):
    lines = bake.text(".dockerignore").splitlines()
    return [line.strip().lstrip("/") for line in lines if line.strip() and line[0] != "#"]


def dockerignored(path, patterns):
    """Whether the build context leaves `path` out (the patterns this project uses: plain
    names, globs, **/ prefixes; no ! exceptions)."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("**/"):
            tails = [
                "/".join(parts[index:end])
                for index in range(len(parts))
                for end in range(index + 1, len(parts) + 1)
            ]
            if any(fnmatch(tail, pattern[3:]) for tail in tails):
                return True
        elif any(fnmatch(prefix, pattern.rstrip("/")) for prefix in prefixes):
            return True
    return False


# --- static checks: each returns a list of problems ------------------------------


def compose_problems(bake):
    raw, compose, problems, _ = compose_file(bake)
    if "version" in raw:
        problems.append("docker-compose.yml: `version` is obsolete in the Compose Specification")
    validator = jsonschema.Draft202012Validator(COMPOSE_SCHEMA)
    for error in sorted(validator.iter_errors(compose), key=lambda error: list(error.path)):
        location = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        problems.append(f"docker-compose.yml: {location}: {error.message} (Compose schema)")
    if problems:
        return problems

    services = compose.get("services", {})
    expected = {"app", "redis", "mailpit"} | (
        {"db"} if bake.variant["database"] == "postgresql" else set()
    )
    if set(services) != expected:
        problems.append(f"services are {sorted(services)}, expected {sorted(expected)}")
        return problems
    declared_volumes = set(compose.get("volumes") or {})
    used_volumes = set()
    for name, service in services.items():
        image = service.get("image")
        if image:
            if not is_pinned(image):
                problems.append(f"{name}: image {image} is not pinned to a version")
        elif "build" not in service:
            problems.append(f"{name}: neither image nor build")
        for dependency, condition in (service.get("depends_on") or {}).items():
            if dependency not in services:
                problems.append(f"{name}: depends on unknown service {dependency}")
            elif condition.get("condition") == "service_healthy" and not services[dependency].get(
                "healthcheck"
            ):
                problems.append(
                    f"{name}: waits for {dependency} to be healthy, which has no healthcheck"
                )
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0] if isinstance(mount, str) else mount.get("source")
            if source and not source.startswith((".", "/", "~")):
                used_volumes.add(source)
                if source not in declared_volumes:
                    problems.append(f"{name}: volume {source} is not declared")
        for env_file in env_files(service):
            if env_file not in bake.files:
                problems.append(f"{name}: env_file {env_file} is not in the project")
        for key, value in service_environment(service).items():
            raw_value = str((raw["services"][name].get("environment") or {}).get(key, ""))
            if key == "SECRET_KEY":
                problems.append(f"{name}: SECRET_KEY in docker-compose.yml; it belongs in .env")
            elif SECRET_NAME.search(key) and value and "${" not in raw_value:
                problems.append(
                    f"{name}: {key} is written into docker-compose.yml, not read from .env"
                )
    for volume in declared_volumes - used_volumes:
        problems.append(f"volume {volume} is declared but no service mounts it")

    app = services["app"]
    context = app["build"] if isinstance(app["build"], str) else app["build"].get("context", ".")
    if context not in (".", "./") or "Dockerfile" not in bake.files:
        problems.append("app: must build the project's own Dockerfile")
    if ".env" not in env_files(app):
        problems.append("app: secrets must come from .env (env_file)")
    if set(app.get("depends_on") or {}) != expected - {"app"}:
        problems.append("app: must depend on every other service")
    env = service_environment(app)
    port = dockerfile_env(bake).get("PORT")
    if not any(str(mapping).endswith(f":{port}") for mapping in app.get("ports", [])):
        problems.append(f"app: publishes {app.get('ports')}, not the image's PORT {port}")
    wanted = {"APP_ENV": "production", "MAIL_SERVER": "mailpit", "MAIL_PORT": "1025"}
    for key, value in wanted.items():
        if env.get(key) != value:
            problems.append(f"app: {key} is {env.get(key)!r}, expected {value!r}")
    if urlsplit(env.get("RATELIMIT_STORAGE_URI", "")).hostname != "redis":
        problems.append("app: RATELIMIT_STORAGE_URI must point at the redis service")
    database = urlsplit(env.get("DATABASE_URL", ""))
    if bake.variant["database"] == "postgresql":
        db_env = service_environment(services["db"])
        if (database.hostname, database.username, database.password, database.path) != (
            "db",
            db_env.get("POSTGRES_USER"),
            db_env.get("POSTGRES_PASSWORD"),
            "/" + db_env.get("POSTGRES_DB", ""),
        ):
            problems.append(
                "app: DATABASE_URL does not match the db service's user, password, database"
            )
        if not any(
            str(mount).endswith(":/var/lib/postgresql/data")
            for mount in services["db"].get("volumes", [])
        ):
            problems.append("db: the data directory is not on a volume")
    else:
        mounts = [str(mount).split(":", 1)[1] for mount in app.get("volumes", [])]
        if database.scheme != "sqlite" or not any(
            database.path.lstrip("/").startswith(m.lstrip("/") + "/")
            or database.path.startswith("/" + m)
            for m in mounts
        ):
            problems.append(f"app: the SQLite file {database.path} is not on a volume ({mounts})")
    if not any(str(mapping).endswith(":8025") for mapping in services["mailpit"].get("ports", [])):
        problems.append("mailpit: its web UI (8025) is not published")
    return problems


def dockerfile_problems(bake):
    problems = []
    instructions = dockerfile_instructions(bake.text("Dockerfile"))
    all_stages = stages(instructions)
    if len(all_stages) < 2:
        problems.append(
            "Dockerfile: a single stage; build the dependencies in a stage of their own"
        )
    stage_names = set()
    for image, name, _ in all_stages:
        if image not in stage_names:
            if not is_pinned(image):
                problems.append(f"Dockerfile: base image {image} is not pinned to a version")
            elif not re.search(r":\S*(slim|alpine)", image):
                problems.append(f"Dockerfile: base image {image} is not a slim one")
        if name:
            stage_names.add(name)
    if not all_stages:
        return [*problems, "Dockerfile: no FROM"]
    final = all_stages[-1][2]
    keywords = [keyword for _, keyword, _ in final]

    user_lines = [(line, arguments) for line, keyword, arguments in final if keyword == "USER"]
    start_lines = [line for line, keyword, _ in final if keyword in ("ENTRYPOINT", "CMD")]
    if not start_lines:
        problems.append("Dockerfile: no ENTRYPOINT or CMD in the final stage")
    elif not user_lines or user_lines[-1][0] > min(start_lines):
        problems.append("Dockerfile: no USER before the ENTRYPOINT/CMD: the app would run as root")
    elif user_lines[-1][1].split(":")[0] in ("root", "0"):
        problems.append("Dockerfile: the final USER is root")
    for line, keyword, arguments in final:
        if keyword in ("ENTRYPOINT", "CMD") and not arguments.startswith("["):
            problems.append(
                f"Dockerfile:{line}: {keyword} in shell form; gunicorn would not get SIGTERM"
            )

    healthchecks = [arguments for _, keyword, arguments in final if keyword == "HEALTHCHECK"]
    if not healthchecks or healthchecks[-1].upper() == "NONE" or "/healthz" not in healthchecks[-1]:
        problems.append("Dockerfile: no HEALTHCHECK on /healthz")

    for line, keyword, arguments in instructions:
        if keyword in ("ENV", "ARG"):
            names = env_pairs(arguments) if keyword == "ENV" else {arguments.split("=")[0]: ""}
            for name in names:
                if SECRET_NAME.search(name) or name == "SECRET_KEY":
                    problems.append(
                        f"Dockerfile:{line}: {keyword} {name} bakes a secret into the image"
                    )
        if keyword in ("COPY", "ADD"):
            flags, words = split_flags(arguments)
            if "from" in flags:
                continue
            for source in words[:-1]:
                source = source.replace("\\", "/")
                if source.startswith(".env") or source in (".", "./"):
                    problems.append(
                        f"Dockerfile:{line}: COPY {source} would copy .env into the image"
                    )
                elif not (source.rstrip("/") in bake.files or source.rstrip("/") in bake.dirs):
                    problems.append(
                        f"Dockerfile:{line}: COPY source {source} is not in the project"
                    )
                elif dockerignored(source, dockerignore_patterns(bake)):
                    problems.append(
                        f"Dockerfile:{line}: COPY source {source} is excluded by .dockerignore"
                    )
    env = dockerfile_env(bake)
    for name in ("PORT", "WEB_CONCURRENCY", "APP_ENV"):
        if name not in env:
            problems.append(f"Dockerfile: no ENV {name} in the final stage")
    if env.get("APP_ENV") != "production":
        problems.append("Dockerfile: APP_ENV must be production")
    if "EXPOSE" not in keywords or env.get("PORT") not in " ".join(
        a for _, k, a in final if k == "EXPOSE"
    ):
        problems.append("Dockerfile: EXPOSE does not match ENV PORT")
    for name in (".env", ".git", ".venv", "instance"):
        if not dockerignored(name, dockerignore_patterns(bake)):
            problems.append(f".dockerignore: {name} is sent to the build context")
    return problems


def entrypoint_problems(bake):
    path = "docker/entrypoint.sh"
    problems = []
    data = bake.files.get(path)
    if data is None:
        return [f"{path}: missing"]
    text = data.decode("utf-8")
    if "\r" in text:
        problems.append(f"{path}: CRLF line endings; /bin/sh would fail in the container")
    if not bake.modes[path] & 0o111:
        problems.append(f"{path}: not executable")
    lines = [line.strip() for line in text.splitlines()]
    if not lines or lines[0] not in ("#!/bin/sh", "#!/usr/bin/env sh", "#!/bin/bash"):
        problems.append(f"{path}: no #!/bin/sh line")
    commands = [line for line in lines if line and not line.startswith("#")]
    if not commands or not re.fullmatch(r"set -(eu|ue)(o pipefail)?", commands[0]):
        problems.append(f"{path}: does not start with `set -eu`")
    upgrade = [
        n for n, line in enumerate(commands) if re.search(r"\bflask\b.*\bdb upgrade\b", line)
    ]
    serve = [n for n, line in enumerate(commands) if line.startswith("exec gunicorn")]
    if not upgrade or not serve or upgrade[0] > serve[0]:
        problems.append(f"{path}: must run `flask db upgrade`, then `exec gunicorn`")
    if "${WEB_CONCURRENCY" not in text or "${PORT" not in text:
        problems.append(
            f"{path}: gunicorn's workers and port must come from WEB_CONCURRENCY and PORT"
        )
    entrypoints = [
        a for _, k, a in dockerfile_instructions(bake.text("Dockerfile")) if k == "ENTRYPOINT"
    ]
    copies = [
        a
        for _, k, a in dockerfile_instructions(bake.text("Dockerfile"))
        if k == "COPY" and path in a
    ]
    if not copies:
        problems.append(f"Dockerfile: does not copy {path}")
    elif entrypoints:
        target = shlex.split(copies[-1])[-1]
        command = json.loads(entrypoints[-1])[0]
        if Path(command).name != Path(target).name:
            problems.append(f"Dockerfile: ENTRYPOINT {command} is not the copied {target}")
    return problems


# --- the tests ---------------------------------------------------------------------


@pytest.mark.parametrize("variant", DOCKER_VARIANTS)
def test_compose_file_is_valid_and_wired(bake, variant):
    harness.assert_none(compose_problems(bake(variant)))


@pytest.mark.parametrize("variant", DOCKER_VARIANTS)
def test_compose_variables_resolve(bake, variant):
    baked = bake(variant)
    _, _, problems, used = compose_file(baked)
    harness.assert_none(problems)
    # Every variable is listed somewhere a user will find it.
    documented = baked.text(".env.example") + baked.text("README.md")
    harness.assert_none(
        [f"${{{name}}} is documented nowhere" for name in used if name not in documented]
    )


@pytest.mark.parametrize("variant", DOCKER_VARIANTS)
def test_dockerfile_structure(bake, variant):
    harness.assert_none(dockerfile_problems(bake(variant)))


@pytest.mark.parametrize("variant", DOCKER_VARIANTS)
def test_entrypoint_script(bake, variant):
    harness.assert_none(entrypoint_problems(bake(variant)))


def fake_bake(dockerfile, dockerignore=".env\n.git\n.venv\ninstance\n", entrypoint="", mode=0o755):
    """A stand-in for a baked project, to show the checks catch what they should."""
    files = {
        "Dockerfile": dockerfile,
        ".dockerignore": dockerignore,
        "docker/entrypoint.sh": entrypoint,
        "wsgi.py": "",
    }
    files = {path: text.encode() for path, text in files.items()}
    modes = dict.fromkeys(files, 0o100644) | {"docker/entrypoint.sh": 0o100000 | mode}
    return harness.Bake(variant={}, context={}, project=Path("/nowhere"), files=files, modes=modes)


GOOD_DOCKERFILE = """\
# syntax=docker/dockerfile:1
FROM python:3.12.7-slim-bookworm AS deps
RUN pip wheel --wheel-dir /wheels flask
FROM python:3.12.7-slim-bookworm
ENV APP_ENV=production \\
    PORT=8000 WEB_CONCURRENCY=2
COPY wsgi.py ./
COPY --chmod=755 docker/entrypoint.sh ./entrypoint.sh
USER app
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
ENTRYPOINT ["./entrypoint.sh"]
"""


def test_the_dockerfile_lint_passes_a_good_file_and_catches_each_mistake():
    assert dockerfile_problems(fake_bake(GOOD_DOCKERFILE)) == []
    mistakes = {
        "FROM python:3.12.7-slim-bookworm AS deps": ("FROM python:latest AS deps", "not pinned"),
        "FROM python:3.12.7-slim-bookworm\n": ("FROM python:3.12.7\n", "not a slim one"),
        "USER app\n": ("", "no USER before"),
        "USER app": ("USER root", "final USER is root"),
        "HEALTHCHECK CMD": ("# HEALTHCHECK CMD", "no HEALTHCHECK"),
        'ENTRYPOINT ["./entrypoint.sh"]': ("ENTRYPOINT ./entrypoint.sh", "shell form"),
        "PORT=8000 WEB": ("PORT=8000 SECRET_KEY=abc WEB", "bakes a secret"),
        "COPY wsgi.py ./": ("COPY . ./", "would copy .env"),
        "COPY wsgi.py": ("COPY missing.py", "not in the project"),
    }
    for good, (bad, message) in mistakes.items():
        assert good in GOOD_DOCKERFILE
        problems = dockerfile_problems(fake_bake(GOOD_DOCKERFILE.replace(good, bad)))
        assert any(message in problem for problem in problems), (bad, problems)
    leaky = fake_bake(GOOD_DOCKERFILE, dockerignore=".git\n")
    assert any(".env is sent" in problem for problem in dockerfile_problems(leaky))


GOOD_ENTRYPOINT = """\
#!/bin/sh
set -eu
flask --app wsgi db upgrade
exec gunicorn wsgi:app --workers "${WEB_CONCURRENCY:-2}" --bind ":${PORT:-8000}"
"""


def test_the_entrypoint_check_catches_each_mistake():
    assert entrypoint_problems(fake_bake(GOOD_DOCKERFILE, entrypoint=GOOD_ENTRYPOINT)) == []
    not_executable = fake_bake(GOOD_DOCKERFILE, entrypoint=GOOD_ENTRYPOINT, mode=0o644)
    assert any("not executable" in problem for problem in entrypoint_problems(not_executable))
    for good, bad, message in [
        ("\n", "\r\n", "CRLF"),
        ("set -eu\n", "", "set -eu"),
        ("flask --app wsgi db upgrade\n", "", "flask db upgrade"),
        ('"${WEB_CONCURRENCY:-2}"', "4", "WEB_CONCURRENCY"),
    ]:
        bake = fake_bake(GOOD_DOCKERFILE, entrypoint=GOOD_ENTRYPOINT.replace(good, bad))
        assert any(message in problem for problem in entrypoint_problems(bake)), (bad, message)


def test_interpolation_follows_compose():
    problems, used = [], set()
    values = {"SET": "x", "EMPTY": ""}
    cases = {
        "$$HOME": "$HOME",
        "${SET}": "x",
        "$SET/y": "x/y",
        "${EMPTY:-d}": "d",
        "${EMPTY-d}": "",
        "${UNSET-d}": "d",
        "${SET:+alt}": "alt",
        "${EMPTY:+alt}": "",
    }
    for text, expected in cases.items():
        assert interpolate(text, values, problems, "t", used) == expected, text
    assert problems == []
    interpolate("${UNSET}", values, problems, "t", used)
    interpolate("${EMPTY:?needed}", values, problems, "t", used)
    assert len(problems) == 2


def test_the_compose_schema_is_the_specification():
    assert COMPOSE_SCHEMA["title"] == "Compose Specification"
    validator = jsonschema.Draft202012Validator(COMPOSE_SCHEMA)
    assert not list(validator.iter_errors({"services": {"app": {"image": "x:1"}}}))
    assert list(validator.iter_errors({"services": {"app": {"image": "x:1", "restart": 3}}}))
    assert list(validator.iter_errors({"services": {"app": {"imgae": "x:1"}}}))


# --- the start command, outside a container ------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_client():
    import redis  # a dependency of Flask-Limiter[redis]

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        reason = (
            f"NO REDIS at {REDIS_URL} ({error}); the entrypoint is NOT tested. "
            "Start one or set TEMPLATE_TEST_REDIS_URL."
        )
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return client


def container_environment(bake):
    """What the app's process sees in the container: the image's ENV, then the env_file,
    then the compose file's `environment` (each overriding the one before)."""
    _, compose, problems, _ = compose_file(bake)
    assert not problems
    app = compose["services"]["app"]
    env = dockerfile_env(bake)
    for env_file in env_files(app):
        env.update(read_dotenv(bake.text(env_file)))
    env.update(service_environment(app))
    return env, set(compose["services"])


def request(port, method, path, body=None, cookies=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if cookies is not None:
                cookies[name] = rest.split(";", 1)[0]
        return response.status, response.headers, text
    finally:
        connection.close()


def head_revision(bake):
    revisions, parents = set(), set()
    for path, text in bake.texts():
        if path.startswith("migrations/versions/") and path.endswith(".py"):
            revisions |= set(re.findall(r'^revision = ["\']([^"\']+)', text, re.M))
            parents |= set(re.findall(r'^down_revision = ["\']([^"\']+)', text, re.M))
    (head,) = revisions - parents
    return head


def stored_revision(database_url):
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]
    import psycopg

    with psycopg.connect(database_url) as connection:
        return [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]


@pytest.mark.parametrize("variant", ENTRYPOINT_VARIANTS)
def test_entrypoint_migrates_and_serves_outside_a_container(bake, databases, tmp_path, variant):
    baked = bake(variant)
    redis = redis_client()
    if variant["database"] == "postgresql":
        database_url = databases.fresh_url(variant)
    else:
        database_url = f"sqlite:///{tmp_path / 'app.db'}"
    bin_dir = Path(sys.executable).parent
    for tool in ("flask", "gunicorn", "python"):
        assert (bin_dir / tool).exists(), f"{tool} is not next to {sys.executable}"

    env, services = container_environment(baked)
    port = free_port()
    prefix = f"entrypoint-{uuid.uuid4().hex}"
    # The service host names of the compose network, pointed at this machine.
    local = {
        "DATABASE_URL": database_url,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "MAIL_SERVER": "127.0.0.1",  # nothing is sent: the app only needs a name
        "PORT": str(port),
    }
    host_pattern = re.compile(rf"(^|[/@])({'|'.join(map(re.escape, services))})($|[:/])")
    for key, value in env.items():
        assert key in local or not host_pattern.search(value), f"{key}={value} names a service"
    env.update(local)
    env["RATELIMIT_KEY_PREFIX"] = prefix  # keeps parallel runs apart in one Redis
    assert env["APP_ENV"] == "production"
    workers = int(env["WEB_CONCURRENCY"])
    process_env = harness.project_env(baked, **env)
    process_env["PATH"] = f"{bin_dir}{os.pathsep}{process_env.get('PATH', '')}"

    log_path = tmp_path / "entrypoint.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [str(baked.project / "docker" / "entrypoint.sh")],  # the shebang and the x bit
            cwd=baked.project,
            env=process_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        healthz = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"the entrypoint exited {server.returncode}:\n{log_path.read_text()}")
            booted = log_path.read_text().count("Booting worker with pid")
            try:
                healthz = request(port, "GET", "/healthz")
            except OSError:
                healthz = None
            if healthz and booted >= workers:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"no answer on /healthz after 60 s:\n{log_path.read_text()}")
        ready = time.monotonic() - started
        status, _, body = healthz
        assert (status, json.loads(body)) == (200, {"status": "ok"}), body

        output = log_path.read_text()
        assert "Running upgrade" in output, output
        assert output.count("Booting worker with pid") == workers, output
        assert stored_revision(database_url) == [head_revision(baked)]
        # exec: the process the container would signal is gunicorn itself, not a shell.
        command_line = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
        assert any(b"gunicorn" in part for part in command_line), command_line

        # Rate limits are counted in Redis.
        cookies = {}
        _, _, page = request(port, "GET", "/auth/login", cookies=cookies)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urlencode({"csrf_token": token, "email": "nobody@example.com", "password": "x" * 12})
        status, _, _ = request(port, "POST", "/auth/login", form, cookies=cookies)
        assert status == 200
        keys = redis.keys(f"*{prefix}*")
        assert keys, "no rate-limit counter in Redis"

        # The access log (on in the container) never shows a reset link's token.
        reset_token = "a-reset-token-" + uuid.uuid4().hex
        status, _, _ = request(port, "GET", f"/auth/reset-password/{reset_token}")
        assert status == 302
        deadline = time.monotonic() + 10
        while "/auth/reset-password/[token]" not in log_path.read_text():
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        assert reset_token not in log_path.read_text()

        # The image's own HEALTHCHECK command passes against it.
        healthcheck = [
            a for _, k, a in dockerfile_instructions(baked.text("Dockerfile")) if k == "HEALTHCHECK"
        ][-1]
        check_command = healthcheck[healthcheck.index("CMD ") + 4 :]
        result = subprocess.run(
            ["/bin/sh", "-c", check_command], env=process_env, timeout=30, check=False
        )
        assert result.returncode == 0, check_command
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # what `docker stop` sends
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        for key in redis.keys(f"*{prefix}*"):
            redis.delete(key)
    assert server.returncode == 0, log_path.read_text()
    assert "Shutting down: Master" in log_path.read_text()
    # With the server gone, the same HEALTHCHECK command fails.
    result = subprocess.run(
        ["/bin/sh", "-c", check_command],
        env=process_env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    print(f"{harness.variant_id(variant)}: /healthz answered {ready:.1f} s after start")
