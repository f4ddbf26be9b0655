"""Settings read from the environment: the one place that looks at os.environ."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

from webapp.config_values import (
    GENERATE_SECRET,
    ConfigError,
    OAuthProviderSettings,
    estimated_bits,
    instance_secret,
    normalize_database_url,
    parse_admin_users,
    parse_agent_choices,
    parse_bool,
    parse_json_object,
    parse_jwt_keys,
    parse_prices,
)

__all__ = ["ConfigError", "load", "normalize_database_url", "parse_admin_users"]

ENVIRONMENTS = ("development", "testing", "production")
DEFAULT_SQLITE_NAME = "agentdesk.db"
ARGON2_PARAMS = {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 4}  # RFC 9106's second profile


def load(instance_path: str | Path, env: dict[str, str] | None = None, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment (and test overrides)."""
    env = dict(os.environ if env is None else env)
    overrides = overrides or {}
    instance_path = Path(instance_path)
    app_env = overrides.get("APP_ENV") or env.get("APP_ENV", "development")
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {app_env!r}")
    production = app_env == "production"

    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if production:
            raise ConfigError("SECRET_KEY must be set in production (at least 32 random characters)")
        secret_key = instance_secret(instance_path, "secret_key", lambda: secrets.token_urlsafe(48))
    elif production and (len(secret_key) < 32 or secret_key.lower() in {"change-me", "changeme", "secret", "dev"}):
        raise ConfigError("SECRET_KEY is too short or a placeholder; use at least 32 random characters: "
                          + GENERATE_SECRET)
    elif production and estimated_bits(secret_key) < 128:
        raise ConfigError("SECRET_KEY looks repeated or patterned (under 128 bits of entropy estimated); "
                          f"generate one: {GENERATE_SECRET}")

    encryption_keys = env.get("ENCRYPTION_KEYS", "")
    if not encryption_keys:
        if production:
            raise ConfigError("ENCRYPTION_KEYS must be set in production (comma-separated Fernet keys, newest first)")
        encryption_keys = instance_secret(instance_path, "encryption_keys", lambda: Fernet.generate_key().decode())

    jwt_keys = env.get("JWT_SIGNING_KEYS", "")
    if not jwt_keys:
        if production:
            raise ConfigError("JWT_SIGNING_KEYS must be set in production: KID:SECRET pairs, comma-separated, the "
                              f"signing one first (a secret of at least 32 random characters: {GENERATE_SECRET})")
        jwt_keys = instance_secret(instance_path, "jwt_signing_keys",
                                    lambda: f"dev{secrets.randbelow(10**6):06d}:{secrets.token_urlsafe(48)}")

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / DEFAULT_SQLITE_NAME}"

    github_base = env.get("GITHUB_BASE_URL", "https://github.com").rstrip("/")
    gitlab_base = env.get("GITLAB_BASE_URL", "https://gitlab.com").rstrip("/")
    providers = {
        "github": OAuthProviderSettings(
            name="github",
            client_id=env.get("GITHUB_CLIENT_ID", ""),
            client_secret=env.get("GITHUB_CLIENT_SECRET", ""),
            authorize_url=f"{github_base}/login/oauth/authorize",
            access_token_url=f"{github_base}/login/oauth/access_token",
            api_base_url=env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/") + "/",
            scope="read:user user:email",
        ),
        "gitlab": OAuthProviderSettings(
            name="gitlab",
            client_id=env.get("GITLAB_CLIENT_ID", ""),
            client_secret=env.get("GITLAB_CLIENT_SECRET", ""),
            authorize_url=f"{gitlab_base}/oauth/authorize",
            access_token_url=f"{gitlab_base}/oauth/token",
            api_base_url=f"{gitlab_base}/api/v4/",
            scope="read_user",
        ),
    }

    config = {
        "APP_ENV": app_env,
        "SECRET_KEY": secret_key,
        "ENCRYPTION_KEYS": [k.strip() for k in encryption_keys.split(",") if k.strip()],
        "JWT_SIGNING_KEYS": parse_jwt_keys(jwt_keys),
        "JWT_ACCESS_SECONDS": int(env.get("JWT_ACCESS_SECONDS", "1800")),  # specs 001/002: 30 minutes
        "JWT_REFRESH_SECONDS": int(env.get("JWT_REFRESH_SECONDS", str(7 * 24 * 3600))),  # 7 days
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        # A ping before each checkout guards against dropped server connections; SQLite has none to drop.
        # SQLite: how long a statement waits for another writer's lock (then the request gets a 503).
        # Pool: a gevent worker serves many requests at once, so it keeps more connections than
        # SQLAlchemy's default 5 + 10 (a request waiting for one while others wait on its row lock stalls).
        "SQLALCHEMY_ENGINE_OPTIONS": {**({"connect_args": {"timeout": float(env.get("SQLITE_BUSY_TIMEOUT", "5"))}}
                                         if database_url.startswith("sqlite") else {"pool_pre_ping": True}),
                                      "pool_size": int(env.get("DB_POOL_SIZE", "10")),
                                      "max_overflow": int(env.get("DB_MAX_OVERFLOW", "30"))},
        "OAUTH_PROVIDERS": providers,
        "ADMIN_USERS": parse_admin_users(env.get("ADMIN_USERS", "")),
        "REGISTRATION_OPEN": parse_bool(env.get("REGISTRATION_OPEN"), True),
        "ASSET_MODE": env.get("ASSET_MODE", "cdn"),
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0") or 0),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO").upper(),
        # Prometheus: set the directory when several worker processes serve (docker/boot.sh does).
        "PROMETHEUS_MULTIPROC_DIR": env.get("PROMETHEUS_MULTIPROC_DIR", ""),
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
        "METRICS_PUBLIC": parse_bool(env.get("METRICS_PUBLIC"), False),
        # Requests to addresses users type ("Test connection"): loopback and private networks only
        # where LM Studio or Ollama may run beside the app; a total deadline; a few at a time.
        "OUTBOUND_ALLOW_PRIVATE": parse_bool(env.get("OUTBOUND_ALLOW_PRIVATE"), not production),
        "PROBE_DEADLINE_SECONDS": float(env.get("PROBE_DEADLINE_SECONDS", "5")),
        "PROBE_MAX_IN_FLIGHT": int(env.get("PROBE_MAX_IN_FLIGHT", "4")),
        # Rate limiting (Flask-Limiter).
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Socket.IO across several workers or hosts: a Redis URL they all publish through (by default
        # the rate limits' Redis, when there is one).
        "SOCKETIO_MESSAGE_QUEUE": env.get("SOCKETIO_MESSAGE_QUEUE")
        or (env.get("RATELIMIT_STORAGE_URI", "") if env.get("RATELIMIT_STORAGE_URI", "").startswith("redis") else ""),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Sign-in limits fail open if the store is down (logged); the machine APIs answer 503 instead.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "AUTH_RATE_LIMIT": env.get("AUTH_RATE_LIMIT", "10 per minute"),
        # Machine APIs: per token (spec 000 §3.5), and per IP for callers presenting bad tokens.
        "API_RATE_LIMITS": env.get("API_RATE_LIMITS", "60/minute;1000/hour"),
        "API_INVALID_TOKEN_LIMIT": env.get("API_INVALID_TOKEN_LIMIT", "20/minute"),
        # Spec 002: 100 requests a minute per agent, and 1000 log lines (a batch counts its lines).
        "TASK_RATE_LIMITS": env.get("TASK_RATE_LIMITS", "100/minute"),
        "TASK_LOG_LINES_LIMIT": env.get("TASK_LOG_LINES_LIMIT", "1000/minute"),
        # Spec 003: asking for a usage key (per address), and the code reviews a key may make.
        "USAGE_KEY_REQUEST_LIMIT": env.get("USAGE_KEY_REQUEST_LIMIT", "10/minute;100/day"),
        "REVIEW_RATE_LIMITS": env.get("REVIEW_RATE_LIMITS", "60/minute"),
        # The review page (signed-in people, no key): per person, as it may spend the instance's LLM.
        "REVIEW_PAGE_LIMITS": env.get("REVIEW_PAGE_LIMITS", "10 per minute;100 per day"),
        "USAGE_KEY_DEFAULT_QUOTA": int(env.get("USAGE_KEY_DEFAULT_QUOTA", "100")),  # reviews a day
        "USAGE_KEY_LINK_HOURS": int(env.get("USAGE_KEY_LINK_HOURS", "72")),  # the one-time link's life
        # The review's LLM pass, when the instance default names a provider and a model.
        "REVIEW_LLM": parse_bool(env.get("REVIEW_LLM"), True),
        "REVIEW_LLM_TIMEOUT": float(env.get("REVIEW_LLM_TIMEOUT", "60")),
        "REVIEW_LLM_MAX_LINES": int(env.get("REVIEW_LLM_MAX_LINES", "2000")),  # the first lines go to the model
        "REVIEW_LLM_MAX_IN_FLIGHT": int(env.get("REVIEW_LLM_MAX_IN_FLIGHT", "4")),  # per worker; more: skipped
        # Links in e-mails start here (never from a request's Host header, which a caller chooses).
        "PUBLIC_URL": env.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Spec 001 documents: where uploads are kept (per tenant, generated names), and the largest accepted.
        "UPLOAD_DIR": env.get("UPLOAD_DIR") or str(instance_path / "uploads"),
        "UPLOAD_MAX_BYTES": int(env.get("UPLOAD_MAX_BYTES", str(100 * 1024 * 1024))),
        # Spec 001 §6: uploads and chat per caller (auth is AUTH_RATE_LIMIT).
        "UPLOAD_RATE_LIMITS": env.get("UPLOAD_RATE_LIMITS", "10/minute"),
        "CHAT_RATE_LIMITS": env.get("CHAT_RATE_LIMITS", "60/minute"),
        # The website widget: per key (a site's visitors together), and per visitor (key and address).
        "WIDGET_RATE_LIMITS": env.get("WIDGET_RATE_LIMITS", "60/minute"),
        "WIDGET_VISITOR_LIMITS": env.get("WIDGET_VISITOR_LIMITS", "10/minute"),
        # RAG answers through a tenant's provider key: one deadline for the whole answer, and at most
        # this many in flight per worker (more get a 503 with Retry-After).
        "RAG_LLM_TIMEOUT": float(env.get("RAG_LLM_TIMEOUT", "60")),
        "RAG_LLM_MAX_IN_FLIGHT": int(env.get("RAG_LLM_MAX_IN_FLIGHT", "8")),
        "RAG_LLM_MAX_PER_TENANT": int(env.get("RAG_LLM_MAX_PER_TENANT", "4")),  # of those, one organisation's
        # Embeddings (an organisation that names an embedding model): a question's vector must come
        # within this many seconds, or retrieval goes on with the full-text index alone.
        "RAG_EMBED_TIMEOUT": float(env.get("RAG_EMBED_TIMEOUT", "10")),
        # The agent workspace (spec 004): access tokens live an hour (§8.1); 1000 requests an hour per
        # person, 100 an hour per address before signing in (§5); open sessions per person.
        "WORKSPACE_ACCESS_SECONDS": int(env.get("WORKSPACE_ACCESS_SECONDS", "3600")),
        "WORKSPACE_RATE_LIMITS": env.get("WORKSPACE_RATE_LIMITS", "1000/hour"),
        "WORKSPACE_ANONYMOUS_LIMITS": env.get("WORKSPACE_ANONYMOUS_LIMITS", "100/hour"),
        "WORKSPACE_MAX_ACTIVE_SESSIONS": int(env.get("WORKSPACE_MAX_ACTIVE_SESSIONS", "20")),
        # The agent behind a workspace session: a command line run in a pseudo-terminal, one process
        # per session, in AGENT_WORKDIR/<person>/<session>, with only PATH, HOME, LANG and TERM in
        # its environment (plus the variables AGENT_PASS_ENV names). "Done" is its prompt at the end
        # of its output, or AGENT_IDLE_SECONDS of quiet.
        "AGENT_COMMAND": env.get("AGENT_COMMAND", ""),  # none: the built-in agent (workspace/agent.py)
        "AGENT_LLM_TIMEOUT": float(env.get("AGENT_LLM_TIMEOUT", "120")),  # the built-in agent's model, per turn
        # Other agents a person may choose in their workspace settings (amazonQSettings.agent), each
        # with its own approval profile; "builtin" is always offered.
        "AGENT_CHOICES": parse_agent_choices(env.get("AGENT_CHOICES")),
        "AGENT_WORKDIR": env.get("AGENT_WORKDIR") or str(instance_path / "agents"),
        "AGENT_PASS_ENV": [name for name in env.get("AGENT_PASS_ENV", "").split(",") if name.strip()],
        "AGENT_PROMPT_PATTERN": env.get("AGENT_PROMPT_PATTERN", r"(^|\n)> $"),
        # How the agent asks to run a tool (workspace/approval.py): agentdesk or amazon-q; a question
        # pattern of one's own for another agent.
        "AGENT_APPROVAL": env.get("AGENT_APPROVAL", "agentdesk"),
        "AGENT_APPROVAL_QUESTION": env.get("AGENT_APPROVAL_QUESTION", ""),
        "AGENT_IDLE_SECONDS": float(env.get("AGENT_IDLE_SECONDS", "3")),
        "AGENT_CANCEL_GRACE": float(env.get("AGENT_CANCEL_GRACE", "5")),
        "AGENT_LINGER_SECONDS": float(env.get("AGENT_LINGER_SECONDS", "1800")),  # unused this long: ended
        "AGENT_MAX_OUTPUT_BYTES": int(env.get("AGENT_MAX_OUTPUT_BYTES", str(50 * 1024 * 1024))),
        "WORKSPACE_SOCKET_MESSAGES": int(env.get("WORKSPACE_SOCKET_MESSAGES", "100")),  # a minute, per connection
        # How often a token connection that only listens is checked (sign-out everywhere, deactivation).
        "WORKSPACE_RECHECK_SECONDS": float(env.get("WORKSPACE_RECHECK_SECONDS", "30")),
        # The widget's visitors choose no model or temperature, and get answers of at most this many tokens.
        "WIDGET_MAX_TOKENS": int(env.get("WIDGET_MAX_TOKENS", "800")),
        # Billing (spec 001 §3.7): off without a secret key. Prices: JSON {"PRO_MONTHLY": "price_..."}.
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_PRICES": parse_json_object(env.get("STRIPE_PRICES"), "STRIPE_PRICES",
                                      'JSON like {"PRO_MONTHLY": "price_123", "PRO_YEARLY": "price_456"}'),
        "WEBHOOK_RATE_LIMIT": env.get("WEBHOOK_RATE_LIMIT", "120/minute"),  # per address: Stripe sends few
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/"),
        # US dollars per million tokens (in, out) for /stats/usage's cost; JSON {"model": [in, out]}.
        "MODEL_PRICES": parse_prices(env.get("MODEL_PRICES")),
        # Background jobs (webapp/jobs): Huey on this SQLite file, or on Redis (redis://...).
        "JOBS_URL": env.get("JOBS_URL") or f"sqlite:///{instance_path / 'jobs.sqlite3'}",
        # E-mail (Flask-Mailman). No MAIL_SERVER: messages stay in the outbox (Admin → Outbox) and the log.
        "MAIL_SERVER": env.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(env.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": parse_bool(env.get("MAIL_USE_TLS"), False),  # STARTTLS
        "MAIL_USE_SSL": parse_bool(env.get("MAIL_USE_SSL"), False),  # SMTPS (port 465)
        "MAIL_TIMEOUT": float(env.get("MAIL_TIMEOUT", "10")),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "AgentDesk <agentdesk@localhost>"),
        "MAIL_MAX_ATTEMPTS": int(env.get("MAIL_MAX_ATTEMPTS", "6")),
        "MAIL_RETRY_SECONDS": float(env.get("MAIL_RETRY_SECONDS", "30")),  # doubled after each failure
        # Languages.
        "LANGUAGES": ("ja", "en"),
        "BABEL_DEFAULT_LOCALE": env.get("DEFAULT_LOCALE", "ja"),
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        # Cookies: Secure everywhere but plain-HTTP development.
        "SESSION_COOKIE_NAME": "agentdesk_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": app_env != "development",
        "REMEMBER_COOKIE_NAME": "agentdesk_remember",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": app_env != "development",
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": 1 * 1024 * 1024,
        # The agents' reads run on their own autocommit connections (webapp/db/prepared.py): at most this
        # many per worker, kept open once made; a request waits this long for one before a 503.
        "READ_POOL_SIZE": int(env.get("READ_POOL_SIZE", "20")),
        "READ_POOL_WAIT": float(env.get("READ_POOL_WAIT", "10")),
        # With Redis: how long a worker may keep the rows an agent's call read (its token, the settings
        # it asked for), checked on every call against the generation every commit bumps; the limit
        # only matters for rows changed outside the application. 0: read them every time.
        "AGENT_READ_CACHE_SECONDS": float(env.get("AGENT_READ_CACHE_SECONDS", "120")),
        "ADMIN_PAGE_SIZE": 20,
        # Machine-call audit rows are batched off the hot path (webapp/audit/sink.py).
        "AUDIT_ASYNC": parse_bool(env.get("AUDIT_ASYNC"), app_env != "testing"),
        "AUDIT_FLUSH_SECONDS": float(env.get("AUDIT_FLUSH_SECONDS", "0.5")),
        "AUDIT_BATCH": 500,
        # Where rows the database refused wait to be written (a JSON-lines file; none in tests).
        "DB_WRITER_SPILL_PATH": env.get("DB_WRITER_SPILL_PATH")
        or ("" if app_env == "testing" else str(instance_path / "db-writer-spill.jsonl")),
        "ARGON2_PARAMS": ARGON2_PARAMS,
    }
    if app_env == "testing":
        config["SESSION_COOKIE_SECURE"] = False
        config["REMEMBER_COOKIE_SECURE"] = False
        # Still Argon2id, cheap enough for a suite that registers hundreds of users.
        config["ARGON2_PARAMS"] = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
    config.update(overrides)
    workers = int(env.get("WEB_CONCURRENCY") or env.get("GUNICORN_WORKERS") or 1)
    if production and workers > 1 and config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        raise ConfigError("RATELIMIT_STORAGE_URI is memory:// but several workers run: each would count on its own. "
                          "Use redis://host:6379/0.")
    if not config["RATELIMIT_STORAGE_URI"].startswith(("memory://", "redis://", "rediss://", "unix://")):
        raise ConfigError("RATELIMIT_STORAGE_URI must be memory:// or a Redis URL (redis://, rediss://, unix://): "
                          "the machine APIs count every window in one Redis script.")
    if production and not config["METRICS_TOKEN"] and not config["METRICS_PUBLIC"]:
        raise ConfigError("/metrics would be open to anyone: set METRICS_TOKEN (scrapers send it as a Bearer token), "
                          "or METRICS_PUBLIC=true if a proxy or network rule already restricts it.")
    if production and config["MAIL_SERVER"] and not env.get("PUBLIC_URL"):
        raise ConfigError("PUBLIC_URL must be set when MAIL_SERVER is: links in e-mails start with it "
                          "(e.g. https://agentdesk.example.com).")
    if config["MAIL_USE_TLS"] and config["MAIL_USE_SSL"]:
        raise ConfigError("MAIL_USE_TLS (STARTTLS, usually port 587) and MAIL_USE_SSL (SMTPS, port 465) exclude "
                          "each other: set one.")
    if config["ASSET_MODE"] not in ("cdn", "local"):
        raise ConfigError("ASSET_MODE must be 'cdn' or 'local'")
    return config
