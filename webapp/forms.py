"""Form base class that shows a service's domain error next to the field it names."""

from flask_wtf import FlaskForm

from webapp.errors import DomainError


class DomainForm(FlaskForm):
    def add_domain_error(self, error: DomainError) -> None:
        field = getattr(self, error.field, None) if error.field else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, error.message]
        else:
            self.form_errors.append(error.message)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)
