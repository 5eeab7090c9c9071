"""Chat domain rules (no I/O). Empty in the skeleton: moderation and retention rules come with the chat
features issue."""
