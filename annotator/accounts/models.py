"""Failed sign-ins, kept in the database so that every web process sees the same count."""

from django.db import models
from django.utils import timezone


class LoginFailure(models.Model):
    """One failed sign-in: the username as typed and the client address it came from."""

    username = models.CharField(max_length=150, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["address", "at"], name="accounts_loginfail_addr_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} from {self.address or '?'}"
