from wtforms import SubmitField

from ..auth.forms import password_field
from ..forms import BaseForm, confirm_password_field, new_password_field


class ChangePasswordForm(BaseForm):
    current_password = password_field("Current password")
    password = new_password_field("New password")
    confirm_password = confirm_password_field()
    submit = SubmitField("Change password")

    def __init__(self, email: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.policy_email = email
