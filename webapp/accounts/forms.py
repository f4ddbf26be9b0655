"""Sign-in and registration forms; the rules themselves live in the accounts service."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from webapp.accounts import service
from webapp.errors import DomainError
from webapp.web.forms import DomainForm


def rule(check):
    """Run a service check as a WTForms validator, so the rule and its message live in one place."""

    def validator(form, field):
        try:
            check(field.data or "")
        except DomainError as error:
            raise ValidationError(str(error.message)) from None

    return validator


REQUIRED = DataRequired(message=_l("This field is required."))
PASSWORD_HELP = _l("At least 8 characters, with upper- and lower-case letters and a digit.")


class RegisterForm(DomainForm):
    email = EmailField(_l("E-mail"), validators=[REQUIRED, rule(service.normalize_email)])
    username = StringField(_l("Username"), validators=[REQUIRED, rule(service.check_username)],
                           description=_l("3–100 letters, digits or underscores."))
    password = PasswordField(_l("Password"), validators=[REQUIRED, rule(service.check_password)],
                             description=PASSWORD_HELP)
    confirm = PasswordField(_l("Confirm password"),
                            validators=[REQUIRED, EqualTo("password", message=_l("The passwords do not match."))])
    tenant_name = StringField(_l("Organisation (optional)"), validators=[Optional(), Length(max=200)],
                              description=_l("Leave empty for a personal workspace."))


class LoginForm(DomainForm):
    login = StringField(_l("E-mail or username"), validators=[REQUIRED, Length(max=320)])
    password = PasswordField(_l("Password"), validators=[REQUIRED, Length(max=service.PASSWORD_MAX)])
    remember = BooleanField(_l("Keep me signed in"))
    next = HiddenField()


class PasswordForm(DomainForm):
    current_password = PasswordField(_l("Current password"), validators=[Length(max=service.PASSWORD_MAX)])
    new_password = PasswordField(_l("New password"), validators=[REQUIRED, rule(service.check_password)],
                                 description=PASSWORD_HELP)
    confirm = PasswordField(_l("Confirm new password"),
                            validators=[REQUIRED, EqualTo("new_password", message=_l("The passwords do not match."))])
