"""``make demo``: the main job end to end, as a client app would do it, on real footage.

Starts the local stack unless one already answers on the edge, then: creates a video, uploads
``bigbuckbunny.mp4`` (``REELHOUSE_DEMO_MEDIA`` overrides) through the upload API with presigned
multipart parts, waits for READY, prints the signed playback URL, proves every rendition plays
through the edge (ffprobe decodes a segment of each) and that the URL with one character of its
signature changed is refused (403). Exits 0 on success, 1 otherwise. The stack keeps running
afterwards (so the printed playback URL plays); a second ``make demo`` reuses it; ``make down`` stops it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from stack import StackConfig, start  # noqa: E402


def tamper(url: str) -> str:
    """The same URL with one character of its signature (token) changed."""
    parts = url.split("/")
    i = parts.index("play") + 2
    tok = parts[i]
    parts[i] = tok[:10] + ("A" if tok[10] != "A" else "B") + tok[11:]
    return "/".join(parts)


def run(cfg: StackConfig, media: Path) -> int:
    """The client part of the demo; returns the exit code."""
    from reelhouse.client import ReelhouseClient, check_playback
    from reelhouse.platform.auth import issue_token
    from reelhouse.platform.settings import PlatformSettings

    token = issue_token("demo-user", PlatformSettings().jwt_secret)
    client = ReelhouseClient(cfg.edge_url, token)
    t0 = time.monotonic()
    video = client.create_video(f"Demo: {media.name}", media)
    print(f"demo: created video {video['id']} ({video['status']}, {media.stat().st_size} bytes)")
    up = client.upload_file(video["id"], media, on_part=lambda n, total: print(f"demo: uploaded part {n}/{total}"))
    print(f"demo: upload session {up.session_id} {up.final['status']}")
    t_uploaded = time.monotonic()
    last = [None]

    def show(v: dict) -> None:
        state = (v["status"], v.get("transcodeProgress"))
        if state != last[0]:
            last[0] = state
            pct = f" {v['transcodeProgress']:.0f}%" if v.get("transcodeProgress") is not None else ""
            print(f"demo: status {v['status']}{pct}")

    ready = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=600, on_poll=show)
    if ready["status"] != "READY":
        print(f"demo: FAILED: {ready.get('failReason')} {ready.get('failDetail')}", file=sys.stderr)
        return 1
    url = ready["playback"]["streamUrl"]
    print(f"demo: READY {time.monotonic() - t_uploaded:.1f}s after upload-complete ({time.monotonic() - t0:.1f}s in all)")
    print(f"demo: playback URL: {url}")
    checks = check_playback(url)
    for c in checks:
        print(f"demo: rendition {c.resolution[0]}x{c.resolution[1]} {c.bandwidth} b/s: {c.segments} segments, "
              f"segment decodes as {c.codec} {c.width}x{c.height} ({c.decoded_frames} frames) - plays")
    playback = client.playback(video["id"])
    print(f"demo: streaming API lists {len(playback['qualities'])} qualities; poster {playback.get('posterUrl') is not None}")
    bad = httpx.get(tamper(url), timeout=10)
    print(f"demo: the same URL with one signature character changed -> HTTP {bad.status_code}")
    if bad.status_code != 403 or len(checks) < 1:
        return 1
    print("demo: OK")
    print(url)
    return 0


def main() -> int:
    """Entry point of ``make demo``."""
    from reelhouse.testing import footage_dir

    media = Path(os.environ["REELHOUSE_DEMO_MEDIA"]) if os.environ.get("REELHOUSE_DEMO_MEDIA") else footage_dir() / "bigbuckbunny.mp4"
    if not media.exists():
        print(f"demo: {media} not found (set REELHOUSE_DEMO_MEDIA)", file=sys.stderr)
        return 1
    cfg = StackConfig.from_env()
    if start(cfg) != 0:
        print("demo: the stack did not become ready", file=sys.stderr)
        return 1
    code = run(cfg, media)
    print(f"demo: the stack keeps running: web {cfg.edge_url}/ | API {cfg.edge_url}/api/ | stop it with 'make down'")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
