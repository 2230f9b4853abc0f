"""Source of the fixture projects' shop models, shared by the context tests."""

MODELS = '''
"""Shop models."""
from dataclasses import dataclass
from decimal import Decimal


@dataclass
class LineItem:
    """One product line of an order."""

    sku: str
    quantity: int
    unit_price: Decimal


@dataclass
class Order:
    """An order placed by a customer."""

    number: str
    items: list[LineItem]
    currency: str = "EUR"

    def add(self, item: LineItem) -> None:
        """Append an item to the order."""
        self.items.append(item)

    def item_count(self) -> int:
        return sum(i.quantity for i in self.items)


class Customer:
    def __init__(self, name: str, email: str) -> None:
        self.name = name
        self.email = email


TAX_RATE = Decimal("0.21")
'''
