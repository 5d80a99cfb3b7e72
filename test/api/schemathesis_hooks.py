"""Schemathesis hooks of test/api/schemathesis.spec.ts (loaded through SCHEMATHESIS_HOOKS).

The document cannot say which model names a deployment serves, that the LLM-only options are refused for
an encoder model, nor which webhook hosts resolve here (no network: every public name fails the SSRF
guard's lookup). Left alone, most generated bodies stop at those 400s and never reach scoring or queueing,
and the stateful phase gets no job to chain. So a generated model name becomes the served one, the other
families' options are dropped, and a well-formed http(s) webhook URL points at a closed loopback port
(allow-listed by the spec); every other field, malformed webhook URLs included, stays as generated.
"""
import os
import re

import schemathesis

SERVED_MODEL = os.environ["RERANK_FUZZ_MODEL"]
WEBHOOK_URL = os.environ["RERANK_FUZZ_WEBHOOK_URL"]
OTHER_FAMILY_OPTIONS = ("prompt", "cutoff_layers", "compress_ratio", "compress_layers")


@schemathesis.hook
def map_body(context, body):
    if not isinstance(body, dict):
        return body
    if isinstance(body.get("model"), str):
        body["model"] = SERVED_MODEL
    for field in OTHER_FAMILY_OPTIONS:
        body.pop(field, None)
    webhook = body.get("webhook")
    if isinstance(webhook, dict) and isinstance(webhook.get("url"), str) and re.match(r"^https?://", webhook["url"]):
        webhook["url"] = WEBHOOK_URL
    return body
