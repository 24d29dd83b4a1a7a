"""The signed-in user's own account: password and sessions."""
