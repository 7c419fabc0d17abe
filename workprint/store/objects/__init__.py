"""Event files of a shared store on object storage (S3 API: AWS S3, MinIO, Ceph RGW, …).

Needs the ``scale`` extra (boto3); importing without it is a one-line ``StoreError``."""

from workprint.store.interface import StoreError
from workprint.store.objects.settings import S3Settings, settings_from

try:
    from workprint.store.objects.s3_blobs import S3Blobs
except ModuleNotFoundError as exc:  # pragma: no cover - depends on what is installed
    if exc.name not in ("boto3", "botocore"):
        raise
    raise StoreError(
        "object storage (s3://…) needs boto3: pip install 'workprint[scale]'"
    ) from None

__all__ = ["S3Blobs", "S3Settings", "settings_from"]
