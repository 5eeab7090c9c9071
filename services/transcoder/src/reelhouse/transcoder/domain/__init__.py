"""Pure transcoding rules (ladder planning, failure reasons): no I/O."""
