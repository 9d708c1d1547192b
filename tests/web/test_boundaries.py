"""The web process stays light: loading every URL and view leaves torch unimported."""

import subprocess
import sys

from django.conf import settings

PROBE = """
import sys
import django
django.setup()
from django.urls import get_resolver

def walk(patterns):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            yield from walk(pattern.url_patterns)
        else:
            yield pattern.callback

callbacks = list(walk(get_resolver().url_patterns))
for callback in callbacks:
    __import__(callback.__module__)
import annotator.wsgi  # noqa: F401
assert len(callbacks) > 10, callbacks
print("torch" in sys.modules, len(callbacks))
"""


def test_loading_the_urlconf_and_every_view_leaves_torch_unimported(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=settings.BASE_DIR,
        env={
            "DJANGO_SETTINGS_MODULE": "annotator.settings",
            "DACHS_DATA_DIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    torch_loaded, views = result.stdout.split()
    assert torch_loaded == "False", "a view module imports torch (directly or through ml/)"
    assert int(views) > 10
