"""The engine cache (warden.check.cache): same decisions as a fresh load, and no way around it.

Every test gets its own cache directory (``XDG_CACHE_HOME``) and config directory, so nothing
here reads or writes the user's files.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import msgspec
import pytest

from warden.check import cache as cache_mod
from warden.check.cache import cache_dir, load_inputs
from warden.check.engine import Engine
from warden.check.policy.load import default_layers, load_policy
from warden.check.rules.lint import EXAMPLE_CONTEXT, EXAMPLE_HOME, example_action
from warden.check.rules.load import load_packs
from warden.errors import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from corpora import benign_actions, benign_commands, holdout_attacks


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("WARDEN_NO_CACHE", raising=False)


def _entries() -> list[Path]:
    folder = cache_dir()
    return sorted(folder.glob("*.msgpack")) if folder.is_dir() else []


def _payloads() -> list[object]:
    items = [i.payload for i in benign_commands()[::2] + benign_actions() + holdout_attacks()]
    return items + [ex for r in load_packs() for ex in (*r.spec.examples.match,
                                                        *r.spec.examples.no_match)]  # fmt: skip


def test_a_cached_load_equals_a_fresh_one() -> None:
    fresh_policy, fresh_rules = load_inputs(use_cache=False)
    assert _entries() == []
    first = load_inputs()  # fills the cache
    assert len(_entries()) == 1
    second = load_inputs()  # served from it
    for policy, rules in (first, second):
        assert policy == fresh_policy
        assert [(r.spec, r.source) for r in rules] == [(r.spec, r.source) for r in fresh_rules]


def test_cached_and_fresh_engines_decide_the_same() -> None:
    """The benign corpus, the held-out attacks and every rule example, decided both ways."""
    fresh = Engine.from_files(home=EXAMPLE_HOME, cache=False)
    Engine.from_files(home=EXAMPLE_HOME)  # fill
    cached = Engine.from_files(home=EXAMPLE_HOME)
    assert len(_entries()) == 1
    compared = 0
    for payload in _payloads():
        try:
            action = example_action(payload)  # type: ignore[arg-type]
        except Exception:
            continue
        got, want = cached.check(action, EXAMPLE_CONTEXT), fresh.check(action, EXAMPLE_CONTEXT)
        assert got == want, payload
        compared += 1
    assert compared > 2000


def test_entries_are_private_files() -> None:
    load_inputs()
    (entry,) = _entries()
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_dir().stat().st_mode) == 0o700
    assert stat.S_IMODE(cache_dir().parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "damage",
    [b"", b"\x00garbage", b"\x91\x01", msgspec.msgpack.encode({"format": 1})],
    ids=["empty", "garbage", "wrong-shape", "missing-fields"],
)
def test_a_damaged_entry_is_ignored_and_rebuilt(damage: bytes) -> None:
    reference = load_inputs(use_cache=False)
    load_inputs()
    (entry,) = _entries()
    entry.write_bytes(damage)
    policy, rules = load_inputs()
    assert policy == reference[0] and [r.spec for r in rules] == [r.spec for r in reference[1]]
    assert entry.read_bytes() != damage  # rewritten


def _weakened_entry(entry: Path) -> bytes:
    """The entry with every rule turned into an always-allow rule nobody would write."""
    data = msgspec.msgpack.decode(entry.read_bytes())
    for rule in data["rules"]:
        rule[0]["verdict"] = "allow"
    return msgspec.msgpack.encode(data)


def test_an_entry_for_other_inputs_is_not_used() -> None:
    """An entry made for another set of inputs (another key inside) is refused, even under
    this set's name and with the right owner and mode."""
    load_inputs()
    (entry,) = _entries()
    data = msgspec.msgpack.decode(_weakened_entry(entry))
    data["key"] = "0" * 64
    entry.write_bytes(msgspec.msgpack.encode(data))
    engine = Engine.from_files(home=EXAMPLE_HOME)
    decision = engine.check(example_action("cat ~/.ssh/id_rsa"), EXAMPLE_CONTEXT)
    assert decision.verdict.name in ("DENY", "KILL")
    assert msgspec.msgpack.decode(entry.read_bytes())["key"] != "0" * 64  # rebuilt


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_an_entry_others_may_write_is_not_used(mode: int) -> None:
    load_inputs()
    (entry,) = _entries()
    entry.write_bytes(_weakened_entry(entry))
    entry.chmod(mode)
    engine = Engine.from_files(home=EXAMPLE_HOME)
    assert engine.check(example_action("cat ~/.ssh/id_rsa"), EXAMPLE_CONTEXT).verdict.name in (
        "DENY", "KILL")  # fmt: skip


def test_a_cache_directory_others_may_write_is_not_used(tmp_path: Path) -> None:
    load_inputs()
    (entry,) = _entries()
    entry.write_bytes(_weakened_entry(entry))
    cache_dir().chmod(0o777)
    engine = Engine.from_files(home=EXAMPLE_HOME)
    assert engine.check(example_action("cat ~/.ssh/id_rsa"), EXAMPLE_CONTEXT).verdict.name in (
        "DENY", "KILL")  # fmt: skip


def test_a_symlinked_entry_is_not_followed(tmp_path: Path) -> None:
    load_inputs()
    (entry,) = _entries()
    planted = tmp_path / "planted.msgpack"
    planted.write_bytes(_weakened_entry(entry))
    planted.chmod(0o600)
    entry.unlink()
    entry.symlink_to(planted)
    engine = Engine.from_files(home=EXAMPLE_HOME)
    assert engine.check(example_action("cat ~/.ssh/id_rsa"), EXAMPLE_CONTEXT).verdict.name in (
        "DENY", "KILL")  # fmt: skip


def test_a_changed_policy_is_seen_at_once(tmp_path: Path) -> None:
    user = tmp_path / "config" / "warden" / "policy.toml"
    user.parent.mkdir(parents=True)
    user.write_text('[commands]\ndeny = ["make deploy*"]\n')
    action = example_action("make deploy")
    engine = Engine.from_files(home=EXAMPLE_HOME)
    assert engine.check(action, EXAMPLE_CONTEXT).verdict.name == "DENY"
    user.write_text('[commands]\ndeny = ["make release*"]\n')
    engine = Engine.from_files(home=EXAMPLE_HOME)
    assert engine.check(action, EXAMPLE_CONTEXT).verdict.name == "ALLOW"
    assert engine.check(example_action("make release"), EXAMPLE_CONTEXT).verdict.name == "DENY"
    assert len(_entries()) == 2


def test_a_changed_extra_pack_is_seen_at_once(tmp_path: Path) -> None:
    pack = tmp_path / "mine.toml"
    rule = """[pack]
name = "mine"
[[rule]]
id = "mine.no-{name}"
category = "destruction"
severity = "high"
verdict = "deny"
description = "d"
reason = "runs {name}"
[rule.match.exec]
name = "{name}"
[rule.examples]
match = ["{name}"]
"""
    pack.write_text(rule.format(name="frobnicate"))
    policy = tmp_path / "p.toml"
    policy.write_text(f'[packs]\nextra = ["{pack}"]\n')
    for name in ("frobnicate", "defrobnicate"):
        pack.write_text(rule.format(name=name))
        engine = Engine.from_files(policy_files=[str(policy)], home=EXAMPLE_HOME)
        verdict = engine.check(example_action(name), EXAMPLE_CONTEXT).verdict.name
        assert verdict == "DENY", name
        other = "defrobnicate" if name == "frobnicate" else "frobnicate"
        assert engine.check(example_action(other), EXAMPLE_CONTEXT).verdict.name == "ALLOW"


def test_problems_are_reported_every_time(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[policy]\ndefault = "maybe"\n')
    for _ in range(2):
        with pytest.raises(ConfigError) as err:
            Engine.from_files(policy_files=[str(bad)])
        assert "maybe" in str(err.value)
    assert _entries() == []


def test_no_cache_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_NO_CACHE", "1")
    load_inputs()
    Engine.from_files()
    assert _entries() == []


def test_an_unwritable_cache_costs_nothing_but_time(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    policy, rules = load_inputs()
    assert policy == load_policy(default_layers(None)) and len(rules) == len(load_packs())


def test_old_entries_are_pruned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cache_mod, "MAX_ENTRIES", 3)
    for i in range(6):
        ws = tmp_path / f"ws{i}"
        (ws / ".warden").mkdir(parents=True)
        (ws / ".warden" / "policy.toml").write_text(f'[commands]\nask = ["tool{i}"]\n')
        load_inputs(workspace=str(ws))
    assert len(_entries()) == 3
    assert not [p for p in cache_dir().iterdir() if p.name.startswith(".tmp-")]


def test_the_cache_never_executes_code() -> None:
    """Entries are msgpack decoded into typed structs: no pickle, no marshal, no eval."""
    source = Path(cache_mod.__file__).read_text()
    for forbidden in ("import pickle", "import marshal", "eval(", "exec(", "import_module"):
        assert forbidden not in source
