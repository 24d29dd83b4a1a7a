from wtforms import BooleanField, EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from ..forms import BaseForm, confirm_password_field, email_validators, new_password_field

# Long enough for any real password; the 72-byte bcrypt limit is checked separately.
MAX_PASSWORD_LENGTH = 1024


def password_field(label: str = "Password") -> PasswordField:
    return PasswordField(label, validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])


class SignupForm(BaseForm):
    email = EmailField("E-mail", validators=email_validators())
    password = new_password_field()
    confirm_password = confirm_password_field()
    submit = SubmitField("Create account")

    @property
    def policy_email(self) -> str | None:
        return self.email.data


class LoginForm(BaseForm):
    email = EmailField("E-mail", validators=email_validators())
    password = password_field()
    remember = BooleanField("Keep me signed in")
    submit = SubmitField("Sign in")


class ForgotPasswordForm(BaseForm):
    email = EmailField("E-mail", validators=email_validators())
    submit = SubmitField("Send reset link")


class ResetPasswordForm(BaseForm):
    password = new_password_field("New password")
    confirm_password = confirm_password_field()
    submit = SubmitField("Set new password")

    def __init__(self, email: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.policy_email = email
