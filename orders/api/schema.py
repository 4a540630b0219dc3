from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_list_serializer
from rest_framework import serializers

from .problems import problem_responses


class RequestRulesAutoSchema(AutoSchema):
    """drf-spectacular's schema, stating in requests the limits the serializers enforce and it
    leaves out: a string that may not be blank has minLength 1, a list that may not be empty
    minItems 1, a list's max_length its maxItems (docs/architecture.md, "The channel API")."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and schema:
            _add_limits(field, schema)
        return schema

    def _unwrap_list_serializer(self, serializer, direction):
        schema = super()._unwrap_list_serializer(serializer, direction)
        if direction == "request" and schema:
            _add_limits(serializer, schema)
        return schema


# What DRF's DecimalField reads as an amount of zero or more, as the money fields are declared (12
# digits, 2 after the point); drf-spectacular's own pattern allows a sign and an empty string.
AMOUNT_PATTERN = r"^\d{1,%d}(\.\d{1,%d})?$"


def _add_limits(field, schema):
    if isinstance(field, serializers.DecimalField) and field.min_value is not None and field.min_value >= 0:
        places = field.decimal_places
        schema["pattern"] = AMOUNT_PATTERN % (field.max_digits - places, places)
    if isinstance(field, serializers.CharField) and not field.allow_blank and schema.get("type") == "string":
        schema.setdefault("minLength", 1)
    if is_list_serializer(field) or isinstance(field, serializers.ListField):
        if not field.allow_empty:
            schema.setdefault("minItems", 1)
        if field.min_length:
            schema["minItems"] = field.min_length
        if field.max_length:
            schema["maxItems"] = field.max_length


class ChannelAutoSchema(RequestRulesAutoSchema):
    """The channel endpoints' schema, with each operation's error responses (problem details)
    added: those the view lists for the action in `problem_statuses`, and 401 and 429 everywhere.
    A query parameter that takes text takes at least one character: an empty one is refused."""

    def get_tags(self):
        # /api/v1/orders/... is tagged "orders", not with the version.
        return self._tokenize_path()[1:2]

    def get_response_serializers(self):
        success = super().get_response_serializers()
        status_code = 201 if self._is_create_operation() else 200
        problems = self.view.problem_statuses.get(self.view.action, ())
        return {status_code: success, **problem_responses(*problems, 401, 429)}

    def _get_filter_parameters(self):
        parameters = super()._get_filter_parameters()
        for parameter in parameters:
            schema = parameter.get("schema", {})
            values = schema.get("items", schema)
            if values.get("type") == "string" and "enum" not in values:
                values.setdefault("minLength", 1)
            if schema.get("type") == "array":
                schema.setdefault("minItems", 1)
            if parameter.get("explode") is False and values.get("type") == "string":
                # The values travel separated by commas, so none can hold one.
                values.setdefault("pattern", "^[^,]+$")
        return parameters
