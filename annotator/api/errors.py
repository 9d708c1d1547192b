"""Domain errors become 4xx/503 answers with a plain message, in one place; never a 500."""

from django.http import Http404
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotator.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unavailable

STATUS = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Invalid: status.HTTP_400_BAD_REQUEST,
    Forbidden: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
    Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        code = next((c for kind, c in STATUS.items() if isinstance(exc, kind)), 400)
        return Response({"detail": str(exc)}, status=code)
    if isinstance(exc, Http404):
        return Response({"detail": str(exc) or "not found"}, status=status.HTTP_404_NOT_FOUND)
    return drf_exception_handler(exc, context)
