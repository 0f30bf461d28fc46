import pytest

from streaming.features import WINDOW_MS, WINDOW_RETENTION_MS, bump, expired_windows, window_start


def test_bump_counts_clicks_and_views_separately():
    counts = None
    for kind in ("click", "view", "view", "click", "view"):
        counts = bump(counts, kind)
    assert counts == (2, 3)


def test_bump_rejects_other_kinds():
    with pytest.raises(ValueError):
        bump((0, 0), "rating")


def test_window_start_aligns_to_window():
    assert window_start(5 * WINDOW_MS + 123) == 5 * WINDOW_MS
    assert window_start(5 * WINDOW_MS) == 5 * WINDOW_MS


def test_old_windows_expire():
    now = 10 * WINDOW_RETENTION_MS
    starts = [now - WINDOW_RETENTION_MS - WINDOW_MS, now - WINDOW_MS, now]
    assert expired_windows(starts, now) == [starts[0]]
