"""Refuse bad answers before cookiecutter renders anything.

Cookiecutter renders this file with Jinja before running it; the only template
expression is CONTEXT_JSON below, so the module also imports unrendered (the tests
do that). Standard library only, no network, no subprocess: it must run anywhere
cookiecutter runs, Windows included.

Each check returns an error message or None; main() prints the first error as one
line on stderr and exits 1. Cookiecutter then deletes the project directory it has
just created, so nothing is left on disk.
"""

import json
import keyword
import re
import sys

CONTEXT_JSON = r"""{{ cookiecutter | tojson }}"""

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
NAME_RULE = "must be lower case letters, digits and _ , starting with a letter"

# Names Windows cannot use for a file or folder, whatever the extension.
WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {
    f"{prefix}{digit}" for prefix in ("com", "lpt") for digit in range(1, 10)
}

# Import names the generated project depends on (directly or through its
# dependencies) and names of folders/modules at the generated project's root. A
# package with one of these names would shadow the real one or collide with the file.
TAKEN_NAMES = {
    # runtime dependencies and what they pull in
    "flask",
    "werkzeug",
    "jinja2",
    "click",
    "itsdangerous",
    "markupsafe",
    "blinker",
    "sqlalchemy",
    "greenlet",
    "flask_sqlalchemy",
    "flask_migrate",
    "alembic",
    "mako",
    "flask_login",
    "flask_wtf",
    "wtforms",
    "flask_mail",
    "flask_limiter",
    "limits",
    "deprecated",
    "wrapt",
    "ordered_set",
    "rich",
    "typing_extensions",
    "packaging",
    "bcrypt",
    "email_validator",
    "dns",
    "idna",
    "dotenv",
    "gunicorn",
    "psycopg",
    "psycopg_binary",
    "redis",
    # development dependencies
    "pytest",
    "_pytest",
    "pluggy",
    "iniconfig",
    "ruff",
    "aiosmtpd",
    # the generated project's own top-level files and folders
    "tests",
    "migrations",
    "wsgi",
    "docker",
    "assets",
    "instance",
    "node_modules",
}

# Text answers are written into Python, TOML and YAML strings; these characters
# would end or corrupt such a string.
TEXT_FIELDS = ("project_name", "description", "author_name", "domain_name", "version")
UNSAFE_TEXT = re.compile(r'["\\\x00-\x1f\x7f]')

# The answers are written into lines of Python that must stay within the project's
# line length (100): imports, paths, the page titles' name and the e-mail sender.
MAX_PROJECT_NAME_LENGTH = 60
MAX_NAME_LENGTH = 30  # project_slug and package_name
MAX_DOMAIN_NAME_LENGTH = 70

EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
DOMAIN_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
# The public version scheme of PEP 440 (pip refuses anything else in pyproject.toml).
VERSION_PATTERN = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")


def check_project_name(context):
    name = context["project_name"]
    if not name.strip():
        return "project_name must not be empty"
    if len(name) > MAX_PROJECT_NAME_LENGTH:
        return f"project_name must be at most {MAX_PROJECT_NAME_LENGTH} characters"
    return None


def check_text_fields(context):
    for field in TEXT_FIELDS:
        if UNSAFE_TEXT.search(context[field]):
            return f'{field} {context[field]!r} must not contain ", \\ or control characters'
    return None


# project_slug is derived from project_name (cookiecutter.json's __derived_slug) and
# package_name from project_slug unless the user typed them. A refused derived name
# is reported as the answer the user gave, which is what they can change.
DERIVED_FROM = {"project_slug": "project_name", "package_name": "project_slug"}
NAME_LABELS = {"project_slug": "folder name", "package_name": "package name"}


def source_of(context, key):
    """The answer `key`'s value comes from: `key` itself when typed, else the answer
    it was derived from (package_name may come from project_slug or project_name)."""
    if key == "package_name" and context["package_name"] == context["project_slug"]:
        key = "project_slug"
    if key == "project_slug" and context["project_slug"] == context["__derived_slug"]:
        key = "project_name"
    return key


def refuse(context, key, rule):
    """The error message: `rule` said of `key`'s value, naming the answer the user gave."""
    value = context[key]
    source = source_of(context, key)
    if source == key:
        return f'{key} "{value}" {rule}'
    return (
        f'{source} "{context[source]}" gives the {NAME_LABELS[key]} "{value}", which {rule}; '
        f"set {key} or change {source}"
    )


def check_project_slug(context):
    slug = context["project_slug"]
    if not NAME_PATTERN.match(slug):
        return refuse(context, "project_slug", NAME_RULE)
    if slug in WINDOWS_RESERVED:
        return refuse(context, "project_slug", "is a name Windows reserves for a device")
    if len(slug) > MAX_NAME_LENGTH:
        return refuse(context, "project_slug", f"must be at most {MAX_NAME_LENGTH} characters")
    return None


def check_package_name(context):
    name = context["package_name"]
    # Lower case only: PEP 8 module names, and no surprises on case-insensitive disks.
    if not NAME_PATTERN.match(name):
        return refuse(context, "package_name", NAME_RULE)
    if keyword.iskeyword(name):
        return refuse(context, "package_name", "is a Python keyword")
    if name in sys.stdlib_module_names:
        return refuse(context, "package_name", f'would shadow the standard library module "{name}"')
    if name in TAKEN_NAMES:
        return refuse(
            context, "package_name", "would shadow a dependency or a project file of the same name"
        )
    if name in WINDOWS_RESERVED:
        return refuse(context, "package_name", "is a name Windows reserves for a device")
    if len(name) > MAX_NAME_LENGTH:
        return refuse(context, "package_name", f"must be at most {MAX_NAME_LENGTH} characters")
    return None


def check_author_email(context):
    email = context["author_email"]
    if not EMAIL_PATTERN.match(email):
        return f'author_email "{email}" is not an e-mail address like you@example.com'
    return None


def check_domain_name(context):
    domain = context["domain_name"]
    if not DOMAIN_PATTERN.match(domain):
        return f'domain_name "{domain}" must be a host name like example.com (lower case)'
    if len(domain) > MAX_DOMAIN_NAME_LENGTH:
        return f'domain_name "{domain}" must be at most {MAX_DOMAIN_NAME_LENGTH} characters'
    return None


def check_version(context):
    version = context["version"]
    if not VERSION_PATTERN.match(version):
        return f'version "{version}" must be a version number like 0.1.0'
    return None


# Order matters: the first failure is the one reported.
CHECKS = (
    check_project_name,
    check_text_fields,
    check_project_slug,
    check_package_name,
    check_author_email,
    check_domain_name,
    check_version,
)


def first_error(context):
    for check in CHECKS:
        error = check(context)
        if error:
            return error
    return None


def main(context_json=CONTEXT_JSON):
    error = first_error(json.loads(context_json))
    if error:
        print(f"ERROR: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
