"""One name -> constructor table per component family, so config files, the CLI and Python say the same thing."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from deepfit.errors import ConfigError

T = TypeVar("T")


def _key(name: str) -> str:
    """Normalise a spelling: Keras's `GlorotUniform` and `glorot-uniform` both become `glorotuniform`."""
    return name.replace("_", "").replace("-", "").replace(" ", "").lower()


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered component: its canonical name, constructor, one-line summary and aliases."""

    name: str
    constructor: Callable[..., T]
    summary: str
    aliases: tuple[str, ...] = field(default=())


class Names:
    """A family's vocabulary: canonical names and their aliases, without the constructors.

    Lookup ignores case, underscores and dashes, so `he_normal`, `HeNormal` and `he-normal` are one name.
    Unknown names raise `ConfigError` with the nearest match and the valid names. A `Registry` declared over
    a `Names` (deepfit/names.py) answers the same, so a config is checked before torch is imported.
    """

    def __init__(self, family: str, declared: Iterable[str | tuple[str, ...]] = ()) -> None:
        """`declared`: each canonical name, or a tuple (name, *aliases)."""
        self.family = family
        self._aliases: dict[str, tuple[str, ...]] = {}
        self._lookup: dict[str, str] = {}
        for spelling in declared:
            name, *aliases = (spelling,) if isinstance(spelling, str) else spelling
            self.add(name, tuple(aliases))

    def add(self, name: str, aliases: tuple[str, ...] = ()) -> None:
        """Declare `name` and its `aliases`; a spelling that is already taken is a `ValueError`."""
        for spelling in (name, *aliases):
            key = _key(spelling)
            if self._lookup.get(key, name) != name or (key in self._lookup and spelling == name):
                raise ValueError(f"{self.family} name {spelling!r} is already registered")
            self._lookup[key] = name
        self._aliases[name] = tuple(aliases)

    def names(self) -> list[str]:
        """Canonical names, sorted."""
        return sorted(self._aliases)

    def aliases(self, name: str) -> tuple[str, ...]:
        """The aliases of canonical name `name`."""
        return self._aliases[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _key(name) in self._lookup

    def canonical(self, name: str) -> str:
        """The canonical name of `name` or one of its aliases."""
        if not isinstance(name, str):
            raise ConfigError(f"{self.family} name must be a string, got {name!r}")
        key = _key(name)
        if key not in self._lookup:
            close = difflib.get_close_matches(key, list(self._lookup), n=1, cutoff=0.6)
            hint = f"; did you mean {self._lookup[close[0]]!r}?" if close else ""
            raise ConfigError(f"unknown {self.family} {name!r}{hint} valid: {', '.join(self.names())}")
        return self._lookup[key]


class Registry(Generic[T]):
    """A named family of constructors (initializers, activations, optimizers, schedules, ...).

    Names are looked up as `Names` does. A registry built over declared `Names` (`Registry(names.OPTIMIZERS)`)
    takes only the names declared there, with their declared aliases, so the torch-free vocabulary that
    validates configs and the constructors cannot disagree on a name (tests/test_names.py checks that each
    declared name is registered).
    """

    def __init__(self, family: str | Names) -> None:
        self.declared = family if isinstance(family, Names) else None
        self.family = family.family if isinstance(family, Names) else family
        self._entries: dict[str, Entry[T]] = {}
        self._names = Names(self.family)

    def register(
        self, name: str, *, summary: str, aliases: tuple[str, ...] | None = None
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator that registers `constructor` under `name` and its `aliases`."""

        def decorator(constructor: Callable[..., T]) -> Callable[..., T]:
            self.add(name, constructor, summary=summary, aliases=aliases)
            return constructor

        return decorator

    def add(
        self, name: str, constructor: Callable[..., T], *, summary: str, aliases: tuple[str, ...] | None = None
    ) -> None:
        """Register `constructor` without a decorator (for constructors defined elsewhere, e.g. torch's).

        In a declared registry the aliases are the declaration's, and `aliases` must be left out.
        """
        if self.declared is not None:
            if aliases is not None:
                raise ValueError(f"{self.family} {name!r}: its aliases are declared in deepfit/names.py, not here")
            if name not in self.declared.names():
                raise ValueError(f"{self.family} {name!r} is not declared in deepfit/names.py; declare it there")
            aliases = self.declared.aliases(name)
        self._names.add(name, tuple(aliases or ()))
        self._entries[name] = Entry(name, constructor, summary, tuple(aliases or ()))

    def names(self) -> list[str]:
        """Canonical names, sorted."""
        return sorted(self._entries)

    def entries(self) -> Iterator[Entry[T]]:
        """Entries in name order (for `deepfit list`)."""
        return (self._entries[n] for n in self.names())

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def canonical(self, name: str) -> str:
        """The canonical name of `name` or one of its aliases."""
        return self._names.canonical(name)

    def get(self, name: str) -> Entry[T]:
        """The entry for `name` (canonical or alias)."""
        return self._entries[self.canonical(name)]

    def build(self, name: str, *args: Any, **kwargs: Any) -> T:
        """Call the constructor of `name`; a bad keyword becomes a `ConfigError` that lists the valid ones."""
        entry = self.get(name)
        try:
            return entry.constructor(*args, **kwargs)
        except TypeError as exc:
            if "unexpected keyword argument" in str(exc) or "positional argument" in str(exc):
                raise ConfigError(
                    f"{self.family} {entry.name!r}: {exc}. Valid parameters: {_params(entry.constructor)}"
                ) from None
            raise

    def resolve(self, spec: Any, *args: Any, **kwargs: Any) -> T:
        """Build from a name, a `{"name": ..., **params}` mapping, or return a ready object unchanged."""
        if isinstance(spec, str):
            return self.build(spec, *args, **kwargs)
        if isinstance(spec, Mapping):
            params = dict(spec)
            if "name" not in params:
                raise ConfigError(f"{self.family} spec {spec!r} needs a 'name' key")
            name = params.pop("name")
            return self.build(name, *args, **{**params, **kwargs})
        return spec


def _params(fn: Callable[..., Any]) -> str:
    import inspect

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return "(unknown)"
    names = [p.name for p in sig.parameters.values() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return ", ".join(names) or "(none)"
