"""Security policy in one place: response headers, CSP, caching and the proxy setup.

Cookie flags live in config.py (they differ per environment); everything a response
carries is decided here, never in the views.
"""

from flask import Flask, Response, current_app, g, request
from flask_login import current_user, user_logged_out
from werkzeug.middleware.proxy_fix import ProxyFix

# Strict CSP (ASVS 3.4.3): only this origin, no inline code or styles, no plugins.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=63072000; includeSubDomains"

# Pages whose URL carries a secret: the Referer must never leave this site. (Not
# "no-referrer": Flask-WTF's strict Referer check on HTTPS needs a same-origin Referer.)
TOKEN_ENDPOINTS = {"auth.reset_password_link"}
# The only pages a cache may keep: the public ones, for a visitor who is not signed in.
# Every other page is private or holds a form with a CSRF token, and so is every page an
# option adds, without a word here.
PUBLIC_BLUEPRINTS = {"main"}


def init_app(app: Flask) -> None:
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        # Trust exactly that many X-Forwarded-* hops; with none trusted, a forged
        # X-Forwarded-For changes nothing.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.after_request(set_security_headers)
    user_logged_out.connect(mark_signed_out, app)


def mark_signed_out(sender: Flask, **extra) -> None:
    """Any way out (logout, ending this session from the sessions page) clears the browser."""
    g.signed_out = True


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if request.endpoint in TOKEN_ENDPOINTS:
        headers["Referrer-Policy"] = "same-origin"
    else:
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    if current_app.config["SEND_HSTS"]:
        headers["Strict-Transport-Security"] = HSTS
    if is_private(request.blueprint, request.endpoint):
        headers["Cache-Control"] = "no-store"
    if request.endpoint == "auth.logout" or g.get("signed_out"):
        # Drop anything the browser kept of the signed-in pages (Back shows nothing).
        headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


def is_private(blueprint: str | None, endpoint: str | None) -> bool:
    if endpoint == "static":
        return False
    return blueprint not in PUBLIC_BLUEPRINTS or current_user.is_authenticated
