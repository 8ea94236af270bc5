"""Registry: the name → entry mapping behind presets and published weights."""

from __future__ import annotations

import pytest

from perceive_ir._registry import Registry


def test_register_lookup_and_mapping_behaviour():
    reg = Registry[int]("number", {"one": 1})
    reg.register("two", 2)
    reg.register("three", 3)
    assert reg["two"] == 2 and reg.get("four") is None
    assert reg.names() == ["one", "three", "two"]  # sorted
    assert list(reg) == ["one", "two", "three"]  # iteration keeps the registration order
    assert len(reg) == 3 and dict(reg) == {"one": 1, "two": 2, "three": 3}
    assert "one" in reg and "four" not in reg
    assert 3 not in reg and None not in reg  # not a name: simply absent, no error
    assert repr(reg) == "Registry('number', ['one', 'three', 'two'])"


def test_duplicate_names_are_refused_unless_overwritten():
    reg = Registry[str]("model")
    reg.register("a", "first")
    with pytest.raises(ValueError, match="model called 'a' is already registered; pass overwrite=True"):
        reg.register("a", "second")
    assert reg["a"] == "first"
    reg.register("a", "second", overwrite=True)
    assert reg["a"] == "second" and len(reg) == 1
    with pytest.raises(ValueError, match="already registered"):
        Registry("model", {"a": 1}).register("a", 2)


@pytest.mark.parametrize("name", ["", None, 3, ("a",)])
def test_names_must_be_non_empty_strings(name):
    with pytest.raises(ValueError, match="non-empty string"):
        Registry("model").register(name, 1)  # type: ignore[arg-type]


def test_unknown_name_lists_the_known_ones_and_the_advice():
    reg = Registry[int]("degradation preset", {"b": 2, "a": 1}, how_to_add="see register_preset")
    with pytest.raises(KeyError) as info:
        reg["c"]
    assert info.value.args[0] == "Unknown degradation preset 'c'; known: a, b (see register_preset)."
    with pytest.raises(KeyError, match="known: a, b"):
        reg[["unhashable"]]  # type: ignore[index]
    assert isinstance(reg.unknown("z"), KeyError)


def test_unknown_name_uses_the_configured_error_type():
    reg = Registry[int]("model", error=ValueError)
    with pytest.raises(ValueError, match=r"^Unknown model 'x'; known: none\.$"):
        reg["x"]
    reg.register("y", 1)
    with pytest.raises(ValueError, match="known: y") as info:
        reg["x"]
    assert not isinstance(info.value, KeyError)


def test_the_library_registries_report_unknown_names_with_their_advice():
    from perceive_ir.data.degradations.presets import PRESETS
    from perceive_ir.models import create_model
    from perceive_ir.published_weights import PUBLISHED_WEIGHTS

    with pytest.raises(ValueError, match="Unknown model 'no-such-model'; known: .*nafnet-small.*register_model"):
        create_model("no-such-model")
    with pytest.raises(KeyError, match="Unknown degradation preset 'fog'; known: .*noise15"):
        PRESETS["fog"]
    with pytest.raises(KeyError, match="Unknown published checkpoint 'x'.*docs/hub.md"):
        PUBLISHED_WEIGHTS["x"]
