"""The shipping console. Shipments are made and moved only by logistics.services."""

from . import carriers, claims, coverage, handover, interceptions, remittances, shipments, tracking_pools, waves  # noqa: F401  (each registers its ModelAdmins)
