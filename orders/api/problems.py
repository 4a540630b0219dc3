"""Every API error in one shape: RFC 9457 problem details (`application/problem+json`).

    {"type": "urn:ordercycle:problem:invalid", "title": "Invalid request", "status": 400,
     "detail": "Check the values listed in errors.",
     "errors": [{"pointer": "#/lines/1/sku", "detail": "Unknown SKU “X”."}]}

Each entry of `errors` names where the bad value is: `pointer` (a JSON Pointer into the request
body), `parameter` (a query parameter) or `header`."""

from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:ordercycle:problem:"

TITLES = {
    400: gettext_lazy("Invalid request"),
    401: gettext_lazy("Not authenticated"),
    403: gettext_lazy("Not allowed"),
    404: gettext_lazy("Not found"),
    405: gettext_lazy("Method not allowed"),
    406: gettext_lazy("Not acceptable"),
    409: gettext_lazy("Conflict"),
    413: gettext_lazy("Request too large"),
    415: gettext_lazy("Unsupported media type"),
    422: gettext_lazy("Unprocessable request"),
    429: gettext_lazy("Too many requests"),
    500: gettext_lazy("Server error"),
    503: gettext_lazy("Service unavailable"),
}
# How long a client waits before sending again a request the database connection failed.
RETRY_AFTER_CONNECTION_LOST = 2


class Problem(exceptions.APIException):
    """An error with its own problem type and, where it helps the client, extension members."""

    def __init__(self, status_code, code, detail, *, errors=None, **extensions):
        super().__init__(detail, code)
        self.status_code = status_code
        self.problem_code = code
        self.errors = errors or []
        self.extensions = extensions


def invalid_request(errors):
    """400 with each bad value located: [{"pointer" | "parameter" | "header": ..., "detail": ...}]."""
    return Problem(400, "invalid", _("Check the values listed in errors."), errors=errors)


def problem_body(status_code, code, detail, *, errors=None, **extensions):
    title = TITLES.get(status_code) or HTTPStatus(status_code).phrase
    body = {
        "type": TYPE_PREFIX + code.replace("_", "-"),
        "title": str(title),
        "status": status_code,
        "detail": str(detail),
    }
    if errors:
        body["errors"] = errors
    body.update(extensions)
    return body


def problem_response(status_code, body, headers=None):
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def json_pointer(*parts):
    """An RFC 6901 pointer, as a URI fragment, to a member of the request body."""
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return "#" + "".join("/" + part for part in escaped)


def body_errors(detail, path=()):
    """DRF's nested validation errors as one list of {pointer, detail}."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from body_errors(value, path if key in (NON_FIELD_ERRORS, "non_field_errors") else (*path, key))
    elif isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        for index, item in enumerate(detail):
            yield from body_errors(item, (*path, index))
    elif isinstance(detail, list):
        for message in detail:
            yield {"pointer": json_pointer(*path), "detail": str(message)}
    else:
        yield {"pointer": json_pointer(*path), "detail": str(detail)}


def field_pointer(field):
    return json_pointer() if field == NON_FIELD_ERRORS else json_pointer(field)


def service_errors(error, locate=field_pointer):
    """A service's ValidationError as {pointer, detail} entries; `locate` turns the service's field
    name into a pointer into the request body."""
    if not hasattr(error, "error_dict"):
        return [{"pointer": json_pointer(), "detail": message} for message in error.messages]
    return [
        {"pointer": locate(field), "detail": message}
        for field, messages in error.message_dict.items()
        for message in messages
    ]


def _as_api_exception(exc):
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*exc.args[:1])
    if isinstance(exc, DjangoValidationError):
        return invalid_request(service_errors(exc))
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The request's transaction died with its connection (docs/architecture.md, "Jobs"); the
        # retry under the same Idempotency-Key is carried out once, or answered as it went through.
        unavailable = Problem(
            503,
            "database_unavailable",
            _(
                "The connection to the database was lost while this request was carried out. Send it again "
                "with the same Idempotency-Key: it is carried out once, or answered as it was if it went through."
            ),
        )
        unavailable.wait = RETRY_AFTER_CONNECTION_LOST
        return unavailable
    if isinstance(exc, RequestDataTooBig):
        return Problem(
            413,
            "too_large",
            _("The body is larger than %(max)d bytes; send less at once.")
            % {"max": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
        )
    return exc


def problem_details_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: DRF's handling (status, Retry-After and
    WWW-Authenticate headers, transaction rollback) with the body in problem-details form."""
    exc = _as_api_exception(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, Problem):
        body = problem_body(response.status_code, exc.problem_code, exc.detail, errors=exc.errors, **exc.extensions)
    elif isinstance(exc, exceptions.ValidationError):
        body = problem_body(
            response.status_code,
            "invalid",
            _("Check the values listed in errors."),
            errors=list(body_errors(exc.detail)),
        )
    else:
        body = problem_body(response.status_code, exc.get_codes(), exc.detail)
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


class ProblemErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text=gettext_lazy("What is wrong with the value."))
    pointer = serializers.CharField(
        required=False,
        help_text=gettext_lazy("JSON Pointer to the bad member of the request body, e.g. #/lines/0/sku."),
    )
    parameter = serializers.CharField(required=False, help_text=gettext_lazy("The bad query parameter."))
    header = serializers.CharField(required=False, help_text=gettext_lazy("The bad request header."))


class ProblemSerializer(serializers.Serializer):
    """The body of every error response (RFC 9457), described for the OpenAPI schema."""

    type = serializers.CharField(
        help_text=gettext_lazy("What kind of problem, e.g. urn:ordercycle:problem:duplicate-order."),
    )
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = ProblemErrorSerializer(many=True, required=False)
    order_number = serializers.CharField(
        required=False, help_text=gettext_lazy("The order already placed under this channel order id (409).")
    )


PROBLEM_DESCRIPTIONS = {
    400: gettext_lazy("The request is not valid; `errors` lists each bad value."),
    401: gettext_lazy("No API token, or one that is not valid (any more)."),
    404: gettext_lazy("Not found (or not the channel's own)."),
    409: gettext_lazy("In conflict with what exists."),
    413: gettext_lazy("The body is larger than the server accepts."),
    415: gettext_lazy("The body must be JSON."),
    422: gettext_lazy("The Idempotency-Key was used before for another request."),
    429: gettext_lazy("Too many requests from this channel: wait as long as Retry-After says."),
}


def problem_responses(*status_codes):
    """The error responses of an operation, for the schema (extend_schema's `responses`)."""
    return {
        (status_code, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer,
            description=PROBLEM_DESCRIPTIONS[status_code],
        )
        for status_code in sorted(status_codes)
    }
