"""Gallery service: the video catalogue (videos, video_assets), the video lifecycle and its REST API."""
