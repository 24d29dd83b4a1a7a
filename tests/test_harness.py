"""The harness checks itself: the variant list follows cookiecutter.json, and each
no-leftover check catches what it is meant to catch (and nothing legitimate)."""

import itertools
import os

import pytest

import harness


def test_variants_are_the_product_of_the_options():
    assert {
        key: values for key, values in harness.OPTIONS.items() if key not in harness.HELD_AT_DEFAULT
    } == harness.PRODUCT_OPTIONS
    expected = 1
    for values in harness.PRODUCT_OPTIONS.values():
        expected *= len(values)
    assert len(harness.VARIANTS) == expected >= 16
    ids = [harness.variant_id(variant) for variant in harness.VARIANTS]
    assert len(set(ids)) == len(ids)


def all_pairs(options):
    return {
        ((first, a), (second, b))
        for first, second in itertools.combinations(options, 2)
        for a in options[first]
        for b in options[second]
    }


def assert_covers(variants, options, defaults):
    held = set().union(*(harness.value_pairs(v, list(options)) for v in variants))
    assert all_pairs(options) <= held
    assert harness.extreme(options, on=True) in variants
    assert harness.extreme(options, on=False) in variants
    assert defaults in variants


def test_the_covering_set_holds_every_pair_all_on_all_off_and_the_defaults():
    options = harness.PRODUCT_OPTIONS
    variants = [{key: v[key] for key in options} for v in harness.COVERING_VARIANTS]
    assert_covers(variants, options, {key: harness.DEFAULTS[key] for key in options})
    # A few of the product, so each reuses its bake from the cheap checks.
    assert all(variant in harness.VARIANTS for variant in harness.COVERING_VARIANTS)
    ids = [harness.variant_id(variant) for variant in harness.COVERING_VARIANTS]
    assert len(set(ids)) == len(ids)
    print(f"covering set: {len(ids)} of {len(harness.VARIANTS)} variants: {', '.join(ids)}")
    assert len(ids) <= 8 < len(harness.VARIANTS)


def test_all_on_and_all_off_are_the_ends_of_each_choice_list():
    options = {"database": ["sqlite", "postgresql"], "use_admin": [True, False]}
    assert harness.extreme(options, on=True) == {"database": "postgresql", "use_admin": True}
    assert harness.extreme(options, on=False) == {"database": "sqlite", "use_admin": False}


def test_the_covering_set_stays_small_with_the_coming_options():
    config = {
        **harness.CONFIG,
        "use_2fa": False,
        "social_login": ["none", "google", "github", "google_and_github"],
        "use_api": False,
    }
    options = {
        key: values
        for key, values in harness.option_values(config).items()
        if key not in harness.HELD_AT_DEFAULT
    }
    defaults = {
        key: config[key] if isinstance(config[key], bool) else config[key][0] for key in options
    }
    variants = harness.covering_set(options, defaults)
    assert_covers(variants, options, defaults)
    assert variants == harness.covering_set(options, defaults), "not deterministic"
    product = len(list(itertools.product(*options.values())))
    print(f"covering set with the coming options: {len(variants)} of {product} variants")
    assert product == 256
    assert len(variants) < 15


@pytest.mark.xdist_group("harness")
def test_checks_of_one_group_stay_on_one_worker(request):
    """xdist's loadgroup scheduler reads a test's group from its node id: without the
    "@group" suffix every worker would bake every variant (tests/conftest.py)."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run by pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith("@harness")


def test_a_new_boolean_doubles_the_variants():
    config = {**harness.CONFIG, "use_widgets": False, "widget_name": "text is no option"}
    options = harness.option_values(config)
    assert options["use_widgets"] == [True, False]
    assert "widget_name" not in options
    assert "_copy_without_render" not in options


def test_variant_ids_read_well():
    variant = harness.full_context(database="postgresql", use_admin=False, use_docker=False)
    assert harness.variant_id(variant) == "db:postgresql-admin:no-otp:yes-docker:no"
    licensed = harness.full_context(open_source_license="Not open source")
    assert harness.variant_id(licensed).endswith("-license:Not_open_source")


def fake_bake(files, variant=None, modes=None):
    variant = variant or harness.full_context()
    bake = harness.Bake(
        variant=variant,
        context={**variant, "package_name": "shop"},
        project=harness.TEMPLATE_DIR / "no-such-dir" / "shop",
    )
    for path, text in files.items():
        bake.files[path] = text.encode() if isinstance(text, str) else text
        bake.modes[path] = (modes or {}).get(path, 0o100644)
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if folder not in bake.dirs:
                bake.dirs.append(folder)
    return bake


def test_template_leftovers_are_found():
    bake = fake_bake(
        {
            "app.py": "x = 1  # {{ cookiecutter.project_name }}\n",
            "config.toml": "name = '{% if x %}'\n",
            "README.md": "{% raw %}\n",
            "shop/templates/page.html": "{% block body %}{{ title }}{% endblock %}\n",
            ".github/workflows/ci.yml": "run: echo ${{ matrix.python }}\n",
            "shop/static/app.js": "const t = `{{x}}`;\n",
        }
    )
    problems = harness.template_leftovers(bake)
    assert any(p.startswith("app.py:1: mentions cookiecutter") for p in problems)
    assert any(p.startswith("app.py:1: Jinja tag") for p in problems)
    assert any(p.startswith("config.toml:1: Jinja tag") for p in problems)
    assert any(p.startswith("README.md:1: raw/endraw") for p in problems)
    assert not [p for p in problems if p.startswith(("shop/templates", ".github", "shop/static"))]


def test_empty_files_crlf_and_scripts_are_found():
    bake = fake_bake(
        {
            "empty.py": "",
            "blank.txt": "  \n",
            "dos.txt": "a\r\nb\r\n",
            "docker/entrypoint.sh": "#!/bin/sh\necho hi\n",
            "run": "#!/usr/bin/env python\n",
            "ok.sh": "#!/bin/sh\n",
            "font.woff2": b"\x00\x01\r\n",
        },
        modes={"ok.sh": 0o100755},
    )
    bake.dirs.append("empty-folder")
    assert sorted(harness.empty_files_and_dirs(bake)) == [
        "blank.txt: empty file",
        "empty-folder/: empty folder",
        "empty.py: empty file",
    ]
    assert harness.crlf_files(bake) == ["dos.txt: carriage return (CRLF)"]
    assert sorted(harness.non_executable_scripts(bake)) == [
        "docker/entrypoint.sh: shell script without the executable bit",
        "run: shell script without the executable bit",
    ]


def test_windows_unsafe_paths_are_found():
    bake = fake_bake({"aux.py": "x\n", "a:b.txt": "x\n", "Readme.md": "x\n", "README.md": "x\n"})
    problems = harness.windows_unsafe_paths(bake)
    assert "aux.py: name Windows reserves for a device" in problems
    assert "a:b.txt: name Windows cannot hold" in problems
    assert any("only in case" in p for p in problems)


def test_traces_of_a_deselected_option_are_found():
    variant = harness.full_context(use_admin=False, database="sqlite")
    bake = fake_bake(
        {
            "shop/models.py": "class User:\n    is_admin = False\n",
            "shop/admin/routes.py": "x = 1\n",
            "README.md": "Uses SQLite.\n",
            "shop/auth/common-passwords.txt": "admin\npostgres\n",
            "pyproject.toml": 'dependencies = ["psycopg[binary]"]\n',
        },
        variant=variant,
    )
    problems = harness.option_traces(bake)
    assert "shop/admin: left over although use_admin=False" in problems
    assert any(p.startswith("shop/models.py:2:") and "is_admin" in p for p in problems)
    assert any(p.startswith("pyproject.toml:1:") and "psycopg" in p for p in problems)
    assert not [p for p in problems if p.startswith(("README.md", "shop/auth/common"))]
    # Files of options that are on must exist: the hook's lists cannot go stale.
    assert "Dockerfile: missing although use_docker=True" in problems


def test_postgresql_only_pieces_are_found_in_a_sqlite_bake():
    files = {
        # Code that runs on both databases may name PostgreSQL.
        "shop/models.py": "Index(name, User.id, sqlite_where=c, postgresql_where=c)\n",
        "shop/config.py": 'if url.startswith("postgres://"):\n',
        "README.md": "Set DATABASE_URL to a PostgreSQL address in production.\n",
        # What only PostgreSQL can use may not be there.
        "pyproject.toml": 'dependencies = ["Flask", "psycopg[binary]>=3.2"]\n',
        "migrations/versions/0001_initial_schema.py": 'op.execute("CREATE EXTENSION pg_trgm")\n',
        "shop/search.py": 'postgresql_ops={"email": "gin_trgm_ops"}\n',
        "docker-compose.yml": "services:\n  db:\n    image: postgres:17.2-alpine\n",
        ".github/workflows/ci.yml": "services:\n  postgres:\n    image: postgres:17\n",
        ".env.example": "# DATABASE_URL=postgresql://postgres@localhost/shop\n",
    }
    for database in ("sqlite", "postgresql"):
        variant = harness.full_context(database=database)
        problems = [
            p for p in harness.option_traces(fake_bake(files, variant=variant)) if "database" in p
        ]
        if database == "postgresql":
            assert problems == []
            continue
        assert sorted(problem.split(":")[0] for problem in problems) == [
            ".env.example",
            ".github/workflows/ci.yml",
            "docker-compose.yml",
            "migrations/versions/0001_initial_schema.py",
            "pyproject.toml",
            "shop/search.py",
        ]


def test_compile_errors_are_found():
    bake = fake_bake({"good.py": "x = 1\n", "bad.py": "def f(:\n"})
    assert [p.split(":")[0] for p in harness.compile_errors(bake)] == ["bad.py"]


def test_no_postgres_server_skips_loudly(monkeypatch, tmp_path):
    monkeypatch.setattr(harness, "POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    monkeypatch.delenv("CI", raising=False)
    databases = harness.Databases(tmp_path)
    with pytest.raises(pytest.skip.Exception, match="NO POSTGRESQL SERVER"):
        databases.fresh_url(harness.full_context(database="postgresql"))


def test_no_postgres_server_fails_on_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(harness, "POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    monkeypatch.setenv("CI", "true")
    databases = harness.Databases(tmp_path)
    with pytest.raises(pytest.fail.Exception, match="NO POSTGRESQL SERVER"):
        databases.fresh_url(harness.full_context(database="postgresql"))


def test_sqlite_variants_get_a_fresh_file(tmp_path):
    databases = harness.Databases(tmp_path)
    url = databases.fresh_url(harness.full_context(database="sqlite"))
    path = tmp_path / url.removeprefix("sqlite:///").rsplit("/", 1)[-1]
    assert url == f"sqlite:///{path}"
    path.write_text("old")
    assert databases.fresh_url(harness.full_context(database="sqlite")) == url
    assert not path.exists()


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_dotenv_others_can_read_is_found():
    files = {
        ".env.example": "SECRET_KEY=\n",
        ".env": "SECRET_KEY=" + "k" * 64 + "\n",
        ".gitignore": ".env\n",
    }
    assert harness.dotenv_problems(fake_bake(files, modes={".env": 0o100600})) == []
    assert harness.dotenv_problems(fake_bake(files, modes={".env": 0o100644})) == [
        ".env: mode 0o644, expected 0o600 (owner only)"
    ]
