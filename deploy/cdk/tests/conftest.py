"""The CDK stack's tests (``make test-deploy``): deploy/cdk on the import path, and
jsii's notice about the machine's Node.js release kept out of the output."""

from __future__ import annotations

import os
import sys
from pathlib import Path

CDK_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CDK_DIR))
for notice in ("DEPRECATED_NODE_VERSION", "END_OF_LIFE_NODE_VERSION", "UNTESTED_NODE_VERSION"):
    os.environ.setdefault(f"JSII_SILENCE_WARNING_{notice}", "1")
