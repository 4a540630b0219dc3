"""The channel REST API (/api/v1/): sales channels push orders, follow them and read stock.

Channels authenticate with their own token and see only their own orders; every change goes
through `orders.services`, as the console's do. `logistics.api` adds shipments to the order views
and `inventory.api` describes products, so the router in `config/api_urls.py` registers those."""
