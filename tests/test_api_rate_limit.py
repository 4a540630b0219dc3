"""The channel API's rate limit holds under concurrency: its counter is atomic, in Redis when the
default cache is Redis (REDIS_URL) and in the database otherwise (docs/architecture.md, "The
channel API"). Each test runs both ways; the Redis ones fail in CI when Redis cannot be reached."""

import threading
import uuid

import pytest
import redis
from django.db import connections
from rest_framework.test import APIClient

from core import counters
from core.actors import SYSTEM
from core.models import RateCount
from orders import services as orders
from orders.api.throttling import ChannelRateThrottle
from tests.conftest import TEST_REDIS_URL
from tests.factories import ChannelFactory

ORDERS = "/api/v1/orders/"
CLIENTS = 8
REQUESTS_EACH = 25
LIMIT = 60
JOIN_TIMEOUT = 120


@pytest.fixture
def database_counter(settings):
    """The counter in the database, as without REDIS_URL (the database cache is not Redis)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "ordercycle_cache"}
    }
    assert not counters.counts_in_redis()


@pytest.fixture
def redis_counter(settings):
    """The counter in Redis (TEST_REDIS_URL), under a key prefix of this test alone, whose keys are
    removed afterwards: the database may be shared with other runs, so it is never flushed."""
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": TEST_REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    assert counters.counts_in_redis()
    yield
    client = redis.Redis.from_url(TEST_REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


BOTH_WAYS = [
    pytest.param("database_counter", id="database"),
    pytest.param("redis_counter", id="redis", marks=pytest.mark.redis),
]


@pytest.mark.django_db
@pytest.mark.parametrize("counter", BOTH_WAYS)
def test_a_counter_counts_each_key_on_its_own(request, counter):
    request.getfixturevalue(counter)
    key, other = f"k-{uuid.uuid4().hex}", f"k-{uuid.uuid4().hex}"

    counted = [counters.increment(key, expires_in=60) for _ in range(3)]

    assert counted == [1, 2, 3]
    assert counters.increment(other, expires_in=60) == 1


@pytest.mark.django_db
def test_an_expired_database_count_starts_again_and_old_rows_are_removed(database_counter):
    counters.increment("gone", expires_in=60)
    counters.increment("kept", expires_in=600)
    RateCount.objects.filter(key="gone").update(
        expires_at=RateCount.objects.get(key="gone").expires_at.replace(year=2000)
    )

    assert counters.increment("gone", expires_in=60) == 1
    counters.increment("new", expires_in=60)

    assert set(RateCount.objects.values_list("key", flat=True)) == {"gone", "kept", "new"}
    RateCount.objects.filter(key="gone").update(
        expires_at=RateCount.objects.get(key="gone").expires_at.replace(year=2000)
    )
    counters.increment("newer", expires_in=60)
    assert set(RateCount.objects.values_list("key", flat=True)) == {"kept", "new", "newer"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("counter", BOTH_WAYS)
def test_many_clients_at_once_get_exactly_the_limit(request, counter, settings, monkeypatch):
    """8 clients of one channel send 200 requests at once against a limit of 60 per minute, all
    in one minute: 60 are answered, every other one is refused, and no count is lost."""
    request.getfixturevalue(counter)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"channel": f"{LIMIT}/minute"}}
    # Ten seconds into a minute, whatever the clock says: every request falls in one window.
    monkeypatch.setattr(ChannelRateThrottle, "timer", lambda self: 1_699_999_990.0)
    channel = ChannelFactory()
    secret = orders.issue_token(channel.pk, actor=SYSTEM).secret
    barrier = threading.Barrier(CLIENTS)
    answers = [[] for _ in range(CLIENTS)]

    def client(index):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        try:
            barrier.wait(JOIN_TIMEOUT)
            for _ in range(REQUESTS_EACH):
                answers[index].append(api.get(ORDERS).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)

    assert not any(thread.is_alive() for thread in threads)
    statuses = [status for each in answers for status in each]
    assert len(statuses) == CLIENTS * REQUESTS_EACH
    assert statuses.count(200) == LIMIT
    assert statuses.count(429) == CLIENTS * REQUESTS_EACH - LIMIT
    window = int(1_699_999_990 // 60)
    assert counters.increment(f"throttle:channel:{channel.pk}:{window}", expires_in=60) == CLIENTS * REQUESTS_EACH + 1
