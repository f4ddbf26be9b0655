"""/metrics: request counts, latency histograms, errors and rate-limit hits per endpoint."""

import re

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.api_helpers import OPENAI, bearer, make_token, make_user, set_config
from tests.gunicorn_server import Gunicorn


def samples(text: str) -> dict:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text, name, **labels):
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_errors_latency_and_rate_limits(app_env):
    from webapp import create_app

    app_env["API_RATE_LIMITS"] = "2/minute;100/hour"
    app = create_app(env=app_env)
    make_user(app, "admin@example.com", admin=True)
    set_config(app, make_user(app, "octo@example.com", github="octo"), OPENAI)
    _, raw = make_token(app)
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    client.get("/v1/users/github/octo/llm-config", headers=bearer(raw))
    client.get("/v1/users/github/nobody/llm-config", headers=bearer(raw))
    client.get("/v1/users/github/octo/llm-config", headers=bearer(raw))  # third in a minute: 429
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = response.get_data(as_text=True)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    endpoint = "api.get_llm_config"
    assert delta("agentdesk_api_requests_total", endpoint=endpoint, method="GET", status="200") == 1
    assert delta("agentdesk_api_requests_total", endpoint=endpoint, method="GET", status="404") == 1
    assert delta("agentdesk_api_errors_total", endpoint=endpoint, code="USER_NOT_FOUND") == 1
    assert delta("agentdesk_api_errors_total", endpoint=endpoint, code="RATE_LIMIT_EXCEEDED") == 1
    assert delta("agentdesk_api_rate_limited_total", endpoint=endpoint) == 1
    assert delta("agentdesk_api_request_duration_seconds_count", endpoint=endpoint) == 3


def test_metrics_token_protects_the_endpoint(app_env):
    from webapp import create_app

    app_env["METRICS_TOKEN"] = "scrape-secret"
    client = create_app(env=app_env).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200


def test_metrics_add_up_across_worker_processes(app_env, tmp_path):
    """Two gunicorn processes share one multiprocess directory, as the workers of one server do;
    each answers half the calls, and either one's /metrics reports the total."""
    from webapp import create_app

    app = create_app(env=app_env)
    make_user(app, "admin@example.com", admin=True)
    set_config(app, make_user(app, "octo@example.com", github="octo"), OPENAI)
    _, raw = make_token(app)
    env = {**app_env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    servers = [Gunicorn(env).wait(), Gunicorn(env).wait()]
    try:
        for n in range(24):
            response = requests.get(f"{servers[n % 2].url}/v1/users/github/octo/llm-config", headers=bearer(raw),
                                    timeout=10)
            assert response.status_code == 200
        texts = [requests.get(f"{server.url}/metrics", timeout=10).text for server in servers]
    finally:
        for server in servers:
            server.stop()
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # each process wrote its own samples
    for text in texts:
        assert value(text, "agentdesk_api_requests_total", endpoint="api.get_llm_config", method="GET",
                     status="200") == 24
        assert re.search(r'agentdesk_api_request_duration_seconds_bucket\{endpoint="api.get_llm_config",'
                         r'le="\+Inf"\} 24', text)
