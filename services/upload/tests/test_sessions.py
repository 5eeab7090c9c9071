"""Unit tests: the upload-session state machine against docs/api.md, "Upload session status"
and the S3 part planning (5 MiB parts, at most 10,000 parts)."""

import itertools

import pytest

from reelhouse.upload.domain.sessions import (
    ACTIVE,
    ALLOWED_TRANSITIONS,
    MAX_OBJECT_BYTES,
    MAX_PARTS,
    MIN_PART_SIZE_BYTES,
    IllegalSessionTransition,
    UploadStatus,
    check_transition,
    expected_part_size,
    part_count,
    part_size_for,
)

pytestmark = pytest.mark.unit

S = UploadStatus
MiB = 1024 * 1024

# The table of docs/api.md, written out independently of the code (From -> To, Trigger).
DOCUMENTED_TABLE = {
    (S.INITIATED, S.IN_PROGRESS),  # start uploading first part
    (S.IN_PROGRESS, S.PAUSED),  # user taps Pause
    (S.PAUSED, S.IN_PROGRESS),  # user taps Resume
    (S.IN_PROGRESS, S.COMPLETED),  # all parts uploaded and complete called
    (S.IN_PROGRESS, S.FAILED),  # retry failure or provider error
    (S.IN_PROGRESS, S.CANCELED),  # user cancels
    (S.PAUSED, S.CANCELED),  # cancel while paused
}
ALL_PAIRS = list(itertools.product(S, S))
FORBIDDEN = [p for p in ALL_PAIRS if p not in DOCUMENTED_TABLE]


def _id(pair):
    return f"{pair[0]}->{pair[1]}"


def test_statuses_are_the_documented_ones():
    assert [s.value for s in S] == ["INITIATED", "IN_PROGRESS", "PAUSED", "COMPLETED", "FAILED", "CANCELED"]


def test_allowed_transitions_equal_the_documented_table():
    assert set(ALLOWED_TRANSITIONS) == DOCUMENTED_TABLE
    assert len(ALL_PAIRS) == 36 and len(FORBIDDEN) == 29


@pytest.mark.parametrize("pair", sorted(DOCUMENTED_TABLE), ids=_id)
def test_allowed_transition_passes(pair):
    check_transition(*pair)  # no exception


@pytest.mark.parametrize("pair", FORBIDDEN, ids=_id)
def test_forbidden_transition_raises_with_stable_code(pair):
    current, target = pair
    with pytest.raises(IllegalSessionTransition) as info:
        check_transition(current, target)
    exc = info.value
    assert (exc.current, exc.target) == (current, target)
    expected_code = {
        S.COMPLETED: "SESSION_COMPLETED",
        S.CANCELED: "SESSION_CANCELED",
        S.FAILED: "SESSION_FAILED",
    }.get(current, "ILLEGAL_SESSION_TRANSITION")
    assert exc.code == expected_code
    assert str(current) in str(exc) and str(target) in str(exc)


@pytest.mark.parametrize("terminal", [S.COMPLETED, S.CANCELED, S.FAILED])
def test_terminal_statuses_never_leave(terminal):
    """COMPLETED / CANCELED must not resume; FAILED is replaced by a new session."""
    for target in S:
        with pytest.raises(IllegalSessionTransition):
            check_transition(terminal, target)


def test_active_statuses_hold_an_open_multipart_upload():
    assert ACTIVE == {S.INITIATED, S.IN_PROGRESS, S.PAUSED}


# --- part planning -------------------------------------------------------------------------------


def test_constants_are_s3s_limits():
    assert MIN_PART_SIZE_BYTES == 5_242_880 == 5 * MiB
    assert MAX_PARTS == 10_000
    assert MAX_OBJECT_BYTES == 5 * 1024**4


@pytest.mark.parametrize(
    "total,size",
    [
        (1, 5 * MiB),
        (5 * MiB, 5 * MiB),
        (734_003_200, 5 * MiB),  # 700 MiB in 5 MiB parts
        (1_610_612_736, 5 * MiB),  # 1.5 GiB (the gallery's limit)
        (MAX_PARTS * 5 * MiB, 5 * MiB),  # exactly 10,000 parts of 5 MiB
        (MAX_PARTS * 5 * MiB + 1, 6 * MiB),  # one byte more: larger parts, rounded up to a MiB
        (100 * 1024**3, 11 * MiB),  # 100 GiB -> 10.24 MiB -> 11 MiB
        (MAX_OBJECT_BYTES, 525 * MiB),  # S3's largest object
    ],
)
def test_part_size_for(total, size):
    assert part_size_for(total) == size
    assert size % MiB == 0
    assert part_count(total, size) <= MAX_PARTS


@pytest.mark.parametrize("total", [0, -1, MAX_OBJECT_BYTES + 1])
def test_part_size_for_rejects_impossible_sizes(total):
    with pytest.raises(ValueError):
        part_size_for(total)


@pytest.mark.parametrize(
    "total,count",
    [
        (1, 1),
        (5 * MiB - 1, 1),
        (5 * MiB, 1),
        (5 * MiB + 1, 2),
        (15 * MiB, 3),
        (734_003_200, 140),
        (MAX_PARTS * 5 * MiB, MAX_PARTS),
    ],
)
def test_part_count(total, count):
    assert part_count(total, 5 * MiB) == count


@pytest.mark.parametrize("total,part", [(0, 5 * MiB), (-5, 5 * MiB), (10, 0), (10, -1)])
def test_part_count_rejects_non_positive_sizes(total, part):
    with pytest.raises(ValueError):
        part_count(total, part)


def test_expected_part_size_last_part_holds_the_rest():
    total = 11 * MiB + 123
    ps = part_size_for(total)
    assert [expected_part_size(n, total, ps) for n in (1, 2, 3)] == [5 * MiB, 5 * MiB, MiB + 123]
    assert sum(expected_part_size(n, total, ps) for n in range(1, part_count(total, ps) + 1)) == total


def test_expected_part_size_exact_multiple_and_single_part():
    assert expected_part_size(2, 10 * MiB, 5 * MiB) == 5 * MiB
    assert expected_part_size(1, 1000, 5 * MiB) == 1000


def test_expected_part_size_at_the_10000_part_limit():
    total = MAX_PARTS * 5 * MiB
    assert expected_part_size(MAX_PARTS, total, 5 * MiB) == 5 * MiB
    with pytest.raises(ValueError):
        expected_part_size(MAX_PARTS + 1, total, 5 * MiB)


@pytest.mark.parametrize("n", [0, -1, 4])
def test_expected_part_size_out_of_range(n):
    with pytest.raises(ValueError, match="outside 1..3"):
        expected_part_size(n, 11 * MiB, 5 * MiB)
