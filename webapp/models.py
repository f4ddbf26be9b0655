"""Import every model so that metadata is complete for Alembic and relationships resolve."""

from webapp.accounts.models import Identity, Tenant, User  # noqa: F401
from webapp.audit.models import AuditEvent  # noqa: F401
from webapp.llm_configs.models import LLMConfig  # noqa: F401
from webapp.tokens.models import ApiToken  # noqa: F401
from webapp.access_tokens.models import RefreshToken  # noqa: F401
from webapp.tasks.models import Task, TaskError, TaskLog, TaskMetric  # noqa: F401
from webapp.mail.models import MailMessage  # noqa: F401
from webapp.usage.models import UsageDay, UsageEvent  # noqa: F401
from webapp.review.models import ReviewRuleSet  # noqa: F401
from webapp.documents.models import Chunk, Document  # noqa: F401
from webapp.tenants.models import ProviderKey  # noqa: F401
from webapp.chats.models import ChatMessage, ChatSession  # noqa: F401
