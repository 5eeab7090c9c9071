"""Root pytest configuration: shared fixtures for real PostgreSQL, RabbitMQ and S3."""

pytest_plugins = ["reelhouse.platform.testing"]
