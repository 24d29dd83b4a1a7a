"""Finish the generated project: drop the files of every option that was turned off,
write .env with a fresh secret and say what to do next.

Cookiecutter renders this file with Jinja before running it, with the generated
project as the working directory; the only template expression is CONTEXT_JSON
below, so the module also imports unrendered (the tests call each function on a
temporary tree). Standard library only, no network, no subprocess: it must run
anywhere cookiecutter runs, Windows included.

It runs in a Python process of its own on every bake, so it imports only what it
needs (pathlib, secrets and shutil would double its start-up time).
"""

import base64
import json
import os
import sys

CONTEXT_JSON = r"""{{ cookiecutter | tojson }}"""

SECRET_KEY_LINE = "SECRET_KEY="


# What each option owns, relative to the generated project; PKG stands for the
# package folder. The template's tests read these lists too: every path must exist
# when its option is on and be gone when it is off.
ADMIN_PATHS = (
    "PKG/admin",
    "PKG/templates/admin",
    "PKG/templates/auth/reauthenticate.html",
    "tests/test_admin.py",
    "tests/test_cli.py",
)
OTP_PATHS = (
    "PKG/auth/otp.py",
    "PKG/templates/auth/verify.html",
    "PKG/static/js/verify.js",
    "PKG/templates/email/verification_code.txt",
    "PKG/templates/email/verification_code.html",
    "migrations/versions/0002_sign_up_tickets.py",
    "tests/test_otp.py",
)
DOCKER_PATHS = ("Dockerfile", "docker-compose.yml", ".dockerignore", "docker")
LICENSE_PATHS = ("LICENSE",)


def resolve(project_dir, relative_path, package_name):
    """The path (a str) of one entry of the lists above in the project."""
    parts = [package_name if part == "PKG" else part for part in relative_path.split("/")]
    return os.path.join(project_dir, *parts)


def remove(path):
    """Remove a file or a whole folder; a path that is not there is fine."""
    if os.path.isdir(path) and not os.path.islink(path):
        import shutil  # only when a folder goes (no admin panel, no Docker)

        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def remove_paths(project_dir, relative_paths, package_name=""):
    for relative_path in relative_paths:
        remove(resolve(project_dir, relative_path, package_name))


def remove_admin_files(project_dir, package_name):
    remove_paths(project_dir, ADMIN_PATHS, package_name)


def remove_otp_files(project_dir, package_name):
    remove_paths(project_dir, OTP_PATHS, package_name)


def remove_docker_files(project_dir):
    remove_paths(project_dir, DOCKER_PATHS)


def remove_license_file(project_dir):
    remove_paths(project_dir, LICENSE_PATHS)


def new_secret_key():
    """64 URL-safe characters from 48 random bytes: secrets.token_urlsafe(48), which
    is exactly this, without importing secrets (hmac, hashlib, random)."""
    return base64.urlsafe_b64encode(os.urandom(48)).rstrip(b"=").decode("ascii")


def write_dotenv(project_dir):
    """Copy .env.example to .env with a SECRET_KEY of its own (.env is git-ignored)."""
    with open(os.path.join(project_dir, ".env.example"), encoding="utf-8") as example:
        lines = example.read().splitlines()
    if SECRET_KEY_LINE not in lines:
        raise RuntimeError(f".env.example has no line {SECRET_KEY_LINE!r} to fill in")
    secret = new_secret_key()
    lines = [SECRET_KEY_LINE + secret if line == SECRET_KEY_LINE else line for line in lines]
    # Owner-only (0600) from the start: the secret is never readable by other users,
    # not even between creating the file and a chmod. O_BINARY (Windows) and
    # newline="\n": LF on every platform, like the rest of the project.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    descriptor = os.open(os.path.join(project_dir, ".env"), flags, 0o600)
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


def flag(context, key):
    """A yes/no answer. cookiecutter.json declares these as JSON booleans and tojson
    keeps them booleans; a string such as "False" would be truthy, so refuse it."""
    value = context[key]
    if not isinstance(value, bool):
        raise RuntimeError(f"{key} must be a JSON boolean in cookiecutter.json, not {value!r}")
    return value


def main(context_json=CONTEXT_JSON, project_dir=None):
    context = json.loads(context_json)
    project_dir = os.getcwd() if project_dir is None else os.fspath(project_dir)
    package_name = context["package_name"]

    if not flag(context, "use_admin"):
        remove_admin_files(project_dir, package_name)
    if not flag(context, "use_otp"):
        remove_otp_files(project_dir, package_name)
    if not flag(context, "use_docker"):
        remove_docker_files(project_dir)
    if context["open_source_license"] == "Not open source":
        remove_license_file(project_dir)
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
