"""The Flask extensions, created here unbound and bound to the app in create_app().

Flask-Migrate is not here: only the command line needs it (see register_migrations);
nor is Flask-Limiter, which throttling.py sets up with the rate limits.
"""

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
