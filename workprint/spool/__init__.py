"""The durable, encrypted local queue between the recorder and the uploader."""

from workprint.spool.device import load_or_create_device_id
from workprint.spool.records import BatchInfo, SpooledBatch, SpoolStats
from workprint.spool.schema import SpoolError
from workprint.spool.spool import MAX_SEQ, Spool

__all__ = [
    "MAX_SEQ",
    "BatchInfo",
    "Spool",
    "SpoolError",
    "SpoolStats",
    "SpooledBatch",
    "load_or_create_device_id",
]
