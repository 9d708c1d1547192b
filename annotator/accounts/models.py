"""Failed sign-ins (kept in the database so that every web process sees the same count), and
each user's labeling preferences."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
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


class Preferences(models.Model):
    """How one vet likes the labeling page; a row appears the first time they change it."""

    class ShowGuess(models.TextChoices):
        # Against anchoring: the model's guess appears once the vet has chosen a finding.
        AFTER = "after", "After I have chosen"
        AT_ONCE = "at_once", "At once"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    # A finding key submits that single finding at once, instead of toggling it for Enter.
    one_key_mode = models.BooleanField(default=False)
    show_guess = models.CharField(max_length=8, choices=ShowGuess.choices, default="after")

    def __str__(self) -> str:
        return f"preferences of user {self.user_id}"

    @classmethod
    def of(cls, user: AbstractBaseUser) -> "Preferences":
        """The user's preferences, unsaved defaults when they never changed any."""
        return cls.objects.filter(user_id=user.pk).first() or cls(user_id=user.pk)
