"""Finish the generated project: drop the files of every option that was turned off,
write .env with a fresh secret and say what to do next.

Cookiecutter renders this file with Jinja before running it, with the generated
project as the working directory; the only template expression is CONTEXT_JSON
below, so the module also imports unrendered (the tests call each function on a
temporary tree and read OPTION_FILES). Standard library only, no network, no
subprocess: it must run anywhere cookiecutter runs, Windows included.
"""

import json
import os
import secrets
import shutil
import sys
from pathlib import Path

CONTEXT_JSON = r"""{{ cookiecutter | tojson }}"""

SECRET_KEY_LINE = "SECRET_KEY="

# What each option owns: when the option has this value, these paths go (relative to
# the generated project; PKG stands for the package folder, a folder goes whole).
# This is the only list of them: the template's tests read it too, and check that
# every path exists when its option is on and is gone when it is off.
OPTION_FILES = {
    ("use_admin", False): (
        "PKG/admin",
        "PKG/templates/admin",
        "tests/test_admin.py",
        "tests/test_cli.py",
    ),
    ("use_otp", False): (
        "PKG/verification",
        "PKG/templates/verification",
        "PKG/static/js/verify.js",
        "PKG/templates/email/verification_code.txt",
        "PKG/templates/email/verification_code.html",
        "migrations/versions/0002_sign_up_tickets.py",
        "tests/test_verification.py",
    ),
    ("use_docker", False): ("Dockerfile", "docker-compose.yml", ".dockerignore", "docker"),
    ("open_source_license", "Not open source"): ("LICENSE",),
}


def resolve(project_dir, relative_path, package_name):
    """The path of one entry of OPTION_FILES in the project."""
    parts = [package_name if part == "PKG" else part for part in relative_path.split("/")]
    return Path(project_dir, *parts)


def remove(path):
    """Remove a file or a whole folder; a path that is not there is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def remove_paths(project_dir, relative_paths, package_name):
    for relative_path in relative_paths:
        remove(resolve(project_dir, relative_path, package_name))


def flag(context, key):
    """A yes/no answer. cookiecutter.json declares these as JSON booleans and tojson
    keeps them booleans; a string such as "False" would be truthy, so refuse it."""
    value = context[key]
    if not isinstance(value, bool):
        raise RuntimeError(f"{key} must be a JSON boolean in cookiecutter.json, not {value!r}")
    return value


def answer(context, key, value_in_table):
    """The user's answer to `key`, checked to be a real boolean where the table says so."""
    return flag(context, key) if isinstance(value_in_table, bool) else context[key]


def paths_to_remove(context):
    """Every OPTION_FILES entry whose option has the listed value. Every answer is
    checked before anything is removed, so a bad one leaves the project untouched."""
    paths = []
    for (key, value), relative_paths in OPTION_FILES.items():
        if answer(context, key, value) == value:
            paths.extend(relative_paths)
    return paths


def new_secret_key():
    """64 URL-safe characters from 48 random bytes."""
    return secrets.token_urlsafe(48)


def write_dotenv(project_dir):
    """Copy .env.example to .env with a SECRET_KEY of its own (.env is git-ignored)."""
    project_dir = Path(project_dir)
    lines = (project_dir / ".env.example").read_text(encoding="utf-8").splitlines()
    if SECRET_KEY_LINE not in lines:
        raise RuntimeError(f".env.example has no line {SECRET_KEY_LINE!r} to fill in")
    secret = new_secret_key()
    lines = [SECRET_KEY_LINE + secret if line == SECRET_KEY_LINE else line for line in lines]
    # Owner-only (0600) from the start: the secret is never readable by other users,
    # not even between creating the file and a chmod. O_BINARY (Windows) and
    # newline="\n": LF on every platform, like the rest of the project.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    descriptor = os.open(project_dir / ".env", flags, 0o600)
    with open(descriptor, "w", encoding="utf-8", newline="\n") as env_file:
        env_file.write("\n".join(lines) + "\n")


def print_next_steps(project_dir, context):
    text = f"""
Created {context["project_name"]} in {project_dir}

Next steps:
    cd {project_dir}
    python -m venv .venv
    . .venv/bin/activate          (Windows: .venv\\Scripts\\activate)
    pip install -e ".[dev]"
    flask db upgrade
    flask run --debug

Then open http://127.0.0.1:5000/ ; run the tests with: python -m pytest
.env holds a freshly generated SECRET_KEY; keep it out of version control.
"""
    # A console that cannot show some character (a Windows code page) must not make
    # the bake fail after everything was written.
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    print(text.encode(encoding, "backslashreplace").decode(encoding))


def main(context_json=CONTEXT_JSON, project_dir=None):
    context = json.loads(context_json)
    project_dir = Path.cwd() if project_dir is None else Path(project_dir)
    remove_paths(project_dir, paths_to_remove(context), context["package_name"])
    write_dotenv(project_dir)
    print_next_steps(project_dir, context)


if __name__ == "__main__":
    try:
        main()
    except (OSError, RuntimeError) as error:
        # One readable line instead of a traceback; cookiecutter then deletes the
        # half-finished project.
        print(f"ERROR: {error}", file=sys.stderr)
        sys.exit(1)
