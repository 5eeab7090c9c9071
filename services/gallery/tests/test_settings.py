"""The dev sign-in endpoint mints a token for any user: outside dev mode the gallery refuses to start with
it on (issue 10 item 6; docs/security.md)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from reelhouse.gallery.main import build_service
from reelhouse.gallery.settings import GallerySettings
from reelhouse.platform.runtime import create_app
from reelhouse.platform.settings import InsecureSettings

pytestmark = pytest.mark.unit

OWN = {"jwt_secret": "j" * 48, "playback_signing_secret": "p" * 48, "s3_access_key": "AKIAEXAMPLE", "s3_secret_key": "s" * 40}


def test_the_dev_token_endpoint_refuses_to_start_outside_dev():
    settings = GallerySettings(env="production", dev_token_endpoint=True, **OWN)
    with pytest.raises(InsecureSettings) as caught, TestClient(create_app(build_service(settings))):
        pass
    assert caught.value.variables == ["REELHOUSE_DEV_TOKEN_ENDPOINT"]
    GallerySettings(env="production", **OWN).check_secrets()
    GallerySettings(env="dev", dev_token_endpoint=True).check_secrets()
