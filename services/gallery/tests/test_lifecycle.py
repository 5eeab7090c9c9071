"""Unit tests: every allowed and forbidden transition of docs/api.md, "Video status"."""

import itertools

import pytest

from reelhouse.gallery.domain.lifecycle import (
    ALLOWED_TRANSITIONS,
    IllegalTransition,
    check_transition,
    path_to,
)
from reelhouse.gallery.domain.lifecycle import (
    VideoStatus as S,
)

pytestmark = pytest.mark.unit

DOCUMENTED_TABLE = {
    (S.DRAFT, S.UPLOADING),
    (S.UPLOADING, S.UPLOADED),
    (S.UPLOADED, S.TRANSCODING),
    (S.TRANSCODING, S.READY),
    (S.TRANSCODING, S.FAILED),
    (S.UPLOADING, S.FAILED),
    (S.FAILED, S.TRANSCODING),
}


def test_allowed_set_is_exactly_the_documented_table():
    assert ALLOWED_TRANSITIONS == DOCUMENTED_TABLE


@pytest.mark.parametrize("current,target", sorted(DOCUMENTED_TABLE))
def test_every_allowed_transition_passes_with_its_guard(current, target):
    check_transition(current, target, source_exists=True, has_assets=True)


@pytest.mark.parametrize(
    "current,target", sorted(p for p in itertools.product(S, S) if p not in DOCUMENTED_TABLE and p[0] != p[1])
)
def test_every_other_transition_is_refused(current, target):
    with pytest.raises(IllegalTransition) as err:
        check_transition(current, target, source_exists=True, has_assets=True)
    expected = "READY_IS_FINAL" if current == S.READY else "ILLEGAL_TRANSITION"
    assert err.value.code == expected


@pytest.mark.parametrize("target", [s for s in S if s != S.READY])
def test_ready_never_rolls_back(target):
    with pytest.raises(IllegalTransition) as err:
        check_transition(S.READY, target, source_exists=True, has_assets=True)
    assert err.value.code == "READY_IS_FINAL"


@pytest.mark.parametrize("current", [S.UPLOADED, S.FAILED])
def test_transcoding_requires_a_source(current):
    with pytest.raises(IllegalTransition) as err:
        check_transition(current, S.TRANSCODING, source_exists=False)
    assert err.value.code == "SOURCE_MISSING"


def test_ready_requires_assets():
    with pytest.raises(IllegalTransition) as err:
        check_transition(S.TRANSCODING, S.READY, source_exists=True, has_assets=False)
    assert err.value.code == "ASSETS_MISSING"


def test_path_to_walks_out_of_order_events_through_allowed_steps():
    assert path_to(S.UPLOADED, S.READY) == [S.TRANSCODING, S.READY]
    assert path_to(S.DRAFT, S.UPLOADED) == [S.UPLOADING, S.UPLOADED]
    assert path_to(S.FAILED, S.READY) == [S.TRANSCODING, S.READY]
    assert path_to(S.READY, S.READY) == []
    with pytest.raises(IllegalTransition):
        path_to(S.READY, S.FAILED)
    with pytest.raises(IllegalTransition):
        path_to(S.UPLOADED, S.DRAFT)
