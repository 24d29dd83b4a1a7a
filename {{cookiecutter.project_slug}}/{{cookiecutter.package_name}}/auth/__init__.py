"""Sign-up, login, logout{% if cookiecutter.use_otp %}, e-mail verification{% endif %} and password reset."""
