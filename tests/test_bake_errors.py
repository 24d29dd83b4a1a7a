"""The real cookiecutter command line, as a user runs it: bad answers are refused by
the pre-generation hook with one clear line and leave nothing behind; yes/no answers
are understood in every spelling; every bake gets its own secret."""

import subprocess
import sys

import pytest

import harness


@pytest.fixture
def output_dir(tmp_path):
    path = tmp_path / "output"
    path.mkdir()
    return path


@pytest.fixture
def config_file(tmp_path):
    """A cookiecutter user config of our own: the developer's ~/.cookiecutterrc
    (default_context!) must not change the outcome, and replays stay in tmp."""
    path = tmp_path / "cookiecutterrc.yml"
    path.write_text(
        f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\nreplay_dir: {tmp_path / 'replay'}\n",
        encoding="utf-8",
    )
    return path


def cookiecutter_cli(output_dir, config_file, *answers):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            str(harness.TEMPLATE_DIR),
            *answers,
            "--output-dir",
            str(output_dir),
            "--config-file",
            str(config_file),
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


BAD_ANSWERS = [
    (
        "project_slug=My App",
        'ERROR: project_slug "My App" must be lower case letters, digits and _ , '
        "starting with a letter",
    ),
    (
        "project_slug=my-app",
        'ERROR: project_slug "my-app" must be lower case letters, digits and _ , '
        "starting with a letter",
    ),
    (
        "project_name=Con",
        'ERROR: project_name "Con" gives the folder name "con", which is a name Windows '
        "reserves for a device; set project_slug or change project_name",
    ),
    (
        "project_slug=con",
        'ERROR: project_slug "con" is a name Windows reserves for a device',
    ),
    (
        "package_name=My-App",
        'ERROR: package_name "My-App" must be lower case letters, digits and _ , '
        "starting with a letter",
    ),
    ("package_name=class", 'ERROR: package_name "class" is a Python keyword'),
    (
        "project_name=Import",
        'ERROR: project_name "Import" gives the package name "import", which is a Python '
        "keyword; set package_name or change project_name",
    ),
    (
        "package_name=json",
        'ERROR: package_name "json" would shadow the standard library module "json"',
    ),
    (
        "project_name=Email",
        'ERROR: project_name "Email" gives the package name "email", which would shadow the '
        'standard library module "email"; set package_name or change project_name',
    ),
    (
        "project_slug=json",
        'ERROR: project_slug "json" gives the package name "json", which would shadow the '
        'standard library module "json"; set package_name or change project_slug',
    ),
    (
        "package_name=flask",
        'ERROR: package_name "flask" would shadow a dependency or a project file of the same name',
    ),
    (
        "project_name=SQLAlchemy",
        'ERROR: project_name "SQLAlchemy" gives the package name "sqlalchemy", which would '
        "shadow a dependency or a project file of the same name; set package_name or change "
        "project_name",
    ),
    (
        "package_name=tests",
        'ERROR: package_name "tests" would shadow a dependency or a project file of the same name',
    ),
    (
        "author_email=not-an-email",
        'ERROR: author_email "not-an-email" is not an e-mail address like you@example.com',
    ),
    (
        "author_email=you@example",
        'ERROR: author_email "you@example" is not an e-mail address like you@example.com',
    ),
    (
        'author_name=Say "hi"',
        'ERROR: author_name \'Say "hi"\' must not contain ", \\ or control characters',
    ),
    (
        "domain_name=https://example.com",
        'ERROR: domain_name "https://example.com" must be a host name like example.com '
        "(lower case)",
    ),
    ("version=v1", 'ERROR: version "v1" must be a version number like 0.1.0'),
]


@pytest.mark.parametrize(
    ("answer", "message"), BAD_ANSWERS, ids=[answer for answer, _ in BAD_ANSWERS]
)
def test_bad_answer_is_refused_and_leaves_nothing(output_dir, config_file, answer, message):
    result = cookiecutter_cli(output_dir, config_file, answer)
    assert result.returncode != 0
    # Our hook's line, exactly; cookiecutter adds its own "Stopping generation" report.
    hook_lines = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
    assert message in hook_lines, result.stderr
    assert [line for line in hook_lines if "Stopping generation" not in line] == [message]
    # cookiecutter deletes the project folder it created when the hook fails.
    assert list(output_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["", " "])
def test_empty_project_name_is_refused_and_leaves_nothing(output_dir, config_file, name):
    result = cookiecutter_cli(output_dir, config_file, f"project_name={name}")
    assert result.returncode != 0
    assert "ERROR: project_name must not be empty" in result.stderr.splitlines()
    assert list(output_dir.iterdir()) == []


# Names as people write them: each bakes with no other answer, into a folder and a
# package derived from it.
NATURAL_NAMES = {
    "Tom's Café": "toms_cafe",
    "Smith, Jones & Co": "smith_jones_co",
    "2Fast Shop": "app_2fast_shop",
    "Ærøskøbing Straße": "aeroskobing_strasse",
}


@pytest.mark.parametrize(("name", "slug"), NATURAL_NAMES.items(), ids=list(NATURAL_NAMES))
def test_natural_project_names_bake(output_dir, config_file, name, slug):
    result = cookiecutter_cli(output_dir, config_file, f"project_name={name}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [path.name for path in output_dir.iterdir()] == [slug]
    assert (output_dir / slug / slug / "__init__.py").is_file()
    assert f"Created {name} in " in result.stdout


@pytest.mark.parametrize(
    ("answer", "has_admin"),
    [("no", False), ("false", False), ("yes", True), ("true", True)],
)
def test_boolean_answers_on_the_command_line(output_dir, config_file, answer, has_admin):
    result = cookiecutter_cli(output_dir, config_file, f"use_admin={answer}")
    assert result.returncode == 0, result.stdout + result.stderr
    project = output_dir / "flask_auth_app"
    assert (project / "flask_auth_app" / "__init__.py").is_file()
    assert (project / "flask_auth_app" / "admin").is_dir() is has_admin
    assert (project / "tests" / "test_admin.py").is_file() is has_admin


def secret_key(project):
    lines = (project / ".env").read_text(encoding="utf-8").splitlines()
    (line,) = [line for line in lines if line.startswith("SECRET_KEY=")]
    return line.removeprefix("SECRET_KEY=")


def test_two_bakes_get_different_secrets(tmp_path, config_file):
    secrets = []
    for name in ("first", "second"):
        output_dir = tmp_path / name
        result = cookiecutter_cli(output_dir, config_file)
        assert result.returncode == 0, result.stdout + result.stderr
        secrets.append(secret_key(output_dir / "flask_auth_app"))
    assert len(secrets[0]) >= 32
    assert secrets[0] != secrets[1]
