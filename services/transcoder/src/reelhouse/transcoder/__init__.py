"""Reelhouse transcoder service: turns uploaded sources into HLS renditions, a poster and thumbnails."""
