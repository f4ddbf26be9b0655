"""Create-a-token form."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from webapp.web.forms import DomainForm


class TokenForm(DomainForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("This field is required.")), Length(max=100)],
                       description=_l("What uses it, e.g. “ci-agent” or “laptop”."))
    expires_in_days = SelectField(_l("Expires"), default="", choices=[
        SelectChoice("", _l("Never")), SelectChoice("30", _l("In 30 days")), SelectChoice("90", _l("In 90 days")),
        SelectChoice("365", _l("In a year"))])

    @property
    def days(self) -> int | None:
        return int(self.expires_in_days.data) if self.expires_in_days.data else None
