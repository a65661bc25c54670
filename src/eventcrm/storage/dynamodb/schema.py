"""The one table: its key schema, its indexes, and how it is created.

Items (``PK`` / ``SK``; docs/dynamodb.md draws the access patterns):

=======================  =====================  ================================
item                     PK                     SK
=======================  =====================  ================================
user                     ``USER#<id>``          ``USER``
event                    ``EVENT#<id>``         ``EVENT``
registration             ``EVENT#<event id>``   ``REG#<user id>``
category / template /    ``CATEGORY#<id>`` ...  ``CATEGORY`` ...
segment
campaign                 ``CAMPAIGN#<id>``      ``CAMPAIGN``
delivery                 ``DELIVERY#<n>``       ``DELIVERY``
API key                  ``APIKEY#<prefix>``    ``APIKEY``
idempotent response      ``IDEM#<scope>#<key>`` ``RESPONSE``
idempotency key lock     ``IDEM#<scope>#<key>`` ``LOCK``
uniqueness guard         ``EMAIL#<email>``,      ``GUARD``
                         ``SLUG#<slug>``,
                         ``NAME#<kind>#<name>``
sequence                 ``SEQ#<name>``         ``SEQ``
=======================  =====================  ================================

Indexes (all project every attribute; GSI reads are eventually consistent):

- ``GSI1`` (``GSI1PK``/``GSI1SK``): one collection per kind (``USER``, ``EVENT``,
  ``CATEGORY``, ...) by id; a campaign's deliveries (``DELIVERIES#<campaign>``) by
  number; idempotent responses by expiry (``IDEM``).
- ``GSI2`` (``GSI2PK``/``GSI2SK``): a user's registrations (``USER#<id>`` →
  ``EVENT#<event id>``); deliveries still to do (``DUE`` → due time and number;
  sparse: only queued and sending deliveries carry it).
- ``ByCompany``, ``ByJobTitle``, ``ByCity``: users by a folded attribute (sparse:
  only users that have one), as in the users design of the earlier system.
"""

from __future__ import annotations

import asyncio
from typing import Any

from botocore.exceptions import ClientError

GSI1, GSI2 = "GSI1", "GSI2"
#: Sparse user indexes: index name -> (key attribute, user field).
USER_INDEXES = {
    "ByCompany": ("companyKey", "company"),
    "ByJobTitle": ("jobTitleKey", "job_title"),
    "ByCity": ("cityKey", "city"),
}
TTL_ATTRIBUTE = "ttl"


def _index(name: str, hash_key: str, range_key: str) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": range_key, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def table_definition(name: str) -> dict[str, Any]:
    attributes = ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"]
    attributes += [key for key, _ in USER_INDEXES.values()]
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            _index(GSI1, "GSI1PK", "GSI1SK"),
            _index(GSI2, "GSI2PK", "GSI2SK"),
            *(_index(index, key, "PK") for index, (key, _) in USER_INDEXES.items()),
        ],
    }


async def create_table(client: Any, name: str, *, poll: float = 0.5) -> bool:
    """Create the table and its indexes unless it exists; wait until it and every index
    is ACTIVE; turn on TTL. Returns whether the table was created."""
    created = False
    try:
        await client.create_table(**table_definition(name))
        created = True
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    while True:
        table = (await client.describe_table(TableName=name))["Table"]
        indexes = table.get("GlobalSecondaryIndexes", [])
        if table["TableStatus"] == "ACTIVE" and all(
            i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes
        ):
            break
        await asyncio.sleep(poll)
    wanted = {i["IndexName"] for i in table_definition(name)["GlobalSecondaryIndexes"]}
    missing = wanted - {i["IndexName"] for i in indexes}
    if missing:
        raise RuntimeError(
            f"table {name!r} exists without the indexes {sorted(missing)}: "
            "it was not created by eventcrm"
        )
    ttl = await client.describe_time_to_live(TableName=name)
    if ttl["TimeToLiveDescription"].get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        await client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    return created
