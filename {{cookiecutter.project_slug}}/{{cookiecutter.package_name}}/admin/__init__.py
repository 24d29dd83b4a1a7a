"""The admin panel: user management, the audit log and the create-admin command."""
