"""The WSGI entry point: `gunicorn wsgi:app` (or `flask --app wsgi run`)."""

from {{ cookiecutter.package_name }} import create_app

app = create_app()
