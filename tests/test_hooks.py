"""Unit tests of hooks/pre_gen_project.py and hooks/post_gen_project.py, imported
unrendered and called directly (no cookiecutter run; see test_bake_errors.py)."""

import io
import json
import os
import re
import stat
import subprocess
import sys

import pytest
from cookiecutter.environment import StrictEnvironment
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

import harness

PRE = harness.load_hook("pre_gen_project")
POST = harness.POST_GEN


def context(**overrides):
    """A context as cookiecutter hands it to the hooks, defaults rendered."""
    values = {
        key: value
        for key, value in harness.CONFIG.items()
        if not key.startswith("_") and not isinstance(value, (list, dict))
    }
    values.update(harness.DEFAULTS)
    values.update(
        __derived_slug="flask_auth_app",
        project_slug="flask_auth_app",
        package_name="flask_auth_app",
    )
    values.update(overrides)
    return values


def answered(**answers):
    """The context for these answers with every derived value (project_slug, package_name)
    rendered from cookiecutter.json by cookiecutter itself, as `--no-input` does."""
    raw = generate_context(
        context_file=harness.TEMPLATE_DIR / "cookiecutter.json", extra_context=answers
    )
    return dict(prompt_for_config(raw, no_input=True))


def render_hook(name, ctx):
    """Render a hook the way cookiecutter does before running it."""
    source = (harness.HOOKS_DIR / f"{name}.py").read_text(encoding="utf-8")
    return (
        StrictEnvironment(context={"cookiecutter": ctx})
        .from_string(source)
        .render(cookiecutter=ctx)
    )


# --- the context reaches the hooks intact --------------------------------------


@pytest.mark.parametrize("name", ["pre_gen_project", "post_gen_project"])
def test_rendered_hook_receives_context_with_real_types(name):
    ctx = context(
        use_admin=False,
        use_otp=True,
        description='Quotes """ and \' and a backslash at the end \\',
        author_name="Zoë <Ørsted> & Co",
    )
    namespace = {"__name__": "rendered_hook"}
    exec(compile(render_hook(name, ctx), name, "exec"), namespace)
    received = json.loads(namespace["CONTEXT_JSON"])
    assert received == ctx
    assert received["use_admin"] is False and received["use_otp"] is True


# What a hook must never do: start other programs. It runs wherever cookiecutter runs
# (Windows included), so it keeps to the standard library and to Python itself.
# subprocess would show among the loaded modules; these come with os itself.
SHELL_OUTS = re.compile(r"\bos\.(system|popen|spawn\w*|exec\w*)\(")


@pytest.mark.parametrize("name", ["pre_gen_project", "post_gen_project"])
def test_hook_uses_only_the_standard_library_and_never_shells_out(name):
    path = harness.HOOKS_DIR / f"{name}.py"
    code = (
        "import sys\n"
        f"source = open({str(path)!r}, encoding='utf-8').read()\n"
        f"exec(compile(source, {name!r}, 'exec'), {{'__name__': 'hook'}})\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    # -S: without site, so only what the hook itself imports is loaded (and a
    # third-party import could not even be found).
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True
    )
    loaded = {module.split(".")[0] for module in result.stdout.split()} - {"__main__"}
    assert loaded <= set(sys.stdlib_module_names) | set(sys.builtin_module_names)
    assert "subprocess" not in loaded
    assert not SHELL_OUTS.search(path.read_text(encoding="utf-8"))


# --- pre_gen_project: every invariant accepted and refused -----------------------


def test_defaults_pass():
    assert PRE.first_error(context()) is None


# --- project_slug and package_name derived from any natural project name -----------

DERIVED_SLUGS = {
    "Flask Auth App": "flask_auth_app",
    "Bike Shop": "bike_shop",
    "Tom's Café": "toms_cafe",
    "Tom\u2019s Café": "toms_cafe",
    "Smith, Jones & Co": "smith_jones_co",
    "Crème Brûlée — Paris": "creme_brulee_paris",
    "Ærøskøbing Straße": "aeroskobing_strasse",
    "my-app.io": "my_app_io",
    # Identifiers start with a letter.
    "2Fast Shop": "app_2fast_shop",
    "42": "app_42",
    "!!!": "app",
    # Cut at a word boundary within the 30 characters a name may have.
    "Acme Customer Portal for Bicycle Repairs": "acme_customer_portal_for",
    "Supercalifragilisticexpialidocious": "supercalifragilisticexpialidoc",
}


@pytest.mark.parametrize(("name", "slug"), DERIVED_SLUGS.items(), ids=list(DERIVED_SLUGS))
def test_natural_project_names_derive_valid_names(name, slug):
    ctx = answered(project_name=name)
    assert (ctx["project_slug"], ctx["package_name"]) == (slug, slug)
    assert PRE.first_error(ctx) is None


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        # A derived name refused: the message names the answer it came from.
        (
            {"project_name": "Con"},
            'project_name "Con" gives the folder name "con", which is a name Windows reserves '
            "for a device; set project_slug or change project_name",
        ),
        (
            {"project_name": "Import"},
            'project_name "Import" gives the package name "import", which is a Python keyword; '
            "set package_name or change project_name",
        ),
        (
            {"project_name": "Email"},
            'project_name "Email" gives the package name "email", which would shadow the '
            'standard library module "email"; set package_name or change project_name',
        ),
        (
            {"project_name": "Flask"},
            'project_name "Flask" gives the package name "flask", which would shadow a '
            "dependency or a project file of the same name; set package_name or change "
            "project_name",
        ),
        (
            {"project_slug": "json"},
            'project_slug "json" gives the package name "json", which would shadow the '
            'standard library module "json"; set package_name or change project_slug',
        ),
        # A typed name refused: the message names it as it was typed.
        ({"project_slug": "con"}, 'project_slug "con" is a name Windows reserves for a device'),
        ({"package_name": "class"}, 'package_name "class" is a Python keyword'),
        # A typed answer replaces the derived name that would be refused.
        ({"project_name": "Tests", "project_slug": "test_suite"}, None),
    ],
)
def test_refusals_name_the_answer_the_user_gave(answers, message):
    assert PRE.first_error(answered(**answers)) == message


LONGEST_NAME = "a" * PRE.MAX_NAME_LENGTH
TOO_LONG_NAME = LONGEST_NAME + "b"


@pytest.mark.parametrize(
    "slug", ["flask_auth_app", "a", "app2", "my_app_v2", "console", "comx", LONGEST_NAME]
)
def test_project_slug_accepted(slug):
    assert PRE.check_project_slug(context(project_slug=slug)) is None


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        (
            "My App",
            'project_slug "My App" must be lower case letters, digits and _ , '
            "starting with a letter",
        ),
        ("my-app", 'project_slug "my-app" must be lower case'),
        ("1app", 'project_slug "1app" must be lower case'),
        ("_app", 'project_slug "_app" must be lower case'),
        ("café", 'project_slug "café" must be lower case'),
        ("", 'project_slug "" must be lower case'),
        ("con", 'project_slug "con" is a name Windows reserves'),
        ("aux", 'project_slug "aux" is a name Windows reserves'),
        ("lpt1", 'project_slug "lpt1" is a name Windows reserves'),
        ("com9", 'project_slug "com9" is a name Windows reserves'),
        (TOO_LONG_NAME, f'project_slug "{TOO_LONG_NAME}" must be at most {PRE.MAX_NAME_LENGTH}'),
    ],
)
def test_project_slug_refused(slug, message):
    assert PRE.check_project_slug(context(project_slug=slug)).startswith(message)


@pytest.mark.parametrize(
    "name", ["flask_auth_app", "app", "config", "shop2", "my_app", LONGEST_NAME]
)
def test_package_name_accepted(name):
    assert PRE.check_package_name(context(package_name=name)) is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("MyApp", 'package_name "MyApp" must be lower case letters, digits and _'),
        ("my-app", 'package_name "my-app" must be lower case'),
        ("2fa", 'package_name "2fa" must be lower case'),
        ("", 'package_name "" must be lower case'),
        ("class", 'package_name "class" is a Python keyword'),
        ("import", 'package_name "import" is a Python keyword'),
        ("async", 'package_name "async" is a Python keyword'),
        ("json", 'package_name "json" would shadow the standard library module "json"'),
        ("email", 'package_name "email" would shadow the standard library'),
        ("secrets", 'package_name "secrets" would shadow the standard library'),
        ("logging", 'package_name "logging" would shadow the standard library'),
        ("flask", 'package_name "flask" would shadow a dependency or a project file'),
        ("sqlalchemy", 'package_name "sqlalchemy" would shadow a dependency'),
        ("flask_login", 'package_name "flask_login" would shadow a dependency'),
        ("dotenv", 'package_name "dotenv" would shadow a dependency'),
        ("psycopg", 'package_name "psycopg" would shadow a dependency'),
        ("pytest", 'package_name "pytest" would shadow a dependency'),
        ("tests", 'package_name "tests" would shadow a dependency or a project file'),
        ("migrations", 'package_name "migrations" would shadow'),
        ("wsgi", 'package_name "wsgi" would shadow'),
        ("docker", 'package_name "docker" would shadow'),
        ("prn", 'package_name "prn" is a name Windows reserves'),
        (TOO_LONG_NAME, f'package_name "{TOO_LONG_NAME}" must be at most {PRE.MAX_NAME_LENGTH}'),
    ],
)
def test_package_name_refused(name, message):
    assert PRE.check_package_name(context(package_name=name)).startswith(message)


@pytest.mark.parametrize(
    "email", ["you@example.com", "first.last+tag@mail.example.co.uk", "a_b-c@x-y.org"]
)
def test_author_email_accepted(email):
    assert PRE.check_author_email(context(author_email=email)) is None


@pytest.mark.parametrize(
    "email",
    [
        "",
        "you",
        "you@",
        "@example.com",
        "you@example",
        "you @example.com",
        "you@exa mple.com",
        "a@b@example.com",
        "you@example.com.",
    ],
)
def test_author_email_refused(email):
    message = f'author_email "{email}" is not an e-mail address like you@example.com'
    assert PRE.check_author_email(context(author_email=email)) == message


@pytest.mark.parametrize(
    "name", ["Flask Auth App", "x", "Bob's Shop", "Café Crème", "n" * PRE.MAX_PROJECT_NAME_LENGTH]
)
def test_project_name_accepted(name):
    ctx = context(project_name=name)
    assert PRE.check_project_name(ctx) is None
    assert PRE.check_text_fields(ctx) is None


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_project_name_refused(name):
    assert PRE.check_project_name(context(project_name=name)) == "project_name must not be empty"


def test_overlong_project_name_refused():
    name = "n" * (PRE.MAX_PROJECT_NAME_LENGTH + 1)
    error = PRE.check_project_name(context(project_name=name))
    assert error == f"project_name must be at most {PRE.MAX_PROJECT_NAME_LENGTH} characters"


@pytest.mark.parametrize("field", PRE.TEXT_FIELDS)
@pytest.mark.parametrize("bad", ['say "hi"', "back\\slash", "two\nlines", "tab\there"])
def test_text_that_would_break_a_string_refused(field, bad):
    error = PRE.check_text_fields(context(**{field: bad}))
    assert error.startswith(f"{field} {bad!r} must not contain")


LONGEST_DOMAIN = "a" * (PRE.MAX_DOMAIN_NAME_LENGTH - 4) + ".com"


@pytest.mark.parametrize(
    "domain", ["example.com", "localhost", "my-site.example.org", "a1.io", LONGEST_DOMAIN]
)
def test_domain_name_accepted(domain):
    assert PRE.check_domain_name(context(domain_name=domain)) is None


@pytest.mark.parametrize(
    "domain",
    [
        "",
        "Example.com",
        "exa mple.com",
        "https://example.com",
        "-bad.com",
        "a..b",
        "a" + LONGEST_DOMAIN,
    ],
)
def test_domain_name_refused(domain):
    assert PRE.check_domain_name(context(domain_name=domain)).startswith(f'domain_name "{domain}"')


@pytest.mark.parametrize("version", ["0.1.0", "1", "1.0", "2.0.0rc1", "1.0.post1", "0.1.0.dev3"])
def test_version_accepted(version):
    assert PRE.check_version(context(version=version)) is None


@pytest.mark.parametrize("version", ["", "v1.0", "one", "1.0-beta", "1.0 "])
def test_version_refused(version):
    assert PRE.check_version(context(version=version)).startswith(f'version "{version}"')


def test_main_prints_one_line_and_exits_1(capsys):
    with pytest.raises(SystemExit) as exit_info:
        PRE.main(context_json=json.dumps(context(project_slug="My App")))
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        'ERROR: project_slug "My App" must be lower case letters, digits and _ , '
        "starting with a letter\n"
    )


def test_main_reports_the_first_failure_only(capsys):
    bad = context(project_slug="Bad Slug", package_name="class", author_email="nope")
    with pytest.raises(SystemExit):
        PRE.main(context_json=json.dumps(bad))
    assert capsys.readouterr().err.count("\n") == 1


def test_main_is_silent_when_all_is_well(capsys):
    PRE.main(context_json=json.dumps(context()))
    assert capsys.readouterr() == ("", "")


# --- post_gen_project: the option table, on a temporary tree --------------------

PACKAGE = "shop"
ENV_EXAMPLE = "# Settings\nAPP_ENV=development\nSECRET_KEY=\nDATABASE_URL=sqlite:///shop.db\n"
# Files no option owns: they must survive every removal.
COMMON_FILES = [
    "pyproject.toml",
    "wsgi.py",
    ".env.example",
    f"{PACKAGE}/__init__.py",
    f"{PACKAGE}/auth/routes.py",
    f"{PACKAGE}/templates/auth/login.html",
    f"{PACKAGE}/templates/email/password_reset.txt",
    "tests/test_auth.py",
]


def is_folder(relative):
    """Whether an OPTION_FILES entry is a folder in the template (then the test tree
    puts a file inside it), so the table can change without this test changing."""
    template_path = relative.replace("PKG", "{{cookiecutter.package_name}}", 1)
    return (harness.PROJECT_TEMPLATE_DIR / template_path).is_dir()


def make_tree(root):
    """A project with every file of every option, each folder with a file inside."""
    paths = list(COMMON_FILES)
    for option_paths in POST.OPTION_FILES.values():
        for relative in option_paths:
            path = POST.resolve(root, relative, PACKAGE).relative_to(root).as_posix()
            paths.append(f"{path}/inside.txt" if is_folder(relative) else path)
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(ENV_EXAMPLE if path == ".env.example" else "x\n")
    return root


def tree(root):
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def owned_by(root, relative_paths):
    """Files of the tree under any of relative_paths."""
    prefixes = [
        POST.resolve(root, rel, PACKAGE).relative_to(root).as_posix() for rel in relative_paths
    ]
    return {
        path for path in tree(root) if any(path == p or path.startswith(p + "/") for p in prefixes)
    }


OPTIONS = list(POST.OPTION_FILES)


def option_id(option):
    return option[0]


def test_option_table_names_real_options_and_values():
    for key, value in POST.OPTION_FILES:
        assert value in harness.OPTIONS[key], f"{key}: {value!r} is not one of its answers"
        assert value != harness.DEFAULTS[key], f"{key}: the default must keep the files"
    for relative_paths in POST.OPTION_FILES.values():
        assert relative_paths and all(isinstance(path, str) for path in relative_paths)


@pytest.mark.parametrize("option", OPTIONS, ids=option_id)
def test_remove_paths_removes_exactly_an_options_files(tmp_path, option):
    root = make_tree(tmp_path)
    before = tree(root)
    owned = owned_by(root, POST.OPTION_FILES[option])
    assert owned, "the test tree should hold this option's files"
    POST.remove_paths(root, POST.OPTION_FILES[option], PACKAGE)
    assert tree(root) == before - owned
    for relative in POST.OPTION_FILES[option]:
        assert not os.path.lexists(POST.resolve(root, relative, PACKAGE))


@pytest.mark.parametrize("option", OPTIONS, ids=option_id)
def test_remove_paths_accepts_missing_files(tmp_path, option):
    (tmp_path / "wsgi.py").write_text("x\n")
    POST.remove_paths(tmp_path, POST.OPTION_FILES[option], PACKAGE)
    assert tree(tmp_path) == {"wsgi.py"}


def test_new_secret_key_is_like_token_urlsafe_48():
    keys = {POST.new_secret_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{64}", key) for key in keys)


def secret_of(env_text):
    (line,) = [line for line in env_text.splitlines() if line.startswith("SECRET_KEY=")]
    return line.removeprefix("SECRET_KEY=")


def test_write_dotenv_fills_in_a_secret_and_keeps_the_rest(tmp_path):
    (tmp_path / ".env.example").write_text(ENV_EXAMPLE)
    POST.write_dotenv(tmp_path)
    data = (tmp_path / ".env").read_bytes()
    assert b"\r" not in data
    text = data.decode()
    secret = secret_of(text)
    assert len(secret) >= 48 and re.fullmatch(r"[A-Za-z0-9_-]+", secret)
    assert text == ENV_EXAMPLE.replace("SECRET_KEY=\n", f"SECRET_KEY={secret}\n")
    assert (tmp_path / ".env.example").read_text() == ENV_EXAMPLE


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_write_dotenv_makes_env_readable_by_its_owner_only(tmp_path):
    (tmp_path / ".env.example").write_text(ENV_EXAMPLE)
    old_umask = os.umask(0)  # the most permissive: the mode must come from the hook
    try:
        POST.write_dotenv(tmp_path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600


def test_write_dotenv_gives_a_different_secret_each_time(tmp_path):
    (tmp_path / ".env.example").write_text(ENV_EXAMPLE)
    POST.write_dotenv(tmp_path)
    first = secret_of((tmp_path / ".env").read_text())
    POST.write_dotenv(tmp_path)
    second = secret_of((tmp_path / ".env").read_text())
    assert first != second


@pytest.mark.parametrize(
    "example", ["APP_ENV=development\n", "SECRET_KEY=already-set\n", "# SECRET_KEY=\n"]
)
def test_write_dotenv_fails_loudly_without_an_empty_secret_key_line(tmp_path, example):
    (tmp_path / ".env.example").write_text(example)
    with pytest.raises(RuntimeError, match="SECRET_KEY="):
        POST.write_dotenv(tmp_path)
    assert not (tmp_path / ".env").exists()


def test_write_dotenv_fails_loudly_without_env_example(tmp_path):
    with pytest.raises(FileNotFoundError):
        POST.write_dotenv(tmp_path)


def run_post_main(root, **overrides):
    ctx = context(package_name=PACKAGE, project_slug=PACKAGE, **overrides)
    POST.main(context_json=json.dumps(ctx), project_dir=root)


def test_main_keeps_everything_when_every_option_is_on(tmp_path, capsys):
    root = make_tree(tmp_path)
    before = tree(root)
    run_post_main(root)
    assert tree(root) == before | {".env"}
    out = capsys.readouterr().out
    assert "flask db upgrade" in out and "flask run --debug" in out


@pytest.mark.parametrize("option", OPTIONS, ids=option_id)
def test_main_removes_the_files_of_an_option_turned_off(tmp_path, option):
    key, off_value = option
    root = make_tree(tmp_path)
    before = tree(root)
    owned = owned_by(root, POST.OPTION_FILES[option])
    run_post_main(root, **{key: off_value})
    assert tree(root) == (before - owned) | {".env"}


def test_main_with_everything_off(tmp_path):
    root = make_tree(tmp_path)
    run_post_main(root, **{key: value for key, value in POST.OPTION_FILES})
    assert tree(root) == set(COMMON_FILES) | {".env"}


@pytest.mark.parametrize("value", ["False", "no", 0, None])
def test_main_refuses_a_boolean_that_is_not_a_boolean(tmp_path, value):
    root = make_tree(tmp_path)
    before = tree(root)
    with pytest.raises(RuntimeError, match="use_admin must be a JSON boolean"):
        run_post_main(root, use_admin=value)
    assert tree(root) == before


def test_next_steps_survive_a_console_that_cannot_show_the_name(tmp_path, monkeypatch):
    console = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    monkeypatch.setattr(sys, "stdout", console)
    POST.print_next_steps(tmp_path / "shop", context(project_name="商店 Shop"))
    console.flush()
    shown = console.buffer.getvalue().decode("cp1252")
    assert "\\u5546\\u5e97 Shop" in shown and "flask run" in shown
