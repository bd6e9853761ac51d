"""``orderflow trace --html``: one self-contained page, opened in headless Chromium (Debian's
``chromium``, installed by ``make browser``) as a person would open it."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path

from typer.testing import CliRunner

from orderflow_cli.main import app
from tests.browser import render
from tests.unit.cli.test_trace import TREE, put
from tests.unit.cli.trace_fixture import ORDER_ID, order_trace


class Elements(HTMLParser):
    """Every element's tag and attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def where(self, tag: str, css_class: str) -> list[dict[str, str | None]]:
        return [
            attrs
            for name, attrs in self.elements
            if name == tag and css_class in (attrs.get("class") or "").split()
        ]


def test_html_page_renders_every_span_and_the_service_map(mocked_aws: None, tmp_path: Path) -> None:
    order = order_trace(round(time.time() - 120, 3))
    put(order)
    page = tmp_path / "trace.html"
    result = CliRunner().invoke(app, ["trace", ORDER_ID, "--html", str(page)])
    assert result.exit_code == 0, result.output
    source = page.read_text()
    # self-contained: nothing fetched from anywhere
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", source)
    assert "<link" not in source and "@import" not in source

    rendered = render(page, tmp_path / "trace.png")

    dom = Elements()
    dom.feed(rendered.dom)
    rows = dom.where("tr", "span")
    assert [row["data-span-id"] for row in rows] == [order.ids[key] for key in TREE]
    failed = {row["data-span-id"] for row in rows if row["data-failed"] == "true"}
    assert failed == {
        order.ids[key]
        for key in (
            "relay.put1",
            "authorize.invoke1",
            "authorize-1.lambda",
            "authorize-1.function",
            "authorize-1.handler",
            "confirm.update",
        )
    }
    nodes = {node["data-service"]: node for node in dom.where("g", "node")}
    assert set(nodes) == {
        "orderflow-api/prod",
        "Orderflow-PlaceOrder",
        "DynamoDB",
        "Orderflow-OutboxRelay",
        "EventBridge",
        "Orderflow-Saga",
        "Orderflow-ReserveInventory",
        "Orderflow-AuthorizePayment",
        "SQS",
        "Orderflow-ShippingWorker",
        "SFN",
        "Orderflow-ConfirmOrder",
        "Orderflow-Projector",
    }
    assert nodes["Orderflow-AuthorizePayment"]["data-failed"] == "3"
    edges = {(e["data-source"], e["data-target"]): e for e in dom.where("g", "edge")}
    calls = {
        pair: (int(e["data-calls"] or 0), int(e["data-failed"] or 0)) for pair, e in edges.items()
    }
    assert calls == {
        # invoking a function is an edge to it (no Lambda hub); the saga retried one fault
        ("orderflow-api/prod", "Orderflow-PlaceOrder"): (1, 0),
        ("Orderflow-Saga", "Orderflow-ReserveInventory"): (1, 0),
        ("Orderflow-Saga", "Orderflow-AuthorizePayment"): (2, 1),
        ("Orderflow-Saga", "Orderflow-ConfirmOrder"): (1, 0),
        ("Orderflow-Saga", "SQS"): (1, 0),
        # what carried the asynchronous hops keeps its node
        ("Orderflow-PlaceOrder", "DynamoDB"): (2, 0),
        ("DynamoDB", "Orderflow-OutboxRelay"): (1, 0),
        ("Orderflow-OutboxRelay", "EventBridge"): (2, 1),
        ("EventBridge", "Orderflow-Saga"): (1, 0),
        ("EventBridge", "Orderflow-Projector"): (1, 0),
        ("SQS", "Orderflow-ShippingWorker"): (1, 0),
        ("Orderflow-ShippingWorker", "SFN"): (1, 0),
        ("Orderflow-ReserveInventory", "DynamoDB"): (1, 0),
        ("Orderflow-ConfirmOrder", "DynamoDB"): (1, 1),
        ("Orderflow-Projector", "DynamoDB"): (1, 0),
    }
    # the page's script ran: it read every span it embeds
    assert f'data-spans="{len(TREE)}"' in rendered.dom
    assert rendered.screenshot.stat().st_size > 10_000
