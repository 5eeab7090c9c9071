"""Gallery domain rules: the video state machine and upload validation (no I/O)."""
