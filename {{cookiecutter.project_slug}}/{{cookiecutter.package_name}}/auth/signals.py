"""What the auth core tells the options; each subscribes in its init_app.

address_proven.connect(void_pending_sign_ups, app)
"""

from blinker import Namespace

signals = Namespace()

# The owner proved they read the account's mailbox another way than an e-mail code: a
# completed password reset, or an admin setting the password from the server.
address_proven = signals.signal("address-proven")
# The signed-in user just gave their password again (a password change).
password_proven = signals.signal("password-proven")
