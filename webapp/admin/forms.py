"""Admin forms: pre-provisioning an identity."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from webapp.web.forms import DomainForm


class PreprovisionForm(DomainForm):
    platform = SelectField(_l("Platform"), choices=[SelectChoice("github", "GitHub"), SelectChoice("gitlab", "GitLab")])
    login = StringField(_l("Login"), validators=[DataRequired(message=_l("This field is required.")), Length(max=255)],
                        description=_l("The person's login on GitHub or GitLab; their first sign-in claims it."))
