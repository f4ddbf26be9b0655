"""Admin forms: approve a usage-key request (daily quota, optional expiry) or reject it (a reason)."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from webapp.usage_keys.service import MAX_QUOTA, MAX_REASON
from webapp.web.forms import DomainForm


class ApproveForm(DomainForm):
    quota = IntegerField(_l("Reviews a day"), validators=[
        InputRequired(message=_l("Give the number of reviews allowed a day.")),
        NumberRange(min=1, max=MAX_QUOTA, message=_l("From 1 to %(max)s.", max=MAX_QUOTA))])
    expires_on = DateField(_l("Expires on"), validators=[Optional()],
                           description=_l("Optional. The key stops working at 00:00 UTC that day."))


class RejectForm(DomainForm):
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(message=_l("Tell the requester why; the reason is e-mailed to them.")),
        Length(max=MAX_REASON)], description=_l("E-mailed to the requester."))
