"""Code shared by every orderflow domain service (orders, inventory, payments, shipping,
notifications): the CloudEvent envelope, the event publisher, the error taxonomy and small
observability / AWS helpers. Every domain Lambda bundle must include this package."""
