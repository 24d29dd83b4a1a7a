"""The migrations of each variant of the covering set (harness.COVERING_VARIANTS: every
pair of option values, all on, all off, the defaults) on SQLite (the development
default of every variant) and, for the postgresql variants, on a real PostgreSQL
server: upgrade from empty, `flask db check` clean, indexes and constraints equal to
what the models make, downgrade back to base, upgrade again; then, on a database with
rows in every table, each revision down and up and a test-only revision that rebuilds
the users table must keep every row, and one that orphans rows must fail and change
nothing (tests/migration_cycle.py does the work, in one process per database)."""

import dataclasses
import shutil

import pytest

import harness

CYCLE_SCRIPT = harness.TEMPLATE_DIR / "tests" / "migration_cycle.py"


def cases():
    for variant in harness.COVERING_VARIANTS:
        group = harness.variant_id(variant)
        for database in dict.fromkeys(["sqlite", variant["database"]]):
            yield pytest.param(
                variant,
                database,
                id=f"{group}-on:{database}",
                marks=pytest.mark.xdist_group(group),
            )


@pytest.mark.parametrize(("variant", "database"), list(cases()))
def test_migrations_upgrade_check_downgrade_and_keep_rows(
    bake, databases, tmp_path, variant, database
):
    baked = bake(variant)
    # The cycle writes a revision into migrations/versions: a copy keeps the variant's
    # other checks on the project as baked.
    copy = tmp_path / "project"
    shutil.copytree(baked.project, copy, ignore=shutil.ignore_patterns("__pycache__"))
    baked = dataclasses.replace(baked, project=copy)
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrations.sqlite'}"
    else:
        url = databases.fresh_url(variant)
    env = harness.project_env(baked, APP_ENV="development", SECRET_KEY=harness.new_secret_key())
    result = harness.run([str(CYCLE_SCRIPT), baked.package_name, url], baked, env)
    assert f"{database}: " in result.stdout
