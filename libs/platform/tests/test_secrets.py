"""Development secrets are accepted only in dev mode (issue 10 item 6; docs/security.md): a service whose
secrets are missing or still the published development values refuses to start unless REELHOUSE_ENV=dev."""

from __future__ import annotations

import pytest

from reelhouse.platform.settings import InsecureSettings, PlatformSettings

pytestmark = pytest.mark.unit

OWN = {
    "jwt_secret": "j" * 48,
    "playback_signing_secret": "p" * 48,
    "s3_access_key": "AKIAEXAMPLE",
    "s3_secret_key": "s" * 40,
}


def test_outside_dev_every_dev_default_is_refused_by_name():
    with pytest.raises(InsecureSettings) as caught:
        PlatformSettings(env="production").check_secrets()
    assert caught.value.variables == [
        "REELHOUSE_JWT_SECRET", "REELHOUSE_PLAYBACK_SIGNING_SECRET", "REELHOUSE_S3_ACCESS_KEY", "REELHOUSE_S3_SECRET_KEY",
    ]  # fmt: skip


def test_an_empty_secret_is_refused_too():
    with pytest.raises(InsecureSettings) as caught:
        PlatformSettings(env="production", **{**OWN, "jwt_secret": ""}).check_secrets()
    assert caught.value.variables == ["REELHOUSE_JWT_SECRET"]


def test_own_secrets_pass_and_dev_mode_accepts_the_defaults():
    PlatformSettings(env="production", **OWN).check_secrets()
    PlatformSettings(env="dev").check_secrets()
    PlatformSettings(env="DEV").check_secrets()


def test_the_environment_variable_selects_the_mode(monkeypatch):
    monkeypatch.setenv("REELHOUSE_ENV", "production")
    with pytest.raises(InsecureSettings):
        PlatformSettings().check_secrets()
    monkeypatch.setenv("REELHOUSE_ENV", "dev")
    PlatformSettings().check_secrets()
