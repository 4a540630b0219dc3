"""The shipping console. Shipments are made and moved only by logistics.services."""

from . import carriers, coverage, handover, remittances, shipments, waves  # noqa: F401  (each registers its ModelAdmins)
