"""The Workspace page's forms: a session's title, the search, and spec 004's settings (the service
validates the values; the form turns them into a partial update)."""

from __future__ import annotations

from datetime import datetime, time, timezone

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, SearchField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from webapp.web.forms import DomainForm
from webapp.workspace import service, settings


class RenameForm(DomainForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=service.MAX_TITLE)])


class SearchForm(DomainForm):
    q = SearchField(_l("Search your sessions"), validators=[Optional(), Length(max=200)])
    session = StringField(validators=[Optional(), Length(max=40)])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=1000)])

    @property
    def start_moment(self) -> datetime | None:
        return datetime.combine(self.start.data, time.min, timezone.utc) if self.start.data else None

    @property
    def end_moment(self) -> datetime | None:
        return datetime.combine(self.end.data, time.max, timezone.utc) if self.end.data else None


class SettingsForm(DomainForm):
    theme = SelectField(_l("Theme"), choices=[SelectChoice("light", _l("Light")), SelectChoice("dark", _l("Dark"))])
    fontSize = IntegerField(_l("Terminal font size (px)"), validators=[
        InputRequired(), NumberRange(*settings.FONT_SIZES)])
    enableSounds = BooleanField(_l("Play a sound when the agent asks for approval or finishes"))
    autoSave = BooleanField(_l("Keep unsent text as a draft in this browser"))
    trustAllTools = BooleanField(_l("Approve low-risk tools automatically (reading files, git status …)"))
    timeout = IntegerField(_l("Time limit for one request (seconds)"), validators=[
        InputRequired(), NumberRange(*settings.TIMEOUTS)])
    model = StringField(_l("Model (for agents that take one)"), validators=[Optional(), Length(max=100)])
    agent = SelectField(_l("Agent"), choices=[], validate_choice=False)  # the service checks the name

    AGENT = ("trustAllTools", "timeout", "model", "agent")

    @classmethod
    def initial(cls, settings: dict) -> dict:
        return {**{k: v for k, v in settings.items() if k != "amazonQSettings"}, **settings["amazonQSettings"]}

    def changes(self) -> dict:
        """The form as spec 004's PUT /api/settings body."""
        top = {"theme": self.theme.data, "fontSize": self.fontSize.data, "enableSounds": self.enableSounds.data,
               "autoSave": self.autoSave.data}
        return {**top, "amazonQSettings": {name: getattr(self, name).data if name not in ("model", "agent")
                                           else (getattr(self, name).data or "") for name in self.AGENT}}
