"""Domain errors become 4xx answers with a plain message, never a 500."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotator.labeling import LeaseConflict, SliceNotFound

DOMAIN_ERRORS = {
    SliceNotFound: (status.HTTP_404_NOT_FOUND, "no such slice"),
    LeaseConflict: (status.HTTP_409_CONFLICT, None),
}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    for kind, (code, message) in DOMAIN_ERRORS.items():
        if isinstance(exc, kind):
            return Response({"detail": message or str(exc)}, status=code)
    return drf_exception_handler(exc, context)
