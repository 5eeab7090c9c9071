"""Root pytest configuration: shared fixtures for real PostgreSQL, RabbitMQ and S3."""

import os

# Tests run on the published development secrets, which only dev mode accepts (docs/security.md).
os.environ.setdefault("REELHOUSE_ENV", "dev")

pytest_plugins = ["reelhouse.testing"]
