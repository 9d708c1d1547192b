"""Production mode (DEBUG off, HTTPS on) passes Django's deployment checklist."""

import subprocess
import sys

from django.conf import settings


def check_deploy(tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DACHS_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_with_https_on_the_deploy_check_reports_nothing(tmp_path):
    result = check_deploy(tmp_path, DEBUG="false", DACHS_HTTPS="true")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_without_https_the_deploy_check_warns_about_cookies_and_hsts(tmp_path):
    result = check_deploy(tmp_path, DEBUG="false")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W012", "security.W016"):
        assert warning in result.stderr
