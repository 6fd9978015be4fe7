"""Errors shaped as OAuth clients expect them: JSON bodies (RFC 6749 §5.2), even for a wrong HTTP method."""

from django.http import JsonResponse


class JsonMethodNotAllowedMixin:
    def http_method_not_allowed(self, request, *args, **kwargs):
        response = JsonResponse(
            {"error": "invalid_request", "error_description": f"{request.method} is not allowed here"}, status=405
        )
        response["Allow"] = ", ".join(self._allowed_methods())
        return response
