from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Regexp

from ..forms import BaseForm


class VerifyForm(BaseForm):
    code = StringField(
        "Verification code",
        validators=[
            DataRequired(),
            Regexp(r"^\d{6}$", message="Enter the 6 digits from the e-mail."),
        ],
        filters=[lambda value: value.replace(" ", "").strip() if value else value],
    )
    submit = SubmitField("Verify")
