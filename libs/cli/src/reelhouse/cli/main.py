"""``reelhouse``: the command line of the Reelhouse API for creators and integrators (docs/cli.md).

Commands: ``login`` / ``logout``; ``upload FILE...`` (parallel, resumable, one progress bar per file,
``--wait`` until READY); ``videos ls|show|rm|retry``; ``watch ID``; ``live ls|show|create|key|start|stop``;
``chat tail STREAM``. Listing and show commands take ``--json`` (the API's own JSON, camelCase).

Errors: an API refusal (RFC 9457 problem+json, docs/api.md "Conventions") is printed in words with its
stable ``code`` and HTTP status on stderr and the exit code is 1; an unreachable API also exits 1; a
usage error exits 2 (Typer); an interrupted upload exits 130 after saying how to resume.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from reelhouse.cli.config import Config, edge_url, resolve_api_url, resolve_token
from reelhouse.cli.state import UploadState
from reelhouse.cli.uploader import Interrupted, StorageError, Uploader
from reelhouse.client import ApiError, ReelhouseClient

app = typer.Typer(help="Reelhouse from the command line: upload and manage videos, live streams and chat.", no_args_is_help=True, pretty_exceptions_enable=False)
videos_app = typer.Typer(help="List, show, delete and retry videos.", no_args_is_help=True)
live_app = typer.Typer(help="Live streams: create, show the stream key, start and stop.", no_args_is_help=True)
chat_app = typer.Typer(help="Live chat.", no_args_is_help=True)
app.add_typer(videos_app, name="videos")
app.add_typer(live_app, name="live")
app.add_typer(chat_app, name="chat")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

ApiOpt = Annotated[str | None, typer.Option("--api", help="API base URL (env REELHOUSE_API_URL; default the stored one, else http://127.0.0.1:8080/api).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (the API's fields) instead of a table.")]

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
FINAL_STATES = ("READY", "FAILED")

F = TypeVar("F", bound=Callable[..., Any])


class CliError(Exception):
    """An error to print as one line on stderr (exit code ``code``)."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def describe_problem(exc: ApiError) -> str:
    """One line for a problem+json answer: ``title: detail (CODE, HTTP status)`` plus field errors."""
    body = exc.body or {}
    title = body.get("title") or "request refused"
    detail = body.get("detail")
    text = f"{title}: {detail}" if detail and detail != title else title
    return f"{text} ({exc.code or 'NO_CODE'}, HTTP {exc.status})"


def handles_errors(fn: F) -> F:
    """Turn API, network and CLI errors of a command into one line on stderr and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        try:
            return fn(*args, **kwargs)
        except ApiError as exc:
            err.print(f"[red]Error:[/red] {describe_problem(exc)}")
            raise typer.Exit(EXIT_ERROR) from None
        except StorageError as exc:
            err.print(f"[red]Error:[/red] {exc}")
            raise typer.Exit(EXIT_ERROR) from None
        except httpx.TransportError as exc:
            url = getattr(getattr(exc, "request", None), "url", None) if _has_request(exc) else None
            err.print(f"[red]Error:[/red] cannot reach {url or 'the API'}: {exc or type(exc).__name__}")
            raise typer.Exit(EXIT_ERROR) from None
        except CliError as exc:
            err.print(f"[red]Error:[/red] {exc}")
            raise typer.Exit(exc.code) from None
        except BrokenPipeError:  # `reelhouse videos ls --json | head`: the reader left, stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(EXIT_ERROR) from None
        except OSError as exc:  # a file that cannot be read, a socket error outside httpx
            err.print(f"[red]Error:[/red] {exc}")
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - raises RuntimeError when the error has no request
    except RuntimeError:
        return False
    return True


def connect(api: str | None, need_token: bool = True) -> tuple[ReelhouseClient, str]:
    """A client for the resolved API URL and token; CliError when signed out and a token is needed."""
    config = Config.load()
    api_url = resolve_api_url(api, config)
    token = resolve_token(config)
    if need_token and not token:
        raise CliError("not signed in: run `reelhouse login` (or set REELHOUSE_TOKEN)")
    return ReelhouseClient(edge_url(api_url), token or ""), api_url


def print_json(data: Any) -> None:  # noqa: ANN401
    """JSON on stdout, one document."""
    out.print_json(json.dumps(data), highlight=False) if out.is_terminal else print(json.dumps(data, indent=2))


def _token_subject(token: str) -> str | None:
    """The ``sub`` claim of a JWT, read without verification (only to say who signed in)."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("sub")
    except (IndexError, ValueError):
        return None


# --- sign-in -----------------------------------------------------------------------------------------


@app.command()
@handles_errors
def login(
    api: ApiOpt = None,
    token: Annotated[str | None, typer.Option("--token", help="The bearer token; without it, read from stdin.", show_default=False)] = None,
    dev: Annotated[str | None, typer.Option("--dev", metavar="USER", help="Local stack only: sign in as USER with the dev sign-in endpoint (POST /api/dev/token).", show_default=False)] = None,
) -> None:
    """Store a bearer token (and the API URL) in the user's config dir, readable only by you (0600)."""
    config = Config.load()
    api_url = resolve_api_url(api, config)
    if dev and token:
        raise CliError("give --token or --dev, not both", code=2)
    if dev:
        with ReelhouseClient(edge_url(api_url), "") as client:
            client.http.headers.pop("Authorization", None)
            try:
                token = client.request("POST", "/api/dev/token", json={"userId": dev})["accessToken"]
            except ApiError as exc:
                if exc.status in (404, 405):
                    raise CliError(f"{api_url} has no dev sign-in (only the local stack does): use --token") from exc
                raise
    elif token is None:
        token = typer.prompt("Token", hide_input=True) if sys.stdin.isatty() else sys.stdin.read()
    token = (token or "").strip()
    if not token:
        raise CliError("no token given")
    with ReelhouseClient(edge_url(api_url), token) as client:
        client.request("GET", "/api/videos", params={"limit": 1, "owner": "me"})  # 401 when the token is refused
    config = Config(api_url=api_url, token=token, user_id=_token_subject(token))
    path = config.save()
    err.print(f"Signed in as [bold]{config.user_id or 'unknown user'}[/bold] at {api_url} (token stored in {path})")


@app.command()
def logout() -> None:
    """Forget the stored token (the API URL stays)."""
    config = Config.load()
    config.token = None
    config.user_id = None
    config.save()
    err.print("Signed out.")


# --- upload ------------------------------------------------------------------------------------------


def _on_sigterm(signum: int, frame: Any) -> None:  # noqa: ANN401, ARG001
    raise KeyboardInterrupt


@app.command()
@handles_errors
def upload(
    files: Annotated[list[Path], typer.Argument(help="Video files (MP4, MOV, 3GP, AVI, WMV; up to 1.5 GiB each).", exists=True, dir_okay=False, readable=True)],
    title: Annotated[str | None, typer.Option("--title", help="Title (default: the file name without extension; with several files, each gets this title).", show_default=False)] = None,
    public: Annotated[bool, typer.Option("--public", help="Make the videos public (default private).")] = False,
    wait_ready: Annotated[bool, typer.Option("--wait", help="Wait until each video is READY (or FAILED) and print its playback URL.")] = False,
    parallel: Annotated[int, typer.Option("--parallel", "-j", min=1, max=32, help="Parts sent at once per file.")] = 4,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="With --wait: seconds to wait per video.")] = 3600,
    as_json: JsonOpt = False,
    api: ApiOpt = None,
) -> None:
    """Upload files with parallel parts; run the same command again to resume after Ctrl-C or a kill."""
    client, api_url = connect(api)
    stop = threading.Event()
    uploader = Uploader(client, api_url, UploadState(), parallel=parallel, stop=stop)
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if threading.current_thread() is threading.main_thread() else None
    results: list[dict] = []
    failed = False
    try:
        prepared = [uploader.prepare(p, title, public) for p in files]
        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=False, disable=as_json) as progress:
            tasks = [progress.add_task(p.path.name, total=p.ident.size, completed=p.stored_bytes) for p in prepared]
            for up, task in zip(prepared, tasks, strict=True):
                if up.resumed and up.stored:
                    progress.console.print(f"{up.path.name}: resuming, {len(up.stored)} of {up.total_parts} parts already stored")
                outcome = uploader.send(up, on_bytes=functools.partial(progress.advance, task))
                progress.update(task, completed=up.ident.size)
                results.append(outcome.as_json())
        for r in results:
            if not as_json:
                out.print(f"{r['path']}: uploaded as video {r['videoId']} ({len(r['partsSent'])} of {r['totalParts']} parts sent by this run)")
            if wait_ready:
                video = _wait(client, r["videoId"], timeout, quiet=as_json)
                r["video"] = video
                failed |= video["status"] != "READY"
    except KeyboardInterrupt:
        stop.set()
        raise CliError("interrupted: the parts stored so far are kept; run the same command again to resume", EXIT_INTERRUPTED) from None
    except Interrupted as exc:
        raise CliError(f"interrupted ({exc}); run the same command again to resume", EXIT_INTERRUPTED) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        uploader.close()
        client.close()
    if as_json:
        print_json(results)
    if failed:
        raise typer.Exit(EXIT_ERROR)


# --- videos ------------------------------------------------------------------------------------------


def _percent(video: dict) -> str:
    p = video.get("transcodeProgress")
    return f"{p:.0f}%" if isinstance(p, int | float) and video.get("status") == "TRANSCODING" else ""


@videos_app.command("ls")
@handles_errors
def videos_ls(
    status: Annotated[str | None, typer.Option("--status", help="Only this status (DRAFT, UPLOADING, UPLOADED, TRANSCODING, READY, FAILED).", show_default=False)] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only your videos (default: yours and public ones).")] = False,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Full-text search in title and description.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many videos at most.")] = 20,
    as_json: JsonOpt = False,
    api: ApiOpt = None,
) -> None:
    """List videos, newest first."""
    client, _ = connect(api)
    items: list[dict] = []
    cursor = None
    with client:
        while len(items) < limit:
            params = {"limit": min(100, limit - len(items)), "cursor": cursor, "status": status.upper() if status else None, "q": query, "owner": "me" if mine else None}
            page = client.request("GET", "/api/videos", params={k: v for k, v in params.items() if v is not None})
            items.extend(page["items"])
            cursor = page.get("nextCursor")
            if not cursor:
                break
    if as_json:
        print_json(items)
        return
    table = Table("ID", "TITLE", "STATUS", "VISIBILITY", "DURATION", "CREATED", box=None, pad_edge=False)
    for v in items:
        dur = v.get("durationSeconds")
        table.add_row(v["id"], escape(v["title"]), f"{v['status']} {_percent(v)}".strip(), v.get("visibility", ""), f"{dur:.1f}s" if dur else "", v["createdAt"][:19].replace("T", " "))
    out.print(table)
    if not items:
        err.print("No videos.")


@videos_app.command("show")
@handles_errors
def videos_show(video_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOpt = False, api: ApiOpt = None) -> None:
    """Show one video: status, progress, source, renditions and (when READY) its signed playback URL."""
    client, _ = connect(api)
    with client:
        video = client.get_video(video_id)
    if as_json:
        print_json(video)
        return
    rows = [
        ("id", video["id"]),
        ("title", video["title"]),
        ("status", f"{video['status']} {_percent(video)}".strip()),
        ("visibility", video.get("visibility", "")),
        ("owner", video.get("ownerId", "")),
        ("source", f"{video['source'].get('fileName') or ''} {video['source']['mime']}, {video['source']['sizeBytes']} bytes".strip()),
    ]
    if video.get("durationSeconds"):
        rows.append(("duration", f"{video['durationSeconds']:.1f}s, {video.get('width')}x{video.get('height')}"))
    if video.get("renditions"):
        rows.append(("renditions", ", ".join(str(r.get("quality")) for r in video["renditions"])))
    if video.get("failReason"):
        rows.append(("failed", f"{video['failReason']}: {video.get('failDetail') or ''}".rstrip(": ")))
    if (video.get("playback") or {}).get("streamUrl"):
        rows.append(("playback", video["playback"]["streamUrl"]))
    rows.append(("created", video["createdAt"]))
    _print_rows([(k, str(v)) for k, v in rows])


@videos_app.command("rm")
@handles_errors
def videos_rm(
    video_ids: Annotated[list[str], typer.Argument(metavar="ID...")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    api: ApiOpt = None,
) -> None:
    """Delete videos (their files are removed from storage shortly after)."""
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Delete {len(video_ids)} video(s)?"):
        raise typer.Exit(EXIT_ERROR)
    client, _ = connect(api)
    with client:
        for vid in video_ids:
            client.request("DELETE", f"/api/videos/{vid}")
            err.print(f"Deleted {vid}")


@videos_app.command("retry")
@handles_errors
def videos_retry(video_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOpt = False, api: ApiOpt = None) -> None:
    """Transcode a FAILED video again (its source must still exist)."""
    client, _ = connect(api)
    with client:
        video = client.request("POST", f"/api/videos/{video_id}/retry")
    if as_json:
        print_json(video)
    else:
        err.print(f"Video {video['id']} is {video['status']} again")


def _wait(client: ReelhouseClient, video_id: str, timeout: float, quiet: bool = False, json_lines: bool = False, interval: float = 1.0) -> dict:
    """Poll the video until READY or FAILED (status and percent on a progress bar); CliError on timeout."""
    deadline = time.monotonic() + timeout
    last: tuple | None = None
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=err, disable=quiet or json_lines) as progress:
        task = progress.add_task(f"video {video_id[:8]}", total=100, status="")
        while True:
            video = client.get_video(video_id)
            status, pct = video["status"], video.get("transcodeProgress")
            shown = 100 if status == "READY" else (pct or 0)
            progress.update(task, completed=shown, status=status)
            if json_lines and (status, pct) != last:
                print(json.dumps({"id": video["id"], "status": status, "transcodeProgress": pct, "failReason": video.get("failReason")}), flush=True)
            last = (status, pct)
            if status in FINAL_STATES:
                break
            if time.monotonic() > deadline:
                raise CliError(f"video {video_id} still {status} after {timeout:.0f} s")
            time.sleep(interval)
    if not quiet and not json_lines:
        if status == "READY":
            out.print(f"{video_id}: READY {video['playback'].get('streamUrl') or ''}".rstrip())
        else:
            err.print(f"[red]{video_id}: FAILED[/red] {video.get('failReason') or ''} {video.get('failDetail') or ''}".rstrip())
    return video


@app.command()
@handles_errors
def watch(
    video_id: Annotated[str, typer.Argument(metavar="ID")],
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Give up after this many seconds (exit 1).")] = 3600,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line per change of status or percent.")] = False,
    api: ApiOpt = None,
) -> None:
    """Follow a video's status and transcode percent until READY (exit 0) or FAILED (exit 1)."""
    client, _ = connect(api)
    with client:
        video = _wait(client, video_id, timeout, json_lines=as_json)
    if video["status"] != "READY":
        raise typer.Exit(EXIT_ERROR)


# --- live --------------------------------------------------------------------------------------------


def _stream_rows(s: dict) -> list[tuple[str, str]]:
    rows = [("id", s["id"]), ("title", s["title"]), ("status", s["status"] + (" (broadcasting)" if s.get("broadcasting") else "")), ("recording", f"{'on' if s.get('recordingEnabled') else 'off'} {s.get('recordingStatus', '')}".strip())]
    if s.get("viewerCount"):
        rows.append(("viewers", str(s["viewerCount"])))
    if s.get("playbackUrl"):
        rows.append(("playback", s["playbackUrl"]))
    if s.get("recordingVideoId"):
        rows.append(("recording video", s["recordingVideoId"]))
    return rows


def _print_rows(rows: list[tuple[str, str]]) -> None:
    # one line per field, never wrapped nor cut by Rich: long URLs and keys stay whole for copying
    width = max((len(k) for k, _ in rows), default=0)
    for k, v in rows:
        out.print(f"[bold]{k.ljust(width)}[/bold]  {escape(str(v))}", soft_wrap=True)


@live_app.command("ls")
@handles_errors
def live_ls(
    status: Annotated[str | None, typer.Option("--status", help="OFFLINE, SCHEDULED, LIVE or ENDED.", show_default=False)] = None,
    as_json: JsonOpt = False,
    api: ApiOpt = None,
) -> None:
    """List live streams."""
    client, _ = connect(api)
    with client:
        page = client.request("GET", "/api/streams", params={"status": status.upper()} if status else None)
    items = page.get("items", [])
    if as_json:
        print_json(items)
        return
    table = Table("ID", "TITLE", "STATUS", "VIEWERS", "OWNER", box=None, pad_edge=False)
    for s in items:
        table.add_row(s["id"], escape(s["title"]), s["status"], str(s.get("viewerCount", 0)), s.get("ownerId", ""))
    out.print(table)


@live_app.command("show")
@handles_errors
def live_show(stream_id: Annotated[str, typer.Argument(metavar="STREAM")], as_json: JsonOpt = False, api: ApiOpt = None) -> None:
    """Show one live stream (status, viewers, signed playback URL while LIVE)."""
    client, _ = connect(api)
    with client:
        s = client.request("GET", f"/api/streams/{stream_id}")
    print_json(s) if as_json else _print_rows(_stream_rows(s))


@live_app.command("create")
@handles_errors
def live_create(
    title: Annotated[str, typer.Argument()],
    record: Annotated[bool, typer.Option("--record/--no-record", help="Keep a recording as a video when the stream ends.")] = True,
    as_json: JsonOpt = False,
    api: ApiOpt = None,
) -> None:
    """Create a live stream; prints its RTMP URL and stream key (keep the key secret)."""
    client, _ = connect(api)
    with client:
        s = client.request("POST", "/api/streams", json={"title": title, "recordingEnabled": record})
    if as_json:
        print_json(s)
        return
    ingest = s.get("ingest") or {}
    _print_rows([*_stream_rows(s), ("rtmp url", ingest.get("rtmpUrl", "")), ("stream key", ingest.get("streamKey", "")), ("publish url", ingest.get("publishUrl", ""))])


@live_app.command("key")
@handles_errors
def live_key(
    stream_id: Annotated[str, typer.Argument(metavar="STREAM")],
    rotate: Annotated[bool, typer.Option("--rotate", help="Issue a new key (the old one stops working; a broadcaster using it is cut off).")] = False,
    as_json: JsonOpt = False,
    api: ApiOpt = None,
) -> None:
    """Show (or rotate) the stream key and publish URL; owner only."""
    client, _ = connect(api)
    with client:
        ingest = client.request("POST" if rotate else "GET", f"/api/streams/{stream_id}/{'rotate-key' if rotate else 'ingest'}")
    if as_json:
        print_json(ingest)
        return
    _print_rows([("rtmp url", ingest["rtmpUrl"]), ("stream key", ingest["streamKey"]), ("publish url", ingest["publishUrl"])])


def _live_action(stream_id: str, action: str, as_json: bool, api: str | None) -> None:
    client, _ = connect(api)
    with client:
        s = client.request("POST", f"/api/streams/{stream_id}/{action}")
    if as_json:
        print_json(s)
    else:
        err.print(f"Stream {s['id']} is {s['status']}")


@live_app.command("start")
@handles_errors
def live_start(stream_id: Annotated[str, typer.Argument(metavar="STREAM")], as_json: JsonOpt = False, api: ApiOpt = None) -> None:
    """Go LIVE now, without waiting for the broadcaster (publishing with the key also does)."""
    _live_action(stream_id, "start", as_json, api)


@live_app.command("stop")
@handles_errors
def live_stop(stream_id: Annotated[str, typer.Argument(metavar="STREAM")], as_json: JsonOpt = False, api: ApiOpt = None) -> None:
    """End the stream and disconnect the broadcaster."""
    _live_action(stream_id, "stop", as_json, api)


# --- chat --------------------------------------------------------------------------------------------


@chat_app.command("tail")
@handles_errors
def chat_tail(
    stream_id: Annotated[str, typer.Argument(metavar="STREAM")],
    as_json: Annotated[bool, typer.Option("--json", help="Print every frame as one JSON line.")] = False,
    history: Annotated[bool, typer.Option("--history/--no-history", help="Print the recent messages first.")] = True,
    count: Annotated[int | None, typer.Option("--count", "-n", min=1, help="Exit after this many new messages.", show_default=False)] = None,
    api: ApiOpt = None,
) -> None:
    """Print a live stream's chat as it happens (Ctrl-C stops); reconnects and catches up after a drop."""
    from reelhouse.cli.chat import ChatClosed, ChatTail

    client, api_url = connect(api)
    tail = ChatTail(client, edge_url(api_url), stream_id)
    printer = _ChatPrinter(as_json, history, count)
    try:
        with client:
            tail.run(printer)
    except KeyboardInterrupt:
        pass
    except _Enough:
        pass
    except ChatClosed as exc:
        raise CliError(f"the chat of {stream_id} closed: {exc.reason or 'refused'} (close code {exc.code})") from None


class _Enough(Exception):
    """``--count`` messages were printed."""


class _ChatPrinter:
    """Prints chat frames as lines (``HH:MM:SS user: text``) or JSON lines."""

    def __init__(self, as_json: bool, history: bool, count: int | None) -> None:
        self.as_json, self.history, self.count, self.seen = as_json, history, count, 0

    def __call__(self, frame: dict, replay: bool) -> None:
        kind = frame.get("type")
        if kind == "error":
            err.print(f"[red]chat error:[/red] {frame.get('message')} ({frame.get('code')})")
        if self.as_json:
            if kind != "history" or self.history or replay:
                print(json.dumps(frame), flush=True)
        elif kind == "welcome" and not replay:
            err.print(f"Connected to the chat of {frame.get('streamId')} ({frame.get('status')}, {frame.get('viewers', 0)} watching); Ctrl-C stops")
        elif kind == "history" and (self.history or replay):  # after a reconnection: what was missed
            for m in frame.get("messages", []):
                self._line(m)
        elif kind == "message":
            self._line(frame)
        elif kind == "deleted":
            out.print(f"[dim](message {frame.get('messageId')} deleted)[/dim]")
        elif kind == "room" and frame.get("status") == "ENDED":
            err.print("The stream ended.")
        if kind == "message":
            self.seen += 1
            if self.count and self.seen >= self.count:
                raise _Enough

    def _line(self, m: dict) -> None:
        when = (m.get("sentAt") or "")[11:19]
        who = escape(str(m.get("username") or m.get("userId")))
        out.print(f"[dim]{when}[/dim] [bold]{who}[/bold]: {escape(str(m.get('text')))}")


def main() -> None:
    """Console script entry point."""
    app()


if __name__ == "__main__":
    main()
