import pytest

from ganbench.registry import KINDS, Registry, RegistryError, UnknownNameError, registry


def load_all():
    return {k: registry(k) for k in KINDS}


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


# --- base classes ------------------------------------------------------------------------

from abc import ABC, abstractmethod  # noqa: E402

from ganbench.registry import Functions  # noqa: E402


class Widget(ABC):
    @abstractmethod
    def spin(self) -> int: ...

    def colour(self) -> str:  # must be overridden although not marked abstract
        raise NotImplementedError


def test_base_class_is_checked_at_registration():
    reg = Registry("widgets", base=Widget, required=("colour",))

    class Good(Widget):
        def spin(self):
            return 1

        def colour(self):
            return "red"

    reg.add("good", Good, description="x")
    assert reg.create("good").spin() == 1

    class Stranger:  # not a Widget
        def spin(self):
            return 1

    with pytest.raises(RegistryError) as exc:
        reg.add("stranger", Stranger, description="x")
    msg = str(exc.value)
    assert "widgets plug-in 'stranger'" in msg and "Stranger" in msg
    assert "expected a subclass of" in msg and msg.endswith(".Widget")

    class NoSpin(Widget):
        def colour(self):
            return "blue"

    with pytest.raises(RegistryError, match=r"'no_spin'.*unimplemented: spin"):
        reg.add("no_spin", NoSpin, description="x")

    class NoColour(Widget):
        def spin(self):
            return 2

    with pytest.raises(RegistryError, match=r"'no_colour'.*unimplemented: colour"):
        reg.add("no_colour", NoColour, description="x")
    assert reg.names() == ["good"]  # nothing half-registered


def test_factories_are_declared_and_their_product_checked():
    reg = Registry("widgets", base=Widget)

    class Spinner(Widget):
        def __init__(self, speed: int = 1):
            self.speed = speed

        def spin(self):
            return self.speed

    def fast(speed: int = 9) -> Widget:
        return Spinner(speed)

    with pytest.raises(RegistryError, match="factory=True"):
        reg.add("fast", fast, description="x")
    reg.add("fast", fast, description="x", factory=True)
    assert reg.entry("fast").params() == {"speed": 9}
    assert reg.create("fast", speed=3).spin() == 3

    reg.add("liar", lambda: "not a widget", description="x", factory=True)
    with pytest.raises(RegistryError, match=r"'liar': its factory returned a str, expected an instance of"):
        reg.create("liar")
    with pytest.raises(RegistryError, match="factory=True needs a function"):
        reg.add("cls", Spinner, description="x", factory=True)


def test_function_registries_check_the_leading_parameters():
    reg = Registry("figures", base=Functions(("results_dir", "out")))

    def good(results_dir, out, size: int = 3):
        return size

    def bad(out, results_dir):
        return None

    reg.add("good", good, description="x")
    assert reg.entry("good").params() == {"size": 3}  # options only
    with pytest.raises(RegistryError, match=r"expected a function fn\(results_dir, out"):
        reg.add("bad", bad, description="x")
    with pytest.raises(RegistryError, match="expected a function"):
        reg.add("klass", Widget, description="x")


def test_every_kind_has_a_base_and_its_builtins_pass_it():
    from ganbench.registry import abstract_left

    for kind, reg in load_all().items():
        assert reg.base is not None, kind
        for e in reg.entries():
            reg.check(e.name, e.obj, e.factory)  # what registration checked
            if isinstance(reg.base, type) and not e.factory:
                assert issubclass(e.obj, reg.base) and not abstract_left(e.obj, reg.required, reg.base)


# (regularizers are left out: every hook of theirs has a neutral default)
@pytest.mark.parametrize("kind", ["objectives", "schemes", "datasets", "models", "metrics"])
def test_a_bare_subclass_of_each_base_is_refused(kind):
    reg = load_all()[kind]
    bare = type("Bare", (reg.base,), {})
    with pytest.raises(RegistryError, match=f"{kind} plug-in 'bare'.*unimplemented"):
        reg.check("bare", bare)


def test_regularizers_refuse_a_non_regularizer():
    with pytest.raises(RegistryError, match="expected a subclass of ganbench.objectives.regularizers.Regularizer"):
        load_all()["regularizers"].check("thing", object)


def test_a_kind_can_validate_declarations_at_registration():
    def needs_colour(name, cls):
        return [] if isinstance(getattr(cls, "colour", None), str) else [f"{name} declares no colour"]

    reg = Registry("widgets", base=Widget, validate=needs_colour)

    class Red(Widget):
        colour = "red"

        def spin(self):
            return 1

    class Plain(Widget):
        colour = None

        def spin(self):
            return 1

    reg.add("red", Red, description="x")
    with pytest.raises(RegistryError, match=r"widgets plug-in 'plain' .*: plain declares no colour"):
        reg.add("plain", Plain, description="x")
