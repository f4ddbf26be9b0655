# AgentDesk production image: gunicorn (gevent workers), non-root, migrates then starts.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    APP_ENV=production \
    PORT=5000

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN pybabel compile -d webapp/translations \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin agentdesk \
    && mkdir -p /app/instance \
    && chown -R agentdesk /app/instance

USER agentdesk
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"5000\")}/health', timeout=4)"
CMD ["docker/boot.sh"]
