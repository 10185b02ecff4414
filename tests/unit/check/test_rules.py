"""Rule packs: every rule's own examples, and strict loading with file:line errors."""

from pathlib import Path

import pytest

from warden.check.rules.lint import lint
from warden.check.rules.load import CATEGORIES, builtin_pack_paths, load_packs
from warden.errors import RuleError

from .conftest import example_engine

RULES = load_packs()


def test_builtin_packs_load_and_cover_every_threat_category() -> None:
    assert len(builtin_pack_paths()) >= 12
    categories = {r.spec.category for r in RULES}
    threats = set(CATEGORIES) - {"analysis", "policy"}
    assert threats <= categories, threats - categories


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.spec.id)
def test_rule_examples(rule) -> None:
    problems = lint(example_engine(), [rule])
    assert not problems, "\n".join(map(str, problems))


def test_every_rule_has_positive_examples_and_most_have_negatives() -> None:
    assert all(r.spec.examples.match for r in RULES)
    with_negatives = sum(1 for r in RULES if r.spec.examples.no_match)
    assert with_negatives / len(RULES) > 0.9


#: The fields every test rule needs; a test overrides or drops (None) only what it is about.
_RULE_DEFAULTS = {
    "category": '"exfiltration"', "severity": '"high"', "verdict": '"deny"',
    "description": '"d"', "reason": '"r"', "examples.match": '["x"]',
}


_MARKER_MATCH = '[rule.match.marker]\nname = "m"'


def _rule(rule_id: str, match: str = _MARKER_MATCH, **fields: str | None) -> str:
    """One ``[[rule]]`` table in TOML: the defaults, overridden by ``fields``, then ``match``."""
    values = {**_RULE_DEFAULTS, **{k.replace("__", "."): v for k, v in fields.items()}}
    lines = ["[[rule]]", f"id = {rule_id}"]
    lines += [f"{key} = {value}" for key, value in values.items() if value is not None]
    return "\n".join([*lines, match]) + "\n"


def _pack(tmp_path: Path, *rules: str) -> Path:
    path = tmp_path / "pack.toml"
    path.write_text('[pack]\nname = "t"\n\n' + "\n".join(rules))
    return path


def _line(path: Path, needle: str, nth: int = 1) -> int:
    """The line number of the nth line containing ``needle``."""
    hits = [n for n, text in enumerate(path.read_text().splitlines(), 1) if needle in text]
    return hits[nth - 1]


def test_unknown_key_is_refused_with_its_line(tmp_path) -> None:
    path = _pack(tmp_path, _rule('"t.one"', '[rule.match.file]\npaht = ["/etc/x"]'))
    with pytest.raises(RuleError) as err:
        load_packs([path], builtin=False)
    issue = err.value.issues[0]
    assert issue.line == _line(path, "paht") and "paht" in issue.message


def test_all_problems_reported_at_once(tmp_path) -> None:
    path = _pack(
        tmp_path,
        _rule('"Bad Id"', category='"nonsense"', severity='"extreme"', technique='"X1"',
              examples__match=None),
        _rule('"t.two"'),
        _rule('"t.two"'),
    )
    with pytest.raises(RuleError) as err:
        load_packs([path], builtin=False)
    text = str(err.value)
    for fragment in ("dotted lower-case", "unknown category", "unknown severity", "ATT&CK",
                     "examples.match", "duplicate rule id 't.two'"):
        assert fragment in text, text
    assert f"{path}:{_line(path, 'Bad Id')}" in text
    assert f"{path}:{_line(path, 't.two', nth=2)}" in text  # the duplicate's id


def test_empty_selection_is_refused(tmp_path) -> None:
    path = _pack(tmp_path, _rule('"t.empty"', "[rule.match]"))
    with pytest.raises(RuleError, match="empty selection"):
        load_packs([path], builtin=False)


def test_bad_regex_is_refused_at_compile(tmp_path) -> None:
    from warden.check.engine import Engine
    from warden.check.policy.load import Layer, builtin_policy_path, load_policy

    path = _pack(tmp_path, _rule('"t.rx"', "[rule.match.exec]\nargv = '(a'"))
    rules = load_packs([path], builtin=False)
    with pytest.raises(RuleError, match="invalid or non-RE2 regex"):
        Engine(load_policy([Layer(builtin_policy_path(), "builtin")]), rules)


def test_backreferences_are_refused_because_re2_is_linear(tmp_path) -> None:
    from warden.check.rules.compile import compile_regex

    with pytest.raises(ValueError):
        compile_regex(r"(a)\1")


def test_syntax_error_has_a_line(tmp_path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[pack]\nname = "t"\n[[rule]]\nid = "x\n')
    with pytest.raises(RuleError) as err:
        load_packs([path], builtin=False)
    assert err.value.issues[0].line == 4


def test_generated_matchers_agree_with_the_reference_semantics() -> None:
    """Every compiled selection's generated matcher gives the same hits as the plain loop."""
    import sys
    from pathlib import Path

    from warden.check.rules.compile import ActionView
    from warden.check.rules.lint import EXAMPLE_CONTEXT, example_action

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
    from corpora import benign_commands, holdout_attacks

    engine = example_engine()
    items = [i.payload for i in benign_commands()[::4] + holdout_attacks()]
    items += [ex for r in RULES for ex in r.spec.examples.match]
    compared = matched = 0
    for payload in items:
        action = example_action(payload)
        facts = engine.facts(action, EXAMPLE_CONTEXT)
        view = ActionView(action, action.command or "")
        for rule in (*engine.rules, *engine.combos):
            for sel in rule.selections:
                fast, slow = sel.match(facts, view), sel.match_slow(facts, view)
                assert fast == slow, (rule.id, payload)
                compared += 1
                matched += fast is not None
    assert compared > 100_000 and matched > 500


def test_path_index_agrees_with_per_condition_regexes(monkeypatch) -> None:
    """The shared RE2 path index gives exactly the decisions the per-condition regexes give."""
    import sys
    from pathlib import Path

    from warden.check.engine import Engine
    from warden.check.rules.compile import PathIndex
    from warden.check.rules.lint import EXAMPLE_CONTEXT, EXAMPLE_HOME, example_action

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
    from corpora import benign_actions, benign_commands, holdout_attacks

    indexed = Engine.builtin(home=EXAMPLE_HOME)
    assert indexed.rules[0] is not None
    monkeypatch.setattr(PathIndex, "compile", lambda self: None)
    plain = Engine.builtin(home=EXAMPLE_HOME)
    payloads = [i.payload for i in benign_commands()[::3] + benign_actions() + holdout_attacks()]
    payloads += [ex for r in RULES for ex in (*r.spec.examples.match, *r.spec.examples.no_match)]
    for payload in payloads:
        action = example_action(payload)
        a, b = indexed.check(action, EXAMPLE_CONTEXT), plain.check(action, EXAMPLE_CONTEXT)
        assert a == b, payload


def test_rule_index_gates_and_path_prefilter_agree_with_trying_every_selection() -> None:
    """What the engine matches through its index (gates, exec flags) and the per-action path
    prefilter (PathReach) is exactly what trying every selection of every rule matches."""
    import sys

    from warden.check.analyze import primary_text
    from warden.check.engine import _Present
    from warden.check.rules.compile import ActionView, PathReach
    from warden.check.rules.lint import EXAMPLE_CONTEXT, example_action

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
    from corpora import benign_actions, benign_commands, holdout_attacks

    engine = example_engine()
    assert engine._path_index.ready
    payloads = [i.payload for i in benign_commands()[::2] + benign_actions() + holdout_attacks()]
    payloads += [ex for r in RULES for ex in (*r.spec.examples.match, *r.spec.examples.no_match)]
    skipped = matched = pathless = 0
    for payload in payloads:
        action = example_action(payload)
        facts = engine.facts(action, EXAMPLE_CONTEXT)
        view = ActionView(action, primary_text(action))
        every = {}
        for rule in engine.rules:
            hit = engine._match(rule, rule.selections, facts, view)
            if hit is not None:
                every[rule.id] = hit
        reach = PathReach(facts.files, engine._path_index) if facts.files else None
        indexed = {}
        for rule, selections in engine._candidates(facts, action.kind, reach):
            hit = engine._match(rule, selections, facts, view, reach)
            if hit is not None:
                indexed[rule.id] = hit
            if reach is not None:
                skipped += sum(1 for s in selections if s.path_needs
                               and not reach.may_meet(s.path_needs))  # fmt: skip
        assert indexed == every, payload
        matched += len(every)
        full = engine._index.candidates(_Present.of(facts, action.kind))
        pathless += len(full) - len(engine._candidates(facts, action.kind, reach))
    assert matched > 1_000 and skipped > 1_000  # both sides do real work
    assert pathless > 1_000  # the index's path-free lists are used, and drop selections


def test_path_index_detour_screens_hold_every_pattern_the_condition_can_meet() -> None:
    """PathReach skips a file selection for a glob access or a directory taken whole only
    through the index's screens; each must hold every pattern the exact comparison (what the
    path condition itself runs) can meet, and screen out some."""
    import sys

    from warden.check.paths import globs_intersect
    from warden.check.rules.compile import _Inside
    from warden.check.rules.lint import EXAMPLE_CONTEXT, example_action

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
    from corpora import benign_actions, benign_commands, holdout_attacks

    engine = example_engine()
    index = engine._path_index
    patterns = list(index._ids.items())
    globs = {"/home/dev/.ss?/id_*", "/home/*/.ssh/*", "/*", "/home/dev/**", "**", "*",
             "/etc/*/shadow", "/home/dev/.aws/cred[a-z]*", "/home/dev/.[a-z]*/**",
             "/home/dev/project/src/*.py", "/root/.ssh/[!a]*", "/x/a.txt",
             "/home/dev/.config/*/History"}  # fmt: skip
    dirs = {"/", "/home/", "/home/dev/", "/home/dev/.ssh/", "/home/dev/project/", "/etc/",
            "/var/", "/root/", "/home/dev/.config/google-chrome/"}  # fmt: skip
    payloads = [i.payload for i in benign_commands() + benign_actions() + holdout_attacks()]
    for payload in payloads:
        for item in engine.facts(example_action(payload), EXAMPLE_CONTEXT).files:
            for form in item.forms():
                (globs if item.glob else dirs).add(form if item.glob else form.rstrip("/") + "/")
    screened = 0
    for g in sorted(globs):
        exact = {i for p, i in patterns if globs_intersect(p, g)}
        screen = index.glob_screen(g)
        assert exact <= screen, g
        screened += len(patterns) - len(screen)
    for d in sorted(dirs):
        exact = {i for p, i in patterns if _Inside([p]).names(d)}  # the condition's own test
        screen = index.inside_screen(d)
        assert exact <= screen, d
        screened += len(patterns) - len(screen)
    assert len(globs) > 50 and len(dirs) > 500
    assert screened > 100 * len(patterns)  # the screens do drop patterns
