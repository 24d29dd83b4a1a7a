"""Pieces shared by every form: the base class and the e-mail and new-password fields."""

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import Field, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from .passwords import password_problems

MAX_EMAIL_LENGTH = 254


class BaseForm(FlaskForm):
    """A form that refuses fields sent more than once (WTForms would keep the first)."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if field.raw_data is not None and len(field.raw_data) > 1:
                field.errors = [*field.errors, "Send this field only once."]
                valid = False
        return valid


def normalise_email(address: str) -> str:
    """The canonical, lower-cased form of an address; raises ValueError when invalid."""
    try:
        result = validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None
    return result.normalized.lower()


class EmailAddress:
    """Validates with email-validator (no DNS look-up) and stores the normalised form."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        try:
            field.data = normalise_email(field.data or "")
        except ValueError as error:
            raise ValidationError(str(error)) from None


class NewPassword:
    """Applies the password policy; the e-mail comes from `form.policy_email`."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        problems = password_problems(field.data or "", getattr(form, "policy_email", None))
        if problems:
            raise ValidationError(" ".join(problems))


def email_validators() -> list:
    return [DataRequired(), Length(max=MAX_EMAIL_LENGTH), EmailAddress()]


def new_password_field(label: str = "Password") -> PasswordField:
    return PasswordField(label, validators=[DataRequired(), NewPassword()])


def confirm_password_field() -> PasswordField:
    return PasswordField(
        "Confirm password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )
