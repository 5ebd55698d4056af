import pytest

from ganbench.registry import KINDS, Registry, RegistryError, UnknownNameError, load_all


def test_register_and_create():
    reg = Registry("widgets")

    @reg.register("foo_bar", description="a widget", reference="Someone 2020")
    class Foo:
        def __init__(self, size: int = 3, scale: float = 1.0):
            self.size, self.scale = size, scale

    e = reg.entry("foo_bar")
    assert e.params() == {"size": 3, "scale": 1.0}
    assert reg.create("foo_bar", size=5).size == 5
    assert reg.names() == ["foo_bar"] and "foo_bar" in reg and len(reg) == 1


def test_duplicate_name_is_an_error():
    reg = Registry("widgets")
    reg.add("a", object, description="x")
    with pytest.raises(RegistryError, match="already registered"):
        reg.add("a", object, description="y")


@pytest.mark.parametrize("name", ["Bad", "has-dash", "1abc", ""])
def test_names_must_be_snake_case(name):
    with pytest.raises(RegistryError, match="snake_case"):
        Registry("w").add(name, object, description="x")


def test_description_must_be_one_line():
    with pytest.raises(RegistryError, match="one-line"):
        Registry("w").add("a", object, description="two\nlines")


def test_unknown_name_lists_valid_and_closest():
    reg = Registry("objectives")
    for n in ["minimax", "nonsaturating", "hinge"]:
        reg.add(n, object, description=n)
    with pytest.raises(UnknownNameError) as exc:
        reg.get("minmax")
    msg = str(exc.value)
    assert "unknown objective 'minmax'" in msg
    assert "hinge, minimax, nonsaturating" in msg
    assert "did you mean 'minimax'" in msg


def test_every_kind_loads_and_entries_are_documented():
    regs = load_all()
    assert set(regs) == set(KINDS)
    for kind, reg in regs.items():
        assert len(reg) > 0, kind
        for e in reg.entries():
            assert e.description and "\n" not in e.description
            assert e.reference, f"{kind}/{e.name} has no reference"
            e.params()  # signature readable
