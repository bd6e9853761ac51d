"""``make deploy``'s wait for orders' catalogue copy (emulator/catalogue_ready.py): what it
expects comes from the synthesised seed, and it names what is missing when it gives up."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from emulator import catalogue_ready

TEMPLATE = {
    "Resources": {
        "Seed": {
            "Type": "Custom::ProductsSeed",
            "Properties": {
                "ServiceToken": "arn",
                "Products": [
                    {"sku": "SKU-MUG-001", "price": "12.50", "available": 100},
                    {"sku": "SKU-STK-004", "price": "4.99", "available": 10},
                ],
            },
        },
        "Other": {"Type": "AWS::SQS::Queue", "Properties": {}},
    }
}


def test_the_expected_prices_are_the_seeds() -> None:
    assert catalogue_ready.seeded_prices(TEMPLATE) == {
        "SKU-MUG-001": Decimal("12.50"),
        "SKU-STK-004": Decimal("4.99"),
    }


def test_a_copy_missing_a_sku_or_holding_another_price_is_not_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copy = {"SKU-MUG-001": Decimal("12.5")}  # DynamoDB drops the trailing zero
    monkeypatch.setattr(catalogue_ready, "copied_prices", lambda table, skus: dict(copy))
    expected = catalogue_ready.seeded_prices(TEMPLATE)
    assert catalogue_ready.missing(expected, "orders") == {"SKU-STK-004": Decimal("4.99")}
    copy["SKU-STK-004"] = Decimal("5.00")
    assert catalogue_ready.missing(expected, "orders") == {"SKU-STK-004": Decimal("4.99")}
    copy["SKU-STK-004"] = Decimal("4.99")
    assert catalogue_ready.wait(expected, "orders", timeout_s=0) >= 0


def test_it_gives_up_after_its_bound_naming_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(catalogue_ready, "copied_prices", lambda table, skus: {})
    monkeypatch.setattr(catalogue_ready.time, "sleep", lambda seconds: None)
    expected = catalogue_ready.seeded_prices(TEMPLATE)
    with pytest.raises(SystemExit, match=re.escape("SKU-MUG-001 12.50, SKU-STK-004 4.99")):
        catalogue_ready.wait(expected, "orders", timeout_s=0)
