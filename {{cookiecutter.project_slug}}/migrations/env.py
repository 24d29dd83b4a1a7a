"""Alembic environment for Flask-Migrate: the app's engine and models' metadata."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
fileConfig(config.config_file_name)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
config.set_main_option(
    "sqlalchemy.url",
    target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%"),
)


{%- if cookiecutter.database == "postgresql" %}


def include_object(item, name, type_, reflected, compare_to) -> bool:
    """Compare what the models keep for one database (info["dialect"], such as the
    PostgreSQL-only trigram index) only on that database, so `flask db migrate` and
    `flask db check` agree with the migrations on SQLite and PostgreSQL alike."""
    dialect = item.info.get("dialect")
    return dialect is None or dialect == context.get_context().dialect.name
{%- endif %}


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_db.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty_revisions(context, revision, directives) -> None:
        # `flask db migrate` with no model change writes no empty migration.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    configure_args = current_app.extensions["migrate"].configure_args
    configure_args.setdefault("process_revision_directives", skip_empty_revisions)
{%- if cookiecutter.database == "postgresql" %}
    configure_args.setdefault("include_object", include_object)
{%- endif %}

    with target_db.engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_db.metadata, **configure_args
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
