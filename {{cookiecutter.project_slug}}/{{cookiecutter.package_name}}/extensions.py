"""The Flask extensions, created here unbound and bound to the app in create_app().

Flask-Migrate is not here: only the command line needs it (see register_migrations).
"""

import ipaddress

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

from .database import NAMING_CONVENTION

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()


def client_network() -> str:
    """Who a per-address rate limit counts: the client's IPv4 address, or the /64 of an
    IPv6 one (a single subscriber usually holds a whole /64 and can pick any address in it).
    """
    address = request.remote_addr or "127.0.0.1"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return address
    if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is that IPv4 client
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


limiter = Limiter(key_func=client_network)
