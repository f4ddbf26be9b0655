"""Per-token rate limits (spec 000 §3.5): headers, 429 body, per-IP throttling, Redis shared by processes."""

import time

import pytest
import requests

from tests.api_helpers import OPENAI, bearer, make_token, make_user, set_config
from tests.gunicorn_server import Gunicorn
from webapp import create_app
from webapp.config import ConfigError, load

PATH = "/v1/users/github/octo/llm-config"


def limited_app(app_env, **settings):
    app_env.update(settings)
    app = create_app(env=app_env)
    make_user(app, "admin@example.com", admin=True)
    set_config(app, make_user(app, "octo@example.com", github="octo"), OPENAI)
    client = app.test_client()
    return app, client


def test_every_response_carries_minute_and_hour_headers(app_env):
    app, client = limited_app(app_env)
    _, raw = make_token(app)
    first = client.get(PATH, headers=bearer(raw))
    second = client.get("/v1/users/github/nobody/llm-config", headers=bearer(raw))
    assert first.headers["X-RateLimit-Limit"] == "60" and first.headers["X-RateLimit-Remaining"] == "59"
    assert second.status_code == 404 and second.headers["X-RateLimit-Remaining"] == "58"
    assert first.headers["X-RateLimit-Limit-Hour"] == "1000" and second.headers["X-RateLimit-Remaining-Hour"] == "998"
    assert 0 < int(first.headers["X-RateLimit-Reset"]) - time.time() <= 61
    assert 0 < int(first.headers["X-RateLimit-Reset-Hour"]) - time.time() <= 3601


def test_over_the_minute_limit_gets_429_with_retry_after(app_env):
    app, client = limited_app(app_env, API_RATE_LIMITS="3/minute;100/hour")
    _, raw = make_token(app)
    _, other = make_token(app)
    assert [client.get(PATH, headers=bearer(raw)).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(PATH, headers=bearer(raw))
    assert response.status_code == 429
    body = response.json
    assert body["status"] == "error" and body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert body["error"]["message"] == "Rate limit exceeded. Please try again later."
    assert 1 <= body["error"]["retry_after"] <= 60
    assert response.headers["Retry-After"] == str(body["error"]["retry_after"])
    assert response.headers["X-RateLimit-Remaining"] == "0"
    # Limits are per token.
    assert client.get(PATH, headers=bearer(other)).status_code == 200


def test_the_hourly_quota_applies_too(app_env):
    app, client = limited_app(app_env, API_RATE_LIMITS="10/minute;4/hour")
    _, raw = make_token(app)
    assert [client.get(PATH, headers=bearer(raw)).status_code for _ in range(5)] == [200, 200, 200, 200, 429]
    response = client.get(PATH, headers=bearer(raw))
    assert response.headers["X-RateLimit-Remaining-Hour"] == "0"
    assert int(response.headers["Retry-After"]) > 60


def test_invalid_tokens_are_throttled_per_ip_but_valid_ones_are_not(app_env):
    app, client = limited_app(app_env, API_INVALID_TOKEN_LIMIT="3/minute")
    _, raw = make_token(app)
    bad = [client.get(PATH, headers=bearer("adk_svc_guess")).status_code for _ in range(4)]
    assert bad == [401, 401, 401, 429]
    assert client.get(PATH, headers=bearer(raw)).status_code == 200


def test_unreachable_redis_gives_503_not_500_and_sign_in_still_works(app_env):
    app, client = limited_app(app_env, RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")
    _, raw = make_token(app)
    response = client.get(PATH, headers=bearer(raw))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert client.get("/auth/login").status_code == 200


def test_memory_storage_is_refused_for_several_production_workers(tmp_path):
    env = {"APP_ENV": "production", "SECRET_KEY": "Kq3-vR8zL1pW9xN4tY6bM2cH7jF0dS5a", "ENCRYPTION_KEYS": "k",
           "JWT_SIGNING_KEYS": "k1:" + "j" * 40, "WEB_CONCURRENCY": "4", "METRICS_PUBLIC": "true"}
    with pytest.raises(ConfigError, match="several workers"):
        load(tmp_path, env=env)
    assert load(tmp_path, env={**env, "RATELIMIT_STORAGE_URI": "redis://r:6379/0"})["RATELIMIT_STORAGE_URI"]


def test_two_server_processes_share_one_redis_and_let_exactly_60_through(app_env, redis_url):
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # counters from another backend's run of this test
    app, _ = limited_app(app_env)
    _, raw = make_token(app)
    servers = [Gunicorn({**app_env, "RATELIMIT_STORAGE_URI": redis_url}) for _ in range(2)]
    try:
        for server in servers:
            server.wait()
        statuses = []
        with requests.Session() as session:
            for n in range(70):
                response = session.get(f"{servers[n % 2].url}{PATH}", headers=bearer(raw), timeout=10)
                statuses.append(response.status_code)
        assert statuses.count(200) == 60 and statuses.count(429) == 10
        assert statuses[:60] == [200] * 60
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(params=["memory", "redis"])
def storage(request):
    """The counters' storage: this process, or a real Redis shared by every worker."""
    if request.param == "memory":
        return "memory://"
    import redis

    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return url


def test_an_hourly_block_shows_in_the_three_headers_a_client_reads(app_env, storage):
    """A client that reads only the spec's three headers must see Remaining: 0 on a 429."""
    app, client = limited_app(app_env, API_RATE_LIMITS="100/minute;2/hour", RATELIMIT_STORAGE_URI=storage)
    _, raw = make_token(app)
    assert [client.get(PATH, headers=bearer(raw)).status_code for _ in range(2)] == [200, 200]
    for _ in range(2):  # refused twice: neither refusal is counted in the minute window
        refused = client.get(PATH, headers=bearer(raw))
        headers = refused.headers
        assert refused.status_code == 429
        assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("2", "0")
        assert headers["X-RateLimit-Reset"] == headers["X-RateLimit-Reset-Hour"]
        assert int(headers["X-RateLimit-Reset"]) - time.time() > 3000 and int(headers["Retry-After"]) > 3000
        assert (headers["X-RateLimit-Limit-Minute"], headers["X-RateLimit-Remaining-Minute"]) == ("100", "98")
        assert headers["X-RateLimit-Remaining-Hour"] == "0"


def test_a_minute_block_keeps_the_hour_headers_and_charges_no_window(app_env, storage):
    app, client = limited_app(app_env, API_RATE_LIMITS="2/minute;100/hour", RATELIMIT_STORAGE_URI=storage)
    _, raw = make_token(app)
    assert [client.get(PATH, headers=bearer(raw)).status_code for _ in range(2)] == [200, 200]
    for _ in range(3):
        refused = client.get(PATH, headers=bearer(raw))
        assert refused.status_code == 429 and refused.headers["X-RateLimit-Remaining"] == "0"
        assert (refused.headers["X-RateLimit-Limit-Hour"], refused.headers["X-RateLimit-Remaining-Hour"]) == ("100", "98")
        assert "X-RateLimit-Limit-Minute" not in refused.headers


def test_windows_count_a_request_only_when_every_window_has_room():
    """The counters alone, on a clock the test moves."""
    from webapp.machine.ratelimit import FixedWindows, LocalCounters

    now = [1_000_000.0]
    windows = FixedWindows(LocalCounters(clock=lambda: now[0]), "2/minute;3/hour", "test")
    assert [windows.hit("t").allowed for _ in range(3)] == [True, True, False]
    now[0] += 61  # a new minute: the hour has counted only the two that went through
    assert windows.hit("t").allowed
    refused = windows.hit("t")
    assert not refused.allowed and refused.blocking.limit.amount == 3
    assert [w.count for w in refused.windows] == [1, 3]  # nothing added for the refusal
    assert refused.headers()["X-RateLimit-Limit"] == "3" and refused.headers()["X-RateLimit-Remaining-Minute"] == "1"


def test_a_redis_that_lost_the_script_gets_it_again(app_env, redis_url):
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # token ids repeat between tests
    app, client = limited_app(app_env, RATELIMIT_STORAGE_URI=redis_url)
    _, raw = make_token(app)
    assert client.get(PATH, headers=bearer(raw)).status_code == 200
    redis.Redis.from_url(redis_url).script_flush()  # a restarted Redis without persistence
    response = client.get(PATH, headers=bearer(raw))
    assert response.status_code == 200 and response.headers["X-RateLimit-Remaining"] == "58"


def test_connections_redis_closed_are_replaced_without_failing_a_call(app_env, redis_url):
    """A restarted Redis (or a proxy's idle timeout) closes the connections the worker keeps."""
    import redis

    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    app, client = limited_app(app_env, RATELIMIT_STORAGE_URI=redis_url)
    _, raw = make_token(app)
    assert client.get(PATH, headers=bearer(raw)).status_code == 200
    assert store.client_kill_filter(_type="normal", skipme=True) >= 1  # the app's kept connection
    response = client.get(PATH, headers=bearer(raw))
    assert response.status_code == 200 and response.headers["X-RateLimit-Remaining"] == "58"


def test_a_call_that_timed_out_never_leaves_its_late_answer_to_the_next(app_env, redis_url):
    """The 2 s socket timeout fires while Redis is stuck; its answer arrives later on that
    connection, which must be dropped: reused, the next call would read the stale counts."""
    import threading

    import redis

    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    app, client = limited_app(app_env, RATELIMIT_STORAGE_URI=redis_url)
    _, raw = make_token(app)
    assert client.get(PATH, headers=bearer(raw)).headers["X-RateLimit-Remaining"] == "59"
    busy = ("local function now() local t = redis.call('TIME') return t[1] * 1e6 + t[2] end "
            "local start = now() while now() - start < 2.5e6 do end return 1")  # Redis runs nothing else meanwhile
    stuck = threading.Thread(target=lambda: redis.Redis.from_url(redis_url).eval(busy, 0))
    stuck.start()
    time.sleep(0.2)
    assert client.get(PATH, headers=bearer(raw)).status_code == 503
    stuck.join()
    time.sleep(0.2)  # the stuck call's answer (59 → 58) has reached the abandoned connection by now
    response = client.get(PATH, headers=bearer(raw))
    assert response.status_code == 200 and response.headers["X-RateLimit-Remaining"] == "57", response.headers


def test_a_counter_that_lost_its_expiry_gets_one_back(app_env, redis_url):
    """A key without a TTL (a manual SET, a restore) must not refuse its caller forever."""
    import redis

    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    app, client = limited_app(app_env, API_RATE_LIMITS="2/minute;100/hour", RATELIMIT_STORAGE_URI=redis_url)
    token_id, raw = make_token(app)
    key = f"api/API_RATE_LIMITS/{{{token_id}}}/2/60"
    store.set(key, 2)  # full, and no expiry
    refused = client.get(PATH, headers=bearer(raw))
    assert refused.status_code == 429 and 0 < store.pttl(key) <= 60_000
    assert 0 < int(refused.headers["Retry-After"]) <= 60


@pytest.mark.parametrize("uri", ["memcached://127.0.0.1:11211", "redis+cluster://r:6379", "mongodb://m/x"])
def test_a_rate_limit_store_the_api_cannot_use_is_refused_at_start(tmp_path, uri):
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI"):
        load(tmp_path, env={"RATELIMIT_STORAGE_URI": uri})
