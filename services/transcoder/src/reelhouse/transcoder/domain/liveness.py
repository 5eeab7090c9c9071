"""Liveness and progress of one ffmpeg pass, from what the pass really produces (pure: no I/O, no clock).

Why not ffmpeg's own report alone: with ``-progress pipe:1`` ffmpeg 5.1 prints its first report only once
every output file has been opened, and an output opens when its first frame arrives. In the ladder pass
the poster windows (10-75 % of the source) and the storyboard sprite (whose ``tile`` filter emits a sheet
only when it is full, or at the end) open late, so ffmpeg reports nothing until the end of the pass. A
watchdog fed only by that report killed every pass longer than its timeout, and the percent users saw
stood at 0 until the end (docs/transcoding.md, "Liveness and progress of the pass").

So :class:`PassLiveness` combines three signals, each optional, sampled by the supervisor:

* ``output_seconds``: ffmpeg's ``out_time_us`` (exact when it comes; often only at the end);
* ``produced_seconds``: media seconds already written as complete HLS segments (exact, one segment at a
  time: keyframes are forced every segment length, so *k* finished segments cover *k* segment lengths);
* ``input_bytes`` of ``input_size_bytes``: where ffmpeg is reading its source file (``pos`` in
  ``/proc/<pid>/fdinfo``). It moves continuously, but bytes are not seconds (bit rate varies, and an MP4
  whose index sits at the end is first read at its end, then from the start), so this estimate is never
  allowed to run more than ``lead_seconds`` (one segment) ahead of what has been written. Any change of
  the offset, forwards or backwards, is activity: the process is reading.

  The reader runs ahead of the encoders (demuxer buffers, the x264 look-ahead, the slowest rendition
  trailing the others), so the raw offset would reach the one-segment cap soon after each segment and
  then stand still until the next one: on a 1080p ladder at 0.3x realtime that froze the percent for
  10-30 s at a time. The estimate therefore subtracts the *reading lead*: how far (media seconds) the
  offset was ahead of the confirmed figure when that figure last increased. Reading and encoding move
  at the same pace, so the corrected estimate moves every sample and meets the next segment when it
  lands.

Progress is the best of the confirmed figures and the bounded estimate, as a percentage that never goes
backwards and stays below 100 until the process has exited successfully. Liveness: the pass is alive
while any signal keeps increasing; it is stalled when none has increased for ``stall_timeout_seconds``.
A truly hung ffmpeg (blocked on a pipe that never delivers, a dead network mount) reads nothing and writes
nothing, so it is still caught; a slow but working one (a long source, a busy machine) is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Highest percentage reported before ffmpeg has exited with status 0.
RUNNING_PERCENT_CEILING = 99.9


@dataclass
class PassLiveness:
    """Watch one ffmpeg pass. Times are in seconds of a monotonic clock supplied by the caller.

    Args:
        duration_seconds: the source's duration (seconds); 0 or less means unknown (no percentage).
        stall_timeout_seconds: how long no signal may increase before :meth:`stalled` is true (> 0).
        started_at: clock reading when the process was started (counts as the first activity).
        lead_seconds: how far (media seconds) the input-based estimate may run ahead of the confirmed
            figures; ``math.inf`` when the pass writes no segments to confirm it (a picture run).

    ``reading_lead_seconds`` (read-only) is the reading lead measured when the confirmed figure last
    increased (media seconds, >= 0; see the module docstring).

    Raises ValueError for a non-positive ``stall_timeout_seconds`` or a negative ``lead_seconds``.
    """

    duration_seconds: float
    stall_timeout_seconds: float
    started_at: float
    lead_seconds: float = math.inf
    last_activity: float = field(init=False)
    output_seconds: float = field(init=False, default=0.0)
    produced_seconds: float = field(init=False, default=0.0)
    input_bytes: int = field(init=False, default=0)
    frames: int = field(init=False, default=0)
    reading_lead_seconds: float = field(init=False, default=0.0)
    _percent: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if self.stall_timeout_seconds <= 0:
            raise ValueError("stall_timeout_seconds must be positive")
        if self.lead_seconds < 0:
            raise ValueError("lead_seconds must not be negative")
        self.last_activity = self.started_at

    def observe(
        self,
        now: float,
        *,
        output_seconds: float | None = None,
        frames: int | None = None,
        produced_seconds: float | None = None,
        input_bytes: int | None = None,
        input_size_bytes: int | None = None,
    ) -> float:
        """Record the signals sampled at ``now`` (None = not available this time) and return the
        progress percentage (0..99.9, never lower than a previous return).

        Any signal larger than before (all start at 0) counts as activity; so does any change of
        ``input_bytes`` (a seek back is reading too). The estimate uses the latest offset, and the
        percentage never goes down.
        """
        moved = confirmed_moved = False
        if output_seconds is not None and output_seconds > self.output_seconds:
            self.output_seconds, moved, confirmed_moved = output_seconds, True, True
        if frames is not None and frames > self.frames:
            self.frames, moved = frames, True
        if produced_seconds is not None and produced_seconds > self.produced_seconds:
            self.produced_seconds, moved, confirmed_moved = produced_seconds, True, True
        if input_bytes is not None and input_bytes != self.input_bytes:
            self.input_bytes, moved = input_bytes, True
        if moved:
            self.last_activity = now
        by_input = self._by_input(input_size_bytes)
        if confirmed_moved and by_input is not None:
            self.reading_lead_seconds = max(0.0, by_input - self._confirmed())
        self._percent = max(self._percent, self._estimate(by_input))
        return self._percent

    def _confirmed(self) -> float:
        return max(self.output_seconds, self.produced_seconds)

    def _by_input(self, input_size_bytes: int | None) -> float | None:
        """Media seconds the read offset stands for (None without an offset or a size)."""
        if self.duration_seconds <= 0 or not input_size_bytes or input_size_bytes <= 0 or self.input_bytes <= 0:
            return None
        return min(1.0, self.input_bytes / input_size_bytes) * self.duration_seconds

    def _estimate(self, by_input: float | None) -> float:
        if self.duration_seconds <= 0:
            return 0.0
        confirmed = self._confirmed()
        seconds = confirmed
        if by_input is not None:
            seconds = max(seconds, min(by_input - self.reading_lead_seconds, confirmed + self.lead_seconds))
        return min(RUNNING_PERCENT_CEILING, seconds / self.duration_seconds * 100.0)

    @property
    def percent(self) -> float:
        """The last progress percentage returned by :meth:`observe` (0 before any)."""
        return self._percent

    def idle_seconds(self, now: float) -> float:
        """Seconds since a signal last increased (or since the start)."""
        return max(0.0, now - self.last_activity)

    def stalled(self, now: float) -> bool:
        """True when no signal has increased for longer than ``stall_timeout_seconds``."""
        return self.idle_seconds(now) > self.stall_timeout_seconds
