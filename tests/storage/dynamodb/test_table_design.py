"""The deployment's table (deploy/cdk/eventcrm_cdk/table_design.py) is the table the
adapter creates and uses: same keys, same indexes, same TTL attribute."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from eventcrm.storage.dynamodb import schema

DESIGN = Path(__file__).parents[3] / "deploy" / "cdk" / "eventcrm_cdk" / "table_design.py"


def table_design() -> ModuleType:
    spec = importlib.util.spec_from_file_location("table_design", DESIGN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def keys(key_schema: list[dict[str, str]]) -> list[str]:
    order = {"HASH": 0, "RANGE": 1}
    return [k["AttributeName"] for k in sorted(key_schema, key=lambda k: order[k["KeyType"]])]


def test_the_deployed_table_has_the_adapters_keys_indexes_and_ttl() -> None:
    design = table_design()
    table = schema.table_definition("eventcrm")
    assert keys(table["KeySchema"]) == [design.PARTITION_KEY, design.SORT_KEY]
    created = {
        index["IndexName"]: (keys(index["KeySchema"]), index["Projection"]["ProjectionType"])
        for index in table["GlobalSecondaryIndexes"]
    }
    designed = {
        index.name: ([index.partition_key, index.sort_key], "ALL")
        for index in design.GLOBAL_INDEXES
    }
    assert designed == created
    assert design.TTL_ATTRIBUTE == schema.TTL_ATTRIBUTE


def test_the_deployed_functions_may_call_what_the_adapter_calls_at_run_time() -> None:
    source = "\n".join(p.read_text() for p in Path(schema.__file__).parent.glob("*.py"))
    runtime = {"get_item", "batch_get_item", "query", "update_item", "delete_item"}
    runtime |= {"transact_write_items", "describe_table"}
    for call in runtime:
        assert f'"{call}"' in source, call
    actions = set(table_design().DATA_ACTIONS)
    # TransactWriteItems is authorised per item as these four.
    needed = {"GetItem", "BatchGetItem", "Query", "UpdateItem", "DeleteItem", "DescribeTable"}
    needed |= {"PutItem", "ConditionCheckItem"}
    assert actions == {f"dynamodb:{n}" for n in needed}
