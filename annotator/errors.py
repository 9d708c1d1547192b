"""Domain errors: services raise them, the API maps each kind to one HTTP status."""


class DomainError(Exception):
    """Something a client asked for that the domain refuses; the message is for people."""


class NotFound(DomainError):
    """The thing asked for does not exist (404)."""


class Invalid(DomainError):
    """The request is well-formed but makes no sense here (400)."""


class Forbidden(DomainError):
    """This user may not do this (403)."""


class Conflict(DomainError):
    """The request clashes with the current state: someone else's lease, a stale edit (409)."""


class Unavailable(DomainError):
    """A service the request needs is down right now; try again later (503)."""
