"""Idempotency-Key: a channel's request is carried out once per key, and its retries are given the
first answer again.

The first request under a key inserts the key's row and keeps its transaction open while it does
the work, then stores the answer in that row and commits. A retry that arrives meanwhile inserts
the same key: PostgreSQL makes that insert wait on the unique constraint until the first
transaction ends. If the first committed, the retry's insert fails, and it reads (and locks) the
stored answer; if the first failed, its row is gone with it and the retry does the work itself.
So however many retries arrive at once, exactly one does the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from .. import locks
from ..models import Channel, IdempotencyRecord


class IdempotencyKeyReused(Exception):
    """The key was used before for a request with another body."""


@dataclass(frozen=True)
class KeptResponse:
    status_code: int
    body: object
    replayed: bool


@transaction.atomic
def respond_once(channel: Channel, key: str, fingerprint: str, respond: Callable[[], tuple[int, Any]]) -> KeptResponse:
    """The answer to the channel's request under `key`: the stored one if a request with this key
    was answered before, else `respond()`'s (status_code, JSON-ready body), stored with the key.
    `fingerprint` identifies the request's content; another content under a used key raises
    IdempotencyKeyReused. When `respond` raises, nothing is kept and the key stays free."""
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(channel=channel, key=key, request_fingerprint=fingerprint)
    except IntegrityError:
        record = locks.lock_idempotency_record(channel, key)
        if record.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused from None
        return KeptResponse(record.status_code, record.response_body, replayed=True)
    status_code, body = respond()
    record.status_code, record.response_body = status_code, body
    record.save(update_fields=["status_code", "response_body"])
    return KeptResponse(status_code, body, replayed=False)
