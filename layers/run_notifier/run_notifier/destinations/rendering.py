"""How a destination declares which announcements it renders: `@renders(Type)` on a method.

A destination class derives from `Rendering`, says its `kind`, its `traits` and its service's
`limits`, and marks one method per announcement type it says something of::

    class WebhookDestination(Rendering):
        kind = KIND

        @renders(RunEndAnnouncement)
        def _run_end(self, announcement: RunEndAnnouncement, deadline: Deadline) -> str: ...

The notifier asks `deliveries(announcement)` and gets one send per renderer (claimed under the
destination's kind), or several where the renderer says so (``several=True``: it returns its own
(claim kind, send) pairs), or none where it has no renderer for the type or its ``when`` says no.
A new alert kind reaches a destination kind by one renderer, here or from outside (`add_renderer`):
nothing else in the delivery path changes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, NamedTuple, TypeVar

from run_notifier.domain.announcements import Announcement
from run_notifier.domain.ports import Limits, Send, Traits

F = TypeVar("F", bound=Callable[..., Any])


class _Renderer(NamedTuple):
    """A renderer: ``render(destination, announcement, deadline) -> detail`` (or, with ``several``,
    ``render(destination, announcement) -> [(claim kind, send)]``); ``when(destination, announcement)``
    says whether this destination takes this one (no delivery and no claim otherwise)."""

    render: Callable[..., Any]
    several: bool = False
    when: Callable[[Any, Any], bool] | None = None


_MARK = "_renders_announcement"


def renders(
    announcement_type: type[Announcement],
    *,
    several: bool = False,
    when: Callable[[Any, Any], bool] | None = None,
) -> Callable[[F], F]:
    """Mark a method of a `Rendering` class as its renderer of ``announcement_type``."""

    def mark(method: F) -> F:
        setattr(method, _MARK, (announcement_type, _Renderer(method, several, when)))
        return method

    return mark


class Rendering:
    """Base of every destination: its renderers by announcement type, collected from its marked methods."""

    kind: ClassVar[str]
    traits: ClassVar[Traits] = Traits()
    limits: ClassVar[Limits] = Limits()
    _renderers: ClassVar[dict[type[Announcement], _Renderer]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found = dict(cls._renderers)  # a subclass renders what its base does, unless it says otherwise
        for value in vars(cls).values():
            marked = getattr(value, _MARK, None)
            if marked is not None:
                found[marked[0]] = marked[1]
        cls._renderers = found

    def renders(self, announcement_type: type[Announcement]) -> bool:
        """Whether it has a renderer for this type of announcement."""
        return announcement_type in self._renderers

    def deliveries(self, announcement: Announcement) -> list[Send]:
        """One send per renderer (claimed under `kind`), or the renderer's own sends; [] when none applies."""
        renderer = self._renderers.get(type(announcement))
        if renderer is None or (renderer.when is not None and not renderer.when(self, announcement)):
            return []
        if renderer.several:
            return list(renderer.render(self, announcement))
        return [(self.kind, partial(renderer.render, self, announcement))]


def add_renderer(
    destination_class: type[Rendering],
    announcement_type: type[Announcement],
    render: Callable[..., str],
) -> Callable[[], None]:
    """Give a destination class a renderer from outside it (a new alert kind's module); returns the undo."""
    before = destination_class._renderers
    destination_class._renderers = {**before, announcement_type: _Renderer(render)}
    return lambda: setattr(destination_class, "_renderers", before)
