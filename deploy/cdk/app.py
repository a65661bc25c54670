#!/usr/bin/env python3
"""The eventcrm CDK app: `cdk deploy` from this directory (docs/deploy.md).

Settings are CDK context values (cdk.json, or `-c eventcrm:corsOrigins=https://app.example.org`);
eventcrm_cdk/config.py lists them.
"""

from __future__ import annotations

import aws_cdk as cdk
from eventcrm_cdk.config import StackConfig
from eventcrm_cdk.stack import EventcrmStack

app = cdk.App()
EventcrmStack(app, "Eventcrm", config=StackConfig.from_context(app.node))
app.synth()
