"""Error pages in the site's layout, or JSON for clients that ask for it.

Never a stack trace: unhandled exceptions become the 500 page (the traceback goes
to the log only).
"""

from flask import Flask, Response, jsonify, render_template, request
from flask.globals import request_ctx
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .throttling import log_rate_limit_breach

ERROR_PAGES = {
    400: ("Bad request", "The request could not be understood. Check what you sent and try again."),
    403: ("Forbidden", "You do not have permission to open this page."),
    404: ("Page not found", "The page you asked for does not exist or has moved."),
    405: ("Method not allowed", "This page cannot be used that way."),
    413: ("Request too large", "What you sent is larger than this site accepts."),
    429: ("Too many requests", "You tried this too often. Please wait a little and try again."),
    500: ("Something went wrong", "An unexpected error occurred on our side. Try again later."),
}
CSRF_DESCRIPTION = (
    "This form has expired or did not come from this site. Go back, reload it and try again."
)


def init_app(app: Flask) -> None:
    for code in ERROR_PAGES:
        app.register_error_handler(code, render_error)


def render_error(error: HTTPException):
    # Unhandled exceptions arrive here as InternalServerError (code 500).
    code = error.code if error.code in ERROR_PAGES else 500
    title, description = ERROR_PAGES[code]
    if isinstance(error, CSRFError):
        description = CSRF_DESCRIPTION
    if isinstance(error, RateLimitExceeded):
        log_rate_limit_breach(error)

    if wants_json():
        response = jsonify(error=title, message=description)
    elif request_ctx.url_adapter is None:
        # The request never got as far as routing (a Host not in TRUSTED_HOSTS): the page
        # layout cannot build its links, so answer in plain text.
        response = Response(f"{code} {title}\n\n{description}\n", mimetype="text/plain")
    else:
        response = render_template(
            "errors/error.html", code=code, title=title, description=description
        )
    # Keep protocol headers such as Allow (405) and Retry-After (429).
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    return response, code, headers


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"
