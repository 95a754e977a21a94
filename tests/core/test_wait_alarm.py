"""`WaitAlarm`, pure: which waits for a person just passed `alert_after`, and the
alert's words."""

from __future__ import annotations

from bimpe_tui.alerts import waiting_alert
from bimpe_tui.api.models import Conversation
from bimpe_tui.waits import WaitAlarm

T = 1_795_165_200.0


def test_a_wait_seen_below_passes_once() -> None:
    alarm = WaitAlarm(600)
    assert alarm.passed("c", T, T + 599, held_from=T - 100) is None
    assert alarm.passed("c", T, T + 601, held_from=T - 100) == T
    assert alarm.passed("c", T, T + 700, held_from=T - 100) is None
    assert alarm.passed("c", T, T + 9000, held_from=T - 100) is None


def test_a_wait_already_past_when_first_known_never_passes() -> None:
    alarm = WaitAlarm(600)
    assert alarm.passed("c", T, T + 601, held_from=T - 100) is None
    assert alarm.passed("c", T, T + 5000, held_from=T - 100) is None


def test_a_page_that_slid_past_the_start_is_the_same_wait() -> None:
    alarm = WaitAlarm(600)
    assert alarm.passed("c", T, T + 300, held_from=T) is None
    # Newer messages pushed the first out of the page: the start seen is later.
    assert alarm.passed("c", T + 200, T + 500, held_from=T + 150) is None
    assert alarm.passed("c", T + 250, T + 650, held_from=T + 220) == T


def test_an_answer_starts_a_new_wait() -> None:
    alarm = WaitAlarm(600)
    assert alarm.passed("c", T, T + 601 - 2, held_from=T - 100) is None
    assert alarm.passed("c", T, T + 601, held_from=T - 100) == T
    # A person answered; the customer wrote again: the old start is still in view.
    assert alarm.passed("c", T + 700, T + 710, held_from=T - 100) is None
    assert alarm.passed("c", T + 700, T + 1301, held_from=T - 100) == T + 700


def test_no_one_waiting_forgets_and_zero_never_passes() -> None:
    alarm = WaitAlarm(600)
    assert alarm.passed("c", T, T + 10, held_from=T) is None
    assert alarm.passed("c", None, T + 20, held_from=None) is None
    # Needing a person again with the same start: first known anew, already past.
    assert alarm.passed("c", T, T + 700, held_from=T) is None
    assert alarm.passed("c", T, T + 800, held_from=T) is None
    never = WaitAlarm(0)
    assert never.passed("c", T, T + 1, held_from=T) is None
    assert never.passed("c", T, T + 10**6, held_from=T) is None


def test_forget_except_drops_conversations_no_longer_listed() -> None:
    alarm = WaitAlarm(600)
    alarm.passed("gone", T, T + 10, held_from=T)
    alarm.forget_except({"other"})
    # Known anew: already past, so it does not pass.
    assert alarm.passed("gone", T, T + 700, held_from=T) is None


def test_the_alert_says_how_long_and_keys_on_the_wait() -> None:
    conversation = Conversation.from_api(
        {
            "id": "c_1",
            "channel_type": "whatsapp",
            "channel_user_username": "ada",
            "needs_attention": True,
            "last_message_preview": "where is my \x1b[31morder?",
            "created_at": "2026-11-20T08:00:00Z",
            "updated_at": "2026-11-20T08:00:00Z",
        }
    )
    alert = waiting_alert(conversation, T, agent="Shop", waited=725)
    assert alert.kind == "waiting"
    assert alert.conversation_id == "c_1"
    assert alert.body == "waiting 12m for a person: where is my [31morder?"
    assert "\x1b" not in alert.body
    assert "ada" in alert.title
    assert "Shop" in alert.title
    assert alert.key == f"waiting:c_1:{round(T * 1000)}"
    later = waiting_alert(conversation, T + 60, agent="Shop", waited=725)
    assert later.key != alert.key
