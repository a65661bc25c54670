"""The DynamoDB table's keys and indexes: the one place the stack takes them from.

They must match what the DynamoDB storage adapter reads and writes
(docs/dynamodb.md). A single-table design: every entity under a generic
partition and sort key, each access pattern that the base keys do not serve
on a generic global secondary index that projects all attributes.
"""

from __future__ import annotations

from dataclasses import dataclass

PARTITION_KEY = "PK"
SORT_KEY = "SK"
#: Epoch seconds after which DynamoDB deletes an item on its own (expired
#: idempotency keys and the like).
TTL_ATTRIBUTE = "ttl"


@dataclass(frozen=True)
class GlobalIndex:
    name: str
    partition_key: str
    sort_key: str


GLOBAL_INDEXES: tuple[GlobalIndex, ...] = (
    GlobalIndex("GSI1", "GSI1PK", "GSI1SK"),
    GlobalIndex("GSI2", "GSI2PK", "GSI2SK"),
    GlobalIndex("GSI3", "GSI3PK", "GSI3SK"),
)

#: What the functions may do to the table and its indexes, nothing else (no streams,
#: no table management). Transactions need no action of their own: TransactWriteItems
#: is authorised per item as PutItem, UpdateItem, DeleteItem or ConditionCheckItem.
DATA_ACTIONS: tuple[str, ...] = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
