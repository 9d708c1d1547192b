from django.contrib.auth import views as auth_views

from annotator.accounts.forms import ThrottledAuthenticationForm


class LoginView(auth_views.LoginView):
    """The site's sign-in page, throttled per username and per client address."""

    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True
