"""The LLM settings form: every field optional, blank meaning "inherit"; the service validates."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from webapp.web.forms import DomainForm

LABELS = {
    "provider": _l("Provider"),
    "function_calling": _l("Function calling"),
    "system_prompt": _l("System prompt"),
    "max_llm_process_num": _l("Max LLM iterations"),
    "openai_api_key": _l("API key"),
    "openai_base_url": _l("Base URL"),
    "openai_model": _l("Model"),
    "openai_max_token": _l("Max tokens"),
    "lmstudio_base_url": _l("Base URL"),
    "lmstudio_context_length": _l("Context length"),
    "lmstudio_model": _l("Model"),
    "ollama_endpoint": _l("Endpoint"),
    "ollama_model": _l("Model"),
    "ollama_max_token": _l("Max tokens"),
}


class LLMSettingsForm(DomainForm):
    provider = SelectField(LABELS["provider"], default="", choices=[
        SelectChoice("", _l("Inherit")), SelectChoice("openai", "OpenAI"),
        SelectChoice("lmstudio", "LM Studio"), SelectChoice("ollama", "Ollama")])
    function_calling = SelectField(LABELS["function_calling"], default="", choices=[
        SelectChoice("", _l("Inherit")), SelectChoice("true", _l("On")), SelectChoice("false", _l("Off"))])
    system_prompt = TextAreaField(LABELS["system_prompt"])
    max_llm_process_num = StringField(LABELS["max_llm_process_num"])
    openai_api_key = PasswordField(LABELS["openai_api_key"])
    clear_api_key = BooleanField(_l("Remove the saved key"))
    share_key_with_personal_tokens = BooleanField(_l("Personal tokens may read this key"))
    share_key_shown = HiddenField()  # sent with the box: the page showed it
    openai_base_url = StringField(LABELS["openai_base_url"])
    openai_model = StringField(LABELS["openai_model"])
    openai_max_token = StringField(LABELS["openai_max_token"])
    lmstudio_base_url = StringField(LABELS["lmstudio_base_url"])
    lmstudio_context_length = StringField(LABELS["lmstudio_context_length"])
    lmstudio_model = StringField(LABELS["lmstudio_model"])
    ollama_endpoint = StringField(LABELS["ollama_endpoint"])
    ollama_model = StringField(LABELS["ollama_model"])
    ollama_max_token = StringField(LABELS["ollama_max_token"])

    def service_data(self) -> dict:
        """The submitted values keyed by setting name, with function_calling as True/False/None;
        fields the page did not show (another provider's) are left out, so they keep their values."""
        data = {name: getattr(self, name).data for name in LABELS
                if name != "openai_api_key" and getattr(self, name).raw_data}
        if "function_calling" in data:
            data["function_calling"] = {"true": True, "false": False}.get(self.function_calling.data)
        return data

    def share_key_choice(self) -> bool | None:
        """The "personal tokens may read this key" box, or None when the page did not show it (it
        comes with OpenAI's fields only, and an unticked box sends nothing: its fieldset says it
        was there)."""
        return self.share_key_with_personal_tokens.data if self.share_key_shown.data else None

    def fill_from(self, own: dict) -> None:
        """Show the scope's own values (never the key); blank where it inherits."""
        for name in LABELS:
            if name == "openai_api_key":
                continue
            value = own.get(name)
            if name == "function_calling":
                value = "" if value is None else ("true" if value else "false")
            getattr(self, name).data = "" if value is None else str(value)
