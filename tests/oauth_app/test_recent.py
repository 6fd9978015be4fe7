"""oauth_app/recent.py: what a process keeps of its reads for a few seconds."""

import time

from oauth_app.recent import Recent


def test_a_value_is_kept_for_its_seconds_only():
    recent = Recent()
    recent.keep("a", 1, seconds=0.2)

    assert recent.get("a") == 1 and recent.get("b") is None
    time.sleep(0.25)
    assert recent.get("a") is None


def test_no_window_keeps_nothing():
    recent = Recent()
    recent.keep("a", 1, seconds=0)

    assert recent.get("a") is None


def test_it_stays_bounded_and_forgets_on_demand():
    recent = Recent(size=4)
    for key in range(10):  # a flood of keys (spellings of a resource URI, say)
        recent.keep(key, key, seconds=60)

    assert len(recent._entries) <= 4 and recent.get(9) == 9
    recent.forget()
    assert recent.get(9) is None
