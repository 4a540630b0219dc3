from drf_spectacular.openapi import AutoSchema

from .problems import problem_responses


class ChannelAutoSchema(AutoSchema):
    """drf-spectacular's schema with each operation's error responses (problem details) added:
    those the view lists for the action in `problem_statuses`, and 401 and 429 everywhere."""

    def get_tags(self):
        # /api/v1/orders/... is tagged "orders", not with the version.
        return self._tokenize_path()[1:2]

    def get_response_serializers(self):
        success = super().get_response_serializers()
        status_code = 201 if self._is_create_operation() else 200
        problems = self.view.problem_statuses.get(self.view.action, ())
        return {status_code: success, **problem_responses(*problems, 401, 429)}
