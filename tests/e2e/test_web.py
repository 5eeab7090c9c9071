"""The web app (frontend/, issue 12) in a real browser against the e2e stack: Debian's Chromium driven
by Playwright (frontend/e2e/*.spec.ts) through the edge, which serves the built app at ``/``.

The spec signs in on the dev sign-in page, uploads the bundled clip through the upload page (the
progress bar reaches 100 %), sees its card turn READY without a reload, plays it past 2 s, switches the
quality menu to another rendition and sees the picture height change, and checks that a second user
can neither list nor open the private video. A second spec pauses an upload of a 3-part file after
part 1, reloads the page, resumes the same session sending only parts 2 and 3, and sees the FAILED
reason in words with a Retry button (the file is not a video). A third creates a stream on
/streams/create, reads the RTMP URL and revealed key on the broadcast page, pushes the clip with
ffmpeg, plays it live (playback goes on across the page's re-reads of re-signed URLs), chats between
two browser contexts, deletes a message for the other, moderates a second user (timeout, lift, slow
mode, moderator, ban), ends the stream, opens the recording and sees the stream's thumbnail on its card.
The detail page's seek bar shows storyboard tiles on hover and seeks from the keyboard.
Screenshots of the routes land in
``frontend/e2e-artifacts/`` (not committed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from reelhouse.testing import footage_dir

pytestmark = pytest.mark.e2e

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


def _npm(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["npm", *args], cwd=FRONTEND, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def web_app(stack) -> str:
    """The stack's edge URL once it serves the built web app (built here when ``frontend/dist`` lacks it)."""
    assert shutil.which("npm"), "Node.js/npm missing: run deploy/local/setup.sh"
    assert (FRONTEND / "node_modules").exists(), "frontend/node_modules missing: run deploy/local/setup.sh (npm ci)"
    if not (FRONTEND / "dist" / "index.html").exists():
        built = _npm("run", "-s", "build")
        assert built.returncode == 0, built.stdout + built.stderr
    page = httpx.get(stack["edge"] + "/videos/upload", timeout=10)
    assert page.status_code == 200 and '<div id="root">' in page.text, "the edge does not serve the web app (SPA fallback)"
    return stack["edge"]


def test_web_app_main_job_in_chromium(web_app):
    artifacts = FRONTEND / "e2e-artifacts"
    artifacts.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "REELHOUSE_WEB_URL": web_app,
        "REELHOUSE_E2E_CLIP": str(footage_dir() / "bigbuckbunny.mp4"),
        "REELHOUSE_E2E_ARTIFACTS": str(artifacts),
    }
    run = _npm("exec", "--", "playwright", "test", "--reporter=line", env=env, timeout=900)
    assert run.returncode == 0, f"browser test failed:\n{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
    shots = {p.name for p in artifacts.glob("*.png")}
    assert {"signin.png", "videos-upload.png", "videos-ready.png", "video-detail.png", "video-failed.png", "stream-broadcast.png", "stream-watch-375px.png", "streams.png", "video-scrub.png", "stream-moderation.png"} <= shots, shots


def test_edge_serves_the_app_for_unknown_paths_and_keeps_api_routes(web_app):
    deep = httpx.get(web_app + "/videos/00000000-0000-0000-0000-000000000000", timeout=10)
    assert deep.status_code == 200 and '<div id="root">' in deep.text
    api = httpx.get(web_app + "/api/nope", timeout=10)
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/problem+json")
    token = httpx.post(web_app + "/api/dev/token", json={"userId": "web-check"}, timeout=10)
    assert token.status_code == 200 and token.json()["userId"] == "web-check"
    listing = httpx.get(web_app + "/api/videos", headers={"Authorization": f"Bearer {token.json()['accessToken']}"}, timeout=10)
    assert listing.status_code == 200 and "items" in listing.json()
