"""The streaming service refuses to start on a missing or development live secret outside dev mode
(issue 10 item 6; docs/security.md): the RTMP callbacks can no longer run with an empty token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from reelhouse.platform.runtime import create_app
from reelhouse.platform.settings import InsecureSettings
from reelhouse.streaming.main import build_service
from reelhouse.streaming.settings import StreamingSettings

pytestmark = pytest.mark.unit

OWN = {"jwt_secret": "j" * 48, "playback_signing_secret": "p" * 48, "s3_access_key": "AKIAEXAMPLE", "s3_secret_key": "s" * 40}
LIVE = {"stream_key_secret": "k" * 48, "stream_key_pepper": "q" * 48, "rtmp_callback_token": "t" * 48}


def test_the_streaming_service_refuses_to_start_on_its_dev_live_secrets():
    settings = StreamingSettings(env="production", **OWN, **{**LIVE, "rtmp_callback_token": ""})
    with pytest.raises(InsecureSettings) as caught, TestClient(create_app(build_service(settings))):
        pass
    assert caught.value.variables == ["REELHOUSE_RTMP_CALLBACK_TOKEN"]
    # a development machine says so explicitly
    assert StreamingSettings(env="dev", **OWN, **{**LIVE, "rtmp_callback_token": ""}).insecure_secrets() == [
        "REELHOUSE_RTMP_CALLBACK_TOKEN"
    ]


def test_dev_live_defaults_are_refused_by_name_outside_dev():
    with pytest.raises(InsecureSettings) as caught:
        StreamingSettings(env="production", **OWN).check_secrets()
    assert caught.value.variables == [
        "REELHOUSE_STREAM_KEY_SECRET", "REELHOUSE_STREAM_KEY_PEPPER", "REELHOUSE_RTMP_CALLBACK_TOKEN",
    ]  # fmt: skip
    StreamingSettings(env="production", **OWN, **LIVE).check_secrets()
