"""config.toml's watching and alert settings: every one parsed, every bad value warned."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bimpe_tui.api.models import Conversation
from bimpe_tui.config import (
    DEFAULT_REFRESH_INTERVAL,
    MAX_REFRESH_INTERVAL,
    AlertSettings,
    ConfigError,
    Settings,
    load_settings,
    read_config,
    save_api_key,
)
from bimpe_tui.rules import WatchRule, WatchRules, parse_watch_rule, pattern_problem

FULL = """\
api_key = "sk_file_key_123456"
base_url = "https://example.org"
refresh_interval = 30
auto_watch = ["needs_attention", "new", "agent:ag_1", "channel:whatsapp", "channel:test_webchat"]
read_only = true

[alerts]
notify = "osc777"
attention = false
new_conversation = true
words = ["refund", "money back"]
regexes = ["order #?\\\\d{5}"]
roles = ["customer", "Restaurant_User"]
roles_when = "always"
min_interval = 2.5
"""


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body)
    path.chmod(0o600)
    return path


def settings_of(
    tmp_path: Path, body: str, *, refresh_interval: float | None = None, no_alerts: bool = False
) -> tuple[Settings, list[str]]:
    settings = load_settings(
        config_path=write(tmp_path, body),
        env={},
        refresh_interval=refresh_interval,
        no_alerts=no_alerts,
    )
    return settings, settings.warnings


# -- what a good file gives ----------------------------------------------------------------


def test_without_a_file_every_setting_has_its_default(tmp_path: Path) -> None:
    settings = load_settings(config_path=tmp_path / "absent.toml", env={})
    assert settings.warnings == []
    assert settings.refresh_interval == DEFAULT_REFRESH_INTERVAL == 15
    assert settings.auto_watch == ()
    assert settings.read_only is False
    assert settings.alerts == AlertSettings()
    alerts = settings.alerts
    assert alerts.notify == "bell"
    assert alerts.attention is True
    assert alerts.new_conversation is False
    assert (alerts.words, alerts.regexes, alerts.roles) == ((), (), ())
    assert alerts.roles_when == "needs_attention"
    assert alerts.min_interval == 5


def test_every_setting_is_read(tmp_path: Path) -> None:
    settings = load_settings(config_path=write(tmp_path, FULL), env={})
    assert settings.warnings == []
    assert settings.api_key == "sk_file_key_123456"
    assert settings.base_url == "https://example.org"
    assert settings.refresh_interval == 30.0
    assert isinstance(settings.refresh_interval, float)
    assert settings.auto_watch == (
        "needs_attention",
        "new",
        "agent:ag_1",
        "channel:whatsapp",
        "channel:test_webchat",
    )
    assert settings.read_only is True
    assert settings.alerts == AlertSettings(
        notify="osc777",
        attention=False,
        new_conversation=True,
        words=("refund", "money back"),
        regexes=(r"order #?\d{5}",),
        roles=("customer", "restaurant_user"),
        roles_when="always",
        min_interval=2.5,
    )


def test_values_are_put_in_canonical_form_and_duplicates_dropped(tmp_path: Path) -> None:
    body = """\
auto_watch = [" Channel:WhatsApp ", "NEW", "new", "agent: ag_X "]
[alerts]
notify = " OSC9 "
words = ["  money   back ", "money back"]
roles_when = "ALWAYS"
"""
    settings = load_settings(config_path=write(tmp_path, body), env={})
    assert settings.warnings == []
    assert settings.auto_watch == ("channel:whatsapp", "new", "agent:ag_X")
    assert settings.alerts.notify == "osc9"
    assert settings.alerts.words == ("money back",)
    assert settings.alerts.roles_when == "always"


def test_alert_settings_may_be_written_as_dotted_keys(tmp_path: Path) -> None:
    settings = load_settings(
        config_path=write(tmp_path, 'alerts.notify = "none"\nalerts.min_interval = 0\n'), env={}
    )
    assert settings.warnings == []
    assert settings.alerts.notify == "none"
    assert settings.alerts.min_interval == 0


# -- every kind of bad value ---------------------------------------------------------------

# (file body, the setting the warning names, a further piece of the warning)
BAD = {
    "refresh a string": ('refresh_interval = "fast"', "refresh_interval", "got str"),
    "refresh a bool": ("refresh_interval = true", "refresh_interval", "got bool"),
    "refresh zero": ("refresh_interval = 0", "refresh_interval", "above 0"),
    "refresh negative": ("refresh_interval = -3", "refresh_interval", "above 0"),
    "refresh nan": ("refresh_interval = nan", "refresh_interval", "above 0"),
    "refresh a date": ("refresh_interval = 2026-01-01", "refresh_interval", "date/time"),
    "auto_watch a string": ('auto_watch = "new"', "auto_watch", "a list of str"),
    "auto_watch a number item": ("auto_watch = [3]", "auto_watch item", "got int"),
    "unknown rule": ('auto_watch = ["everything"]', "auto_watch", "'everything'"),
    "unknown channel": ('auto_watch = ["channel:sms"]', "auto_watch", "'channel:sms'"),
    "agent without id": ('auto_watch = ["agent:"]', "auto_watch", "'agent:'"),
    "agent id with spaces": ('auto_watch = ["agent:a b"]', "auto_watch", "'agent:a b'"),
    "read_only a string": ('read_only = "yes"', "read_only", "true or false"),
    "alerts not a table": ('alerts = "bell"', "alerts", "a table"),
    "unknown notify": ('alerts.notify = "beep"', "alerts.notify", "got 'beep'"),
    "notify a number": ("alerts.notify = 7", "alerts.notify", "got int"),
    "attention a number": ("alerts.attention = 1", "alerts.attention", "true or false"),
    "new_conversation a string": (
        'alerts.new_conversation = "no"',
        "alerts.new_conversation",
        "true or false",
    ),
    "words a string": ('alerts.words = "refund"', "alerts.words", "a list of str"),
    "empty word": ('alerts.words = ["  "]', "alerts.words", "words"),
    "word with a control": ('alerts.words = ["a\\u0007b"]', "alerts.words", "\\x07"),
    "word a table": ("alerts.words = [{a = 1}]", "alerts.words item", "got table"),
    "invalid regex": ('alerts.regexes = ["order ("]', "alerts.regexes", "'order ('"),
    "regex matching nothing": ('alerts.regexes = ["x*"]', "alerts.regexes", "empty text"),
    "exponential regex": ('alerts.regexes = ["(a+)+$"]', "alerts.regexes", "exponential"),
    "huge regex": (f'alerts.regexes = ["{"a" * 600}"]', "alerts.regexes", "longer than"),
    "empty role": ('alerts.roles = [""]', "alerts.roles", "roles"),
    "unknown roles_when": ('alerts.roles_when = "sometimes"', "alerts.roles_when", "'sometimes'"),
    "min_interval negative": ("alerts.min_interval = -1", "alerts.min_interval", "0 or more"),
    "min_interval a string": ('alerts.min_interval = "5"', "alerts.min_interval", "got str"),
    "unknown alerts key": ("alerts.sound = true", "unknown key 'alerts.sound'", "ignored"),
    "unknown top key": ("refresh = 5", "unknown key 'refresh'", "ignored"),
}


@pytest.mark.parametrize(("body", "setting", "detail"), BAD.values(), ids=BAD.keys())
def test_a_bad_value_is_a_warning_naming_the_file_and_the_setting_and_is_ignored(
    tmp_path: Path, body: str, setting: str, detail: str
) -> None:
    # A good setting beside the bad one still applies.
    path = write(tmp_path, 'base_url = "https://ok.example"\n' + body + "\n")
    settings = load_settings(config_path=path, env={})
    [warning] = settings.warnings
    assert warning.startswith(f"{path}: ")
    assert setting in warning
    assert detail in warning
    assert "ignored" in warning
    assert settings.base_url == "https://ok.example"
    default = load_settings(config_path=tmp_path / "absent.toml", env={})
    assert settings.refresh_interval == default.refresh_interval
    assert settings.auto_watch == default.auto_watch
    assert settings.read_only == default.read_only
    assert settings.alerts == default.alerts


def test_the_warning_for_an_unknown_notify_mode_reads_as_documented(tmp_path: Path) -> None:
    path = write(tmp_path, '[alerts]\nnotify = "beep"\n')
    _, warnings = read_config(path)
    assert warnings == [
        f"{path}: alerts.notify should be one of bell, osc9, osc777, none; got 'beep' (ignored)"
    ]


def test_bad_items_of_a_list_are_dropped_and_the_good_ones_kept(tmp_path: Path) -> None:
    body = """\
auto_watch = ["new", "bogus", "channel:webchat"]
[alerts]
regexes = ["ok\\\\d+", "bad(", "(x+)+y", "fine"]
words = ["refund", 7, "urgent"]
"""
    settings = load_settings(config_path=write(tmp_path, body), env={})
    assert settings.auto_watch == ("new", "channel:webchat")
    assert settings.alerts.regexes == (r"ok\d+", "fine")
    assert settings.alerts.words == ("refund", "urgent")
    assert len(settings.warnings) == 4
    assert any("'bogus'" in w and "auto_watch" in w for w in settings.warnings)
    assert any("'bad('" in w and "not a valid regex" in w for w in settings.warnings)
    assert any("'(x+)+y'" in w for w in settings.warnings)
    assert any("alerts.words item" in w for w in settings.warnings)


def test_a_long_list_is_cut_with_a_warning(tmp_path: Path) -> None:
    words = ", ".join(f'"w{i}"' for i in range(150))
    settings, warnings = settings_of(tmp_path, f"alerts.words = [{words}]\n")
    assert len(settings.alerts.words) == 100
    [warning] = warnings
    assert "alerts.words has 150 items; only the first 100 are used" in warning


@pytest.mark.parametrize(
    ("value", "expected", "warned"),
    [
        ("2", 2.0, None),
        ("1", 2.0, "refresh_interval = 1 is below the minimum 2; using 2"),
        ("0.5", 2.0, "below the minimum 2"),
        ("inf", MAX_REFRESH_INTERVAL, "above the maximum 86400"),
        ("1" + "0" * 400, MAX_REFRESH_INTERVAL, "above the maximum"),
        ("7.5", 7.5, None),
    ],
)
def test_the_refresh_interval_is_kept_within_its_range(
    tmp_path: Path, value: str, expected: float, warned: str | None
) -> None:
    path = write(tmp_path, f"refresh_interval = {value}\n")
    settings = load_settings(config_path=path, env={})
    assert settings.refresh_interval == expected
    if warned is None:
        assert settings.warnings == []
    else:
        [warning] = settings.warnings
        assert warning.startswith(f"{path}: ")
        assert warned in warning


def test_min_interval_is_capped_at_an_hour(tmp_path: Path) -> None:
    settings, warnings = settings_of(tmp_path, "alerts.min_interval = 1e9\n")
    assert settings.alerts.min_interval == 3600
    assert "alerts.min_interval" in warnings[0]


def test_a_file_that_is_not_toml_is_one_warning_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, "[alerts\nnotify = bell\n")
    settings = load_settings(config_path=path, env={})
    [warning] = settings.warnings
    assert str(path) in warning
    assert "not valid TOML" in warning
    assert settings.alerts == AlertSettings()


def test_a_file_others_can_read_is_still_warned_about(tmp_path: Path) -> None:
    path = write(tmp_path, "refresh_interval = 20\n")
    path.chmod(0o644)
    settings = load_settings(config_path=path, env={})
    assert settings.refresh_interval == 20
    assert any("readable by others" in w for w in settings.warnings)


def test_a_warning_never_shows_a_key_or_raw_control_characters(tmp_path: Path) -> None:
    body = '[alerts]\nnotify = "sk_live_abcdefgh12345"\nroles_when = "\\u001b]0;pwned\\u0007"\n'
    _, warnings = settings_of(tmp_path, body)
    assert len(warnings) == 2
    text = "\n".join(warnings)
    assert "sk_live_abcdefgh12345" not in text
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\\x1b" in text  # shown escaped, so the user can still see what is wrong


def test_a_wrong_type_names_the_type_not_the_value(tmp_path: Path) -> None:
    _, warnings = settings_of(tmp_path, "[alerts]\nwords = 12345678\n")
    assert "12345678" not in warnings[0]
    assert "got int" in warnings[0]


# -- the command-line overrides ------------------------------------------------------------


def test_the_refresh_flag_wins_over_the_file(tmp_path: Path) -> None:
    settings, warnings = settings_of(tmp_path, "refresh_interval = 30\n", refresh_interval=45.0)
    assert settings.refresh_interval == 45.0
    assert warnings == []


def test_a_refresh_flag_below_the_minimum_is_raised_with_a_warning_naming_the_flag(
    tmp_path: Path,
) -> None:
    settings, warnings = settings_of(tmp_path, "", refresh_interval=0.5)
    assert settings.refresh_interval == 2.0
    assert warnings == ["--refresh 0.5 is below the minimum 2; using 2"]


@pytest.mark.parametrize("value", [0.0, -1.0, math.nan])
def test_a_refresh_flag_not_above_zero_is_refused(tmp_path: Path, value: float) -> None:
    with pytest.raises(ConfigError, match="--refresh"):
        load_settings(config_path=tmp_path / "absent.toml", env={}, refresh_interval=value)


def test_no_alerts_turns_every_alert_off_whatever_the_file_says(tmp_path: Path) -> None:
    settings, _ = settings_of(tmp_path, FULL, no_alerts=True)
    alerts = settings.alerts
    assert alerts.notify == "none"
    assert alerts.attention is False
    assert alerts.new_conversation is False
    assert (alerts.words, alerts.regexes, alerts.roles) == ((), (), ())
    # The other settings are untouched.
    assert settings.refresh_interval == 30
    assert settings.auto_watch[0] == "needs_attention"


# -- saving the key keeps the rest ---------------------------------------------------------


def test_saving_the_key_keeps_every_other_setting_even_unknown_ones(tmp_path: Path) -> None:
    path = write(tmp_path, FULL.replace('api_key = "sk_file_key_123456"\n', "") + "future = 1\n")
    save_api_key(path, "sk_new_key_1234567")
    assert path.stat().st_mode & 0o777 == 0o600
    settings = load_settings(config_path=path, env={})
    assert settings.api_key == "sk_new_key_1234567"
    assert settings.alerts.regexes == (r"order #?\d{5}",)
    assert settings.auto_watch[-1] == "channel:test_webchat"
    assert "future = 1" in path.read_text()


def test_saving_the_key_refuses_to_overwrite_a_file_that_is_not_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "[alerts\nwords = ['refund'\n")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="not valid TOML"):
        save_api_key(path, "sk_new_key_1234567")
    assert path.read_bytes() == before


# -- auto-watch rules ----------------------------------------------------------------------


def conversation(channel: str = "whatsapp", *, attention: bool = False) -> Conversation:
    return Conversation(id="c_1", channel_type=channel, needs_attention=attention)


def test_watch_rules_are_parsed_in_canonical_form() -> None:
    assert parse_watch_rule("needs_attention") == WatchRule("needs_attention")
    assert parse_watch_rule(" New ") == WatchRule("new")
    assert parse_watch_rule("agent:Ag_1") == WatchRule("agent", "Ag_1")  # ids keep their case
    assert parse_watch_rule("channel:TEST_WhatsApp") == WatchRule("channel", "test_whatsapp")
    assert str(WatchRule("channel", "webchat")) == "channel:webchat"
    for bad in ("", "all", "new:1", "agent", "agent:", "channel:", "channel:sms", "agent:\x1b"):
        assert parse_watch_rule(bad) is None, bad


def test_each_watch_rule_matches_what_it_says() -> None:
    rules = WatchRules.parse(["needs_attention", "new", "agent:ag_1", "channel:telephony", "x"])
    assert len(rules.rules) == 4  # the unknown one is dropped quietly (config warned)
    plain = conversation("webchat")
    assert rules.matching(plain, agent_id="ag_2", is_new=False) is None
    waiting = conversation("webchat", attention=True)
    assert rules.matching(waiting, agent_id="ag_2", is_new=False) == WatchRule("needs_attention")
    assert rules.matching(plain, agent_id="ag_2", is_new=True) == WatchRule("new")
    assert rules.matching(plain, agent_id="ag_1", is_new=False) == WatchRule("agent", "ag_1")
    phone = conversation("telephony")
    assert rules.matching(phone, agent_id="ag_2", is_new=False) == WatchRule("channel", "telephony")


def test_a_channel_rule_does_not_match_the_test_variant_of_its_channel() -> None:
    live = WatchRules.parse(["channel:whatsapp"])
    assert live.matching(conversation("whatsapp"), agent_id="a", is_new=False)
    assert live.matching(conversation("test_whatsapp"), agent_id="a", is_new=False) is None
    test = WatchRules.parse(["channel:test_whatsapp"])
    assert test.matching(conversation("test_whatsapp"), agent_id="a", is_new=False)


@pytest.mark.parametrize(
    ("pattern", "ok"),
    [
        (r"order #?\d{5}", True),
        (r"a.*b", True),
        (r"(?:ab|cd)+", True),
        (r"(?>a+)+", True),  # atomic: cannot backtrack
        (r"(a+)+$", False),
        (r"(\w+\s?)+$", False),
        (r"x(a+){2,}", False),
        (r"(?=(a+)+)", False),
        ("(", False),
        ("", False),
        ("a?", False),
    ],
)
def test_pattern_problem_refuses_invalid_empty_and_exponential_patterns(
    pattern: str, ok: bool
) -> None:
    assert (pattern_problem(pattern) is None) == ok


def test_an_integer_too_long_for_python_is_an_invalid_file_not_a_crash(tmp_path: Path) -> None:
    # tomllib raises a plain ValueError (not TOMLDecodeError) past 4,300 digits.
    path = write(tmp_path, "refresh_interval = " + "1" * 5000 + "\n")
    settings = load_settings(config_path=path, env={})
    [warning] = settings.warnings
    assert "not valid TOML" in warning
    assert str(path) in warning
    with pytest.raises(ConfigError, match="not valid TOML"):
        save_api_key(path, "sk_new_key_1234567")


# -- what the command line says about a bad file, in every mode ---------------------------


@pytest.mark.parametrize("command", [[], ["tail", "agt_1", "conv_1"]])
@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("api_key = 12345\n", "api_key should be a str; got int"),
        ("api_key = [\n", "not valid TOML"),
    ],
)
def test_without_a_key_the_files_problem_is_named_before_the_way_to_log_in(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    content: str,
    named: str,
) -> None:
    from bimpe_tui import cli

    monkeypatch.delenv("BIMPEAI_API_KEY", raising=False)
    monkeypatch.delenv("BIMPEAI_BASE_URL", raising=False)
    path = tmp_path / "config.toml"
    path.write_text(content)
    path.chmod(0o600)
    assert cli.main(["--config", str(path), *command]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert str(path) in err[0]
    assert named in err[0]
    assert "no API key" in err[1]
    assert "bimpe-tui login" in err[1]


@pytest.mark.parametrize(
    ("where", "named"),
    [("flag", "--base-url"), ("env", "BIMPEAI_BASE_URL"), ("file", "config.toml: base_url")],
)
def test_a_bad_base_url_names_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, named: str
) -> None:
    monkeypatch.delenv("BIMPEAI_BASE_URL", raising=False)
    path = tmp_path / "config.toml"
    env: dict[str, str] = {}
    flag = None
    if where == "file":
        path.write_text('base_url = "ftp://example.com"\n')
    elif where == "env":
        env["BIMPEAI_BASE_URL"] = "ftp://example.com"
    else:
        flag = "ftp://example.com"
    with pytest.raises(ConfigError) as caught:
        load_settings(base_url=flag, config_path=path, env=env)
    assert named in str(caught.value)
    assert "https://host" in str(caught.value)
