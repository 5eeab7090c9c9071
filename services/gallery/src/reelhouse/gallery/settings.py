"""Gallery settings: the shared platform settings (env prefix ``REELHOUSE_``); port 8101 by default."""

from __future__ import annotations

from reelhouse.platform.settings import PlatformSettings


class GallerySettings(PlatformSettings):
    """Settings of the gallery service (``REELHOUSE_HTTP_PORT`` default 8101)."""

    service_name: str = "gallery"
    http_port: int = 8101
    dev_token_endpoint: bool = False
    """``REELHOUSE_DEV_TOKEN_ENDPOINT``: mount ``POST /api/dev/token`` (dev sign-in; the local stack only).
    Anyone could mint a token for any user with it, so outside ``REELHOUSE_ENV=dev`` the service refuses
    to start with it on (docs/security.md)."""

    def insecure_secrets(self) -> list[str]:
        """The platform's findings, plus ``REELHOUSE_DEV_TOKEN_ENDPOINT`` when the dev sign-in is on."""
        found = super().insecure_secrets()
        if self.dev_token_endpoint:
            found.append("REELHOUSE_DEV_TOKEN_ENDPOINT")
        return found
