"""Creating and reading items."""

import uuid

from skeleton.dal import SkeletonRepository
from skeleton.models import CreateItemRequest, Item


class ItemNotFoundError(Exception):
    """No item has the requested id."""

    def __init__(self, item_id: str) -> None:
        super().__init__(f"item {item_id} not found")
        self.item_id = item_id


def create_item(request: CreateItemRequest, repository: SkeletonRepository) -> Item:
    """Stores a new item under a fresh id and returns it."""
    item = Item(id=str(uuid.uuid4()), name=request.name)
    repository.put_item(item)
    return item


def get_item(item_id: str, repository: SkeletonRepository) -> Item:
    """The item with ``item_id``; raises ``ItemNotFoundError`` if there is none."""
    item = repository.get_item(item_id)
    if item is None:
        raise ItemNotFoundError(item_id)
    return item
