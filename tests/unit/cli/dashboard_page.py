"""Reading a page ``orderflow dashboard --html`` wrote (or Chromium's DOM of it): its widgets,
and each widget's series with the values and timestamps its chart drew."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Every descendant with that tag (any, if None) and those attributes
        (``class_="x"`` matches one of the element's classes)."""
        found = []
        for child in self.children:
            if _matches(child, tag, attrs):
                found.append(child)
            found += child.all(tag, **attrs)
        return found

    def one(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def full_text(self) -> str:
        return " ".join([*self.text, *(child.full_text() for child in self.children)]).strip()


def _matches(element: Element, tag: str | None, attrs: dict[str, str]) -> bool:
    if tag is not None and element.tag != tag:
        return False
    for name, value in attrs.items():
        if name == "class_":
            if value not in element.classes:
                return False
        elif element.attrs.get(name.replace("_", "-")) != value:
            return False
    return True


_VOID = {"meta", "br", "hr", "img", "input", "link", "line", "rect", "path", "polyline", "polygon"}
"""Elements that hold nothing (HTML's void elements, and the SVG shapes the page draws)."""


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {n: v or "" for n, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.stack[-1].text.append(data.strip())


def parse(page: str) -> Element:
    builder = _Builder()
    builder.feed(page)
    return builder.root


def widgets(page: str) -> dict[str, Element]:
    """The page's widgets by title."""
    return {section.attrs["data-title"]: section for section in parse(page).all("section")}


def series(widget: Element) -> dict[str, Element]:
    """A widget's drawn series by label (``data-label``)."""
    return {
        element.attrs["data-label"]: element
        for element in widget.all()
        if "data-series-id" in element.attrs and "data-label" in element.attrs
    }


def values(element: Element) -> list[float]:
    raw = element.attrs["data-values"]
    return [float(value) for value in raw.split(",")] if raw else []


def timestamps(element: Element) -> list[str]:
    raw = element.attrs["data-timestamps"]
    return raw.split(",") if raw else []
