"""Bake every variant and check what comes out.

The variants are the product of every option in cookiecutter.json (harness.VARIANTS),
so a new choice or boolean grows this suite by itself. Every variant gets the cheap
checks (the files as baked, compile, ruff, the dependencies); the generated test suite
runs on the covering set (harness.COVERING_VARIANTS: every pair of option values, all
on, all off, the defaults). Each variant is baked once per xdist worker
(conftest.bake) and all its checks reuse that bake.
"""

import importlib.metadata
import re
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import harness

PRE_GEN = harness.load_hook("pre_gen_project")
VARIANTS = harness.params(harness.VARIANTS)
COVERING_VARIANTS = harness.params(harness.COVERING_VARIANTS)
# The licence is held at its default in the product; the other licences get the
# static checks and the licence check on their own bake.
STATIC_VARIANTS = harness.params(
    harness.VARIANTS + [v for v in harness.LICENSE_VARIANTS if v not in harness.VARIANTS]
)


# --- static checks (on the snapshot taken right after baking) --------------------


@pytest.mark.parametrize("variant", STATIC_VARIANTS)
def test_no_template_leftovers(bake, variant):
    harness.assert_none(harness.template_leftovers(bake(variant)))


@pytest.mark.parametrize("variant", STATIC_VARIANTS)
def test_no_empty_files_or_folders(bake, variant):
    harness.assert_none(harness.empty_files_and_dirs(bake(variant)))


@pytest.mark.parametrize("variant", STATIC_VARIANTS)
def test_line_endings_are_lf(bake, variant):
    harness.assert_none(harness.crlf_files(bake(variant)))


@pytest.mark.parametrize("variant", STATIC_VARIANTS)
def test_scripts_are_executable(bake, variant):
    harness.assert_none(harness.non_executable_scripts(bake(variant)))


@pytest.mark.parametrize("variant", STATIC_VARIANTS)
def test_paths_are_windows_safe(bake, variant):
    harness.assert_none(harness.windows_unsafe_paths(bake(variant)))


@pytest.mark.parametrize("variant", STATIC_VARIANTS)
def test_deselected_options_leave_no_trace(bake, variant):
    harness.assert_none(harness.option_traces(bake(variant)))


@pytest.mark.parametrize("variant", STATIC_VARIANTS)
def test_python_compiles(bake, variant):
    harness.assert_none(harness.compile_errors(bake(variant)))


@pytest.mark.parametrize("variant", STATIC_VARIANTS)
def test_dotenv_has_its_own_secret(bake, variant):
    harness.assert_none(harness.dotenv_problems(bake(variant)))


def test_files_copied_without_rendering_hold_no_jinja():
    harness.assert_none(harness.copy_without_render_problems())


def test_copy_without_render_check_sees_a_jinja_tag(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "plain.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "options.py").write_text("{%- if cookiecutter.use_otp %}\n")
    (tmp_path / "data.txt").write_text("{{ cookiecutter.project_name }}\n")
    config = {"_copy_without_render": ["pkg", "data.txt", "gone.txt"]}
    assert harness.copied_without_rendering(config, tmp_path) == {
        "data.txt": "data.txt",
        "pkg/options.py": "pkg",
        "pkg/plain.py": "pkg",
    }
    problems = harness.copy_without_render_problems(config, tmp_path)
    assert len(problems) == 3
    assert problems[0].startswith("gone.txt: in _copy_without_render but matches nothing")
    assert problems[1].startswith("data.txt:1: Jinja syntax")
    assert problems[2].startswith("pkg/options.py:1: Jinja syntax")


LICENSE_TEXTS = {
    "MIT": ["MIT License", "Permission is hereby granted, free of charge"],
    "BSD-3-Clause": ["Redistribution and use in source and binary forms", "Neither the name"],
    "Apache-2.0": ["Apache License", "Version 2.0, January 2004"],
}


@pytest.mark.parametrize("variant", harness.params(harness.LICENSE_VARIANTS))
def test_license_file(bake, variant):
    baked = bake(variant)
    licence = variant["open_source_license"]
    if licence == "Not open source":
        assert "LICENSE" not in baked.files
        return
    text = baked.text("LICENSE")
    for phrase in LICENSE_TEXTS[licence]:
        assert phrase in text
    for other, phrases in LICENSE_TEXTS.items():
        if other != licence:
            assert phrases[0] not in text
    if licence in ("MIT", "BSD-3-Clause"):
        assert baked.context["author_name"] in text


def test_every_licence_choice_has_a_check():
    assert set(harness.OPTIONS["open_source_license"]) == {*LICENSE_TEXTS, "Not open source"}


# --- dependencies: the test environment matches what the baked project declares ---


def requirements_dev_names():
    names = set()
    for line in (harness.TEMPLATE_DIR / "requirements-dev.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(canonicalize_name(Requirement(line).name))
    return names


def unmet(requirement, extra=""):
    """Problems installing `requirement` in this environment would fix, following
    extras (Flask-Limiter[redis] -> limits[redis] -> redis)."""
    if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
        return []
    try:
        version = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        return [f"{requirement} is not installed"]
    if not requirement.specifier.contains(version, prereleases=True):
        return [f"{requirement}: {version} is installed"]
    problems = []
    for wanted_extra in requirement.extras:
        for dependency in importlib.metadata.requires(requirement.name) or []:
            dependency = Requirement(dependency)
            if dependency.marker and dependency.marker.evaluate({"extra": wanted_extra}):
                problems += unmet(dependency, wanted_extra)
    return problems


@pytest.mark.parametrize("variant", VARIANTS)
def test_declared_dependencies_are_installed_and_listed(bake, variant):
    """The variants run with this interpreter's packages (no pip install per variant),
    so they must be what the baked project asks for, and requirements-dev.txt must
    list them so a fresh environment gets them."""
    listed = requirements_dev_names()
    problems = []
    for line in harness.declared_requirements(bake(variant)):
        requirement = Requirement(line)
        problems += unmet(requirement)
        if canonicalize_name(requirement.name) not in listed:
            problems.append(f"{requirement.name} is missing from requirements-dev.txt")
    harness.assert_none(problems)


DEFAULT_VARIANT = harness.params([harness.DEFAULTS])


@pytest.mark.parametrize("variant", DEFAULT_VARIANT)
def test_pre_commit_runs_the_ruff_of_the_dev_extra(bake, variant):
    """pre-commit and `pip install -e ".[dev]"` must format alike: the same ruff."""
    baked = bake(variant)
    dev = tomllib.loads(baked.text("pyproject.toml"))["project"]["optional-dependencies"]["dev"]
    pins = {canonicalize_name(r.name): str(r.specifier) for r in map(Requirement, dev)}
    assert "pre-commit" in pins
    config = yaml.safe_load(baked.text(".pre-commit-config.yaml"))
    (rev,) = [repo["rev"] for repo in config["repos"] if repo["repo"].endswith("/ruff-pre-commit")]
    assert pins["ruff"] == f"=={rev.removeprefix('v')}"


@pytest.mark.parametrize("variant", DEFAULT_VARIANT)
def test_ci_runs_on_every_branch(bake, variant):
    """A fresh `git init` may name its first branch master: CI must not wait for main."""
    workflow = yaml.safe_load(bake(variant).text(".github/workflows/ci.yml"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert not (triggers["push"] or {}).get("branches")
    assert "pull_request" in triggers


# --- running the baked project ----------------------------------------------------


def assert_ruff_is_clean(baked):
    env = harness.project_env(baked)
    # --no-cache: leave no .ruff_cache behind in the baked project
    harness.run(["-m", "ruff", "check", "--no-cache", "."], baked, env)
    harness.run(["-m", "ruff", "format", "--check", "--no-cache", "."], baked, env)


def assert_generated_suite_passes(baked, databases):
    env = harness.project_env(baked, TEST_DATABASE_URL=databases.fresh_url(baked.variant))
    harness.run(["-m", "pytest", "-q", "-p", "no:cacheprovider"], baked, env, timeout=900)


@pytest.mark.parametrize("variant", VARIANTS)
def test_ruff_is_clean(bake, variant):
    assert_ruff_is_clean(bake(variant))


# The answers written into lines of Python, at their shortest and at their longest
# (the pre-generation hook's limits): the lines must neither outgrow the line length
# nor fold differently than ruff format would.
NAME_EXTREMES = {
    "shortest": {"project_name": "x", "domain_name": "a.io"},
    "longest": {
        "project_name": ("Acme Customer Portal " * 3)[: PRE_GEN.MAX_PROJECT_NAME_LENGTH],
        "project_slug": ("acme_customer_portal_" * 2)[: PRE_GEN.MAX_NAME_LENGTH],
        "domain_name": "a" * (PRE_GEN.MAX_DOMAIN_NAME_LENGTH - 4) + ".com",
    },
}


def bake_answers(cookies, variant, answers):
    result = cookies.bake(extra_context={**variant, **answers}, template=str(harness.TEMPLATE_DIR))
    assert result.exception is None, result.exception
    return harness.Bake(variant, result.context, result.project_path)


@pytest.mark.parametrize("answers", NAME_EXTREMES.values(), ids=NAME_EXTREMES)
def test_ruff_is_clean_with_the_shortest_and_longest_names(cookies, answers):
    assert_ruff_is_clean(bake_answers(cookies, harness.DEFAULTS, answers))


@pytest.mark.parametrize("variant", COVERING_VARIANTS)
def test_generated_test_suite_passes(bake, databases, variant):
    assert_generated_suite_passes(bake(variant), databases)


# Names as people write them, with nothing else answered: punctuation, non-ASCII and
# a leading digit, each on another variant. Whatever name the pre-generation hook
# accepts, the project must come out lint-clean and pass its own tests.
NATURAL_NAMES = {
    "toms-cafe": ("Tom's Café", {}),
    "smith-jones": ("Smith, Jones & Co", {"database": "postgresql", "use_admin": False}),
    "2fast-shop": ("2Fast Shop", {"use_otp": False, "use_docker": False}),
}


@pytest.mark.parametrize(
    ("name", "options"),
    [
        pytest.param(name, options, id=key, marks=pytest.mark.xdist_group(f"name:{key}"))
        for key, (name, options) in NATURAL_NAMES.items()
    ],
)
def test_natural_names_give_a_green_project(cookies, databases, name, options):
    baked = bake_answers(cookies, harness.full_context(**options), {"project_name": name})
    assert baked.context["project_name"] == name
    assert_ruff_is_clean(baked)
    assert_generated_suite_passes(baked, databases)


TEST_REFERENCE = re.compile(r"`(?:(tests/)?(test_\w+\.py))?::(\w+)`")


def readme_test_references(readme):
    """(file, test) for every `test_x.py::name` and `::name` (same file as the one before)
    in the README's tables."""
    references, current = [], None
    for line in readme.splitlines():
        if not line.startswith("|"):
            continue
        for _, file, name in TEST_REFERENCE.findall(line):
            current = file or current
            references.append((current, name))
    return references


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_readme_names_tests_that_exist(bake, variant):
    """The security table proves each protection by a test: that test must be there."""
    baked = bake(variant)
    references = readme_test_references(baked.text("README.md"))
    assert references, "no test named in the README"
    problems = []
    for file, name in references:
        path = f"tests/{file}"
        if path not in baked.files:
            problems.append(f"README names {path}, which this variant does not have")
        elif not re.search(rf"\b(def|class) {name}\b", baked.text(path)):
            problems.append(f"README names {path}::{name}, which is not there")
    harness.assert_none(problems)


def test_readme_references_follow_the_file_named_before():
    readme = "\n".join(
        ["| a | `test_a.py::test_one`, `::test_two` |", "| `tests/test_b.py::test_three` |"]
    )
    assert readme_test_references(readme) == [
        ("test_a.py", "test_one"),
        ("test_a.py", "test_two"),
        ("test_b.py", "test_three"),
    ]
