"""Form base class that shows a service's domain error next to the field it names."""

from flask_wtf import FlaskForm

from webapp.errors import DomainError


class DomainForm(FlaskForm):
    def add_domain_error(self, error: DomainError) -> None:
        """Put each message next to its field; `details["fields"]` may carry several at once."""
        per_field = error.details.get("fields") or {error.field: error.message}
        for name, message in per_field.items():
            field = getattr(self, name, None) if name else None
            if field is not None and hasattr(field, "errors"):
                field.errors = [*field.errors, message]
            else:
                self.form_errors.append(message)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


class ActionForm(DomainForm):
    """A POST with nothing but its CSRF token (activate, revoke, reset, switch language ...)."""
