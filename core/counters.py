"""Counters that every app server shares and that never lose a count under concurrency: the
channel API's rate limit counts with them (docs/architecture.md, "The channel API").

With Redis as the default cache (REDIS_URL set) a count is Redis's own atomic INCR. Otherwise it is
one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` statement on a row of `RateCount`, which
PostgreSQL and SQLite both run atomically: two counts at once wait for each other on the row
instead of both reading the same value, as a read-then-write through a cache would."""

import math
from datetime import timedelta

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.utils import timezone

from .models import RateCount


def counts_in_redis() -> bool:
    """Whether the counters live in Redis (the default cache is Redis) or in the database."""
    return isinstance(caches["default"], RedisCache)


def increment(key: str, *, expires_in: float) -> int:
    """Count once more under `key` and return the count so far: 1 the first time, and again 1 once
    `expires_in` seconds have passed since that first count."""
    if counts_in_redis():
        return _increment_in_redis(key, math.ceil(expires_in))
    return _increment_in_database(key, expires_in)


def _increment_in_redis(key, timeout):
    redis_cache = caches["default"]
    while True:
        # `add` sets the key with its expiry only when it is missing; `incr` raises ValueError when
        # the key expired between the two, and the next round starts it again.
        redis_cache.add(key, 0, timeout)
        try:
            return redis_cache.incr(key)
        except ValueError:
            continue


def _increment_in_database(key, expires_in):
    now = timezone.now()
    table = connection.ops.quote_name(RateCount._meta.db_table)
    key_column, count_column, expires_column = (
        connection.ops.quote_name(name) for name in ("key", "count", "expires_at")
    )
    moment = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_column}, {count_column}, {expires_column}) VALUES (%s, 1, %s) "
            f"ON CONFLICT ({key_column}) DO UPDATE SET "
            f"{count_column} = CASE WHEN {table}.{expires_column} > %s THEN {table}.{count_column} + 1 ELSE 1 END, "
            f"{expires_column} = CASE WHEN {table}.{expires_column} > %s "
            f"THEN {table}.{expires_column} ELSE excluded.{expires_column} END "
            f"RETURNING {count_column}",
            [key, moment(now + timedelta(seconds=expires_in)), moment(now), moment(now)],
        )
        (count,) = cursor.fetchone()
    if count == 1:
        # A new period has begun for this key: the rows of periods that are over go, so the table
        # holds about one row per key in use.
        RateCount.objects.filter(expires_at__lte=now).delete()
    return count
