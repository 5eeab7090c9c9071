"""Python client of the Reelhouse REST API, as a client app would use it through the edge.

:class:`ReelhouseClient` creates videos, uploads files with resumable S3 multipart uploads
(presigned part URLs; retried parts with exponential backoff; resume from ``GET /api/uploads/{id}``)
and waits for states; :func:`check_playback` proves an HLS ladder plays by decoding a segment of
every rendition with ffprobe.
"""

from reelhouse.client.api import ApiError, ReelhouseClient, UploadResult
from reelhouse.client.playback import RenditionCheck, check_playback

__all__ = ["ApiError", "ReelhouseClient", "RenditionCheck", "UploadResult", "check_playback"]
