"""gunicorn reads this file from the folder it starts in, the project root; command-line
flags add to it."""

# The access log never shows a reset link's token.
logger_class = "{{ cookiecutter.package_name }}.access_log.AccessLogger"
