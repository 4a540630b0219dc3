"""The tokens channels and carriers call in with: random, kept only as a hash and a prefix, and read
from an `Authorization: Bearer` header."""

import hashlib

import pytest
from rest_framework import exceptions
from rest_framework.test import APIRequestFactory

from core.tokens import bearer_token, make_token, token_hash, token_prefix


def request_with(header):
    return APIRequestFactory().get("/", **({"HTTP_AUTHORIZATION": header} if header is not None else {}))


def test_every_token_is_new_and_begins_as_asked():
    tokens = {make_token("oc_") for _index in range(50)}

    assert len(tokens) == 50
    assert all(token.startswith("oc_") and len(token) >= 3 + 43 for token in tokens)


def test_a_token_is_kept_as_its_sha256_and_its_first_eight_characters():
    token = make_token()

    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest() != token
    assert token_prefix(token) == token[:8]


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc-123", "abc-123"),
        ("bearer abc-123", "abc-123"),
        (None, None),
        ("Token abc-123", None),
        ("Bearer caf\u00e9", ""),
    ],
)
def test_the_bearer_token_is_read_from_the_authorization_header(header, token):
    assert bearer_token(request_with(header)) == token


@pytest.mark.parametrize("header", ["Bearer", "Bearer two parts"])
def test_a_bearer_header_without_exactly_one_token_is_refused_saying_how_to_send_it(header):
    with pytest.raises(exceptions.AuthenticationFailed) as refused:
        bearer_token(request_with(header))

    assert "Authorization: Bearer <token>" in str(refused.value.detail)
