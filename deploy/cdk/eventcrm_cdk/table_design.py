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
#: idempotent responses and abandoned idempotency-key leases).
TTL_ATTRIBUTE = "ttl"


@dataclass(frozen=True)
class GlobalIndex:
    name: str
    partition_key: str
    sort_key: str


#: As src/eventcrm/storage/dynamodb/schema.py creates them (a test in the
#: application's suite compares the two): GSI1 one collection per kind, GSI2 a
#: user's registrations and the deliveries due; the sparse user indexes by a
#: folded company, job title or city, sorted by the item's own ``PK``.
GLOBAL_INDEXES: tuple[GlobalIndex, ...] = (
    GlobalIndex("GSI1", "GSI1PK", "GSI1SK"),
    GlobalIndex("GSI2", "GSI2PK", "GSI2SK"),
    GlobalIndex("ByCompany", "companyKey", PARTITION_KEY),
    GlobalIndex("ByJobTitle", "jobTitleKey", PARTITION_KEY),
    GlobalIndex("ByCity", "cityKey", PARTITION_KEY),
)

#: What the functions do to the table and its indexes, nothing else (no streams, no
#: table management: the stack creates the table, not ``eventcrm db upgrade``; no
#: Scan or BatchWriteItem, which only the test suite's emptying uses).
#: Transactions need no action of their own: TransactWriteItems is authorised per
#: item as PutItem, UpdateItem, DeleteItem or ConditionCheckItem. DescribeTable is
#: the health check's ping.
DATA_ACTIONS: tuple[str, ...] = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
