"""Adapters to the outside world (ffmpeg/ffprobe, storage, broker)."""
