"""The Python rerank clients people already use, unchanged, against a running stack (test/api/contract-edges.spec.ts).

Each client is pointed at the API by base URL and key only, as its own documentation shows for a
self-hosted server, and asked the same question. Printed on stdout, one JSON object: per client,
either {"results": [[index, score], ...] best first, ...what else it returned} or {"error": "<type>: <message>"},
so the test can assert exact scores and, where a client cannot work, its exact failure.

    .venv-clients/bin/python python/clients/run_clients.py --base http://127.0.0.1:PORT --key KEY \
        --model tiny --query "..." --documents '["...", ...]' --top-n 2 [--many-documents '["...", ...]']

--many-documents: rerankers' TEI ranker is asked again with these (it sends top_n = their number).
"""

import argparse
import contextlib
import json
import os
import sys
import traceback

# LiteLLM fetches its model price map from GitHub at import unless told to use the copy it ships.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def infinity_client_rerank(a):
    """Infinity's generated client (infinity_client): base URL <api>/infinity, the bearer key."""
    from infinity_client import AuthenticatedClient
    from infinity_client.api.default import rerank
    from infinity_client.models import RerankInput

    client = AuthenticatedClient(base_url=f"{a.base}/infinity", token=a.key)
    body = RerankInput(query=a.query, documents=a.documents, model=a.model, return_documents=True, top_n=a.top_n)
    reply = rerank.sync(client=client, body=body)
    if reply is None or not hasattr(reply, "results"):
        raise RuntimeError(f"no RerankObject parsed: {reply!r}")
    return {
        "results": [[r.index, r.relevance_score] for r in reply.results],
        "documents": [r.document for r in reply.results],
        "prompt_tokens": reply.usage.prompt_tokens,
        "total_tokens": reply.usage.total_tokens,
    }


def langchain_infinity_rerank(a):
    """LangChain's InfinityRerank (langchain_community) over infinity_client, as a document compressor."""
    from infinity_client import Client
    from langchain_community.document_compressors.infinity_rerank import InfinityRerank
    from langchain_core.documents import Document

    # InfinityRerank takes infinity_client's Client (not AuthenticatedClient): the key goes in its headers.
    client = Client(base_url=f"{a.base}/infinity", headers={"Authorization": f"Bearer {a.key}"})
    compressor = InfinityRerank(client=client, model=a.model, top_n=a.top_n)
    docs = [Document(page_content=d, metadata={"i": i}) for i, d in enumerate(a.documents)]
    out = compressor.compress_documents(docs, a.query)
    return {
        "results": [[d.metadata["i"], d.metadata["relevance_score"]] for d in out],
        "documents": [d.page_content for d in out],
    }


def litellm_rerank(a, provider, api_base):
    import litellm

    reply = litellm.rerank(
        model=f"{provider}/{a.model}",
        query=a.query,
        documents=a.documents,
        top_n=a.top_n,
        return_documents=True,
        api_base=api_base,
        api_key=a.key,
    )
    return {
        "results": [[r["index"], r["relevance_score"]] for r in reply.results],
        "documents": [(r.get("document") or {}).get("text") for r in reply.results],
    }


def rerankers_tei(a, documents):
    """The rerankers library's API ranker for text-embeddings-inference, at <api>/rerank."""
    from rerankers import Reranker

    ranker = Reranker(a.model, model_type="APIRanker", api_provider="text-embeddings-inference", api_key=a.key, url=f"{a.base}/rerank", verbose=0)
    ranked = ranker.rank(query=a.query, docs=documents)
    return {
        "results": [[r.document.doc_id, r.score] for r in ranked.results],
        "documents": [r.document.text for r in ranked.results],
    }


def cohere_v2(a, relevant_spans):
    """The cohere SDK's ClientV2.rerank, with relevant_spans as the SDK's own type when given."""
    import cohere

    client = cohere.ClientV2(api_key=a.key, base_url=a.base)
    extra = {}
    if relevant_spans is not None:
        extra["relevant_spans"] = cohere.RerankRelevantSpans(mode=relevant_spans)
    reply = client.rerank(model=a.model, query=a.query, documents=a.documents, top_n=a.top_n, **extra)
    return {"results": [[r.index, r.relevance_score] for r in reply.results]}


def failure(e):
    """An HTTP error as the client saw it (status and parsed body); anything else with its traceback."""
    status = getattr(e, "status_code", None)
    if isinstance(status, int):
        return {"error": type(e).__name__, "status": status, "body": getattr(e, "body", None)}
    return {"error": f"{type(e).__name__}: {e}".strip()[:2000], "trace": traceback.format_exc()[-1500:]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--query", required=True)
    p.add_argument("--documents", required=True, type=json.loads)
    p.add_argument("--top-n", type=int, required=True)
    p.add_argument("--many-documents", type=json.loads)
    a = p.parse_args()

    clients = {
        "infinity_client": lambda: infinity_client_rerank(a),
        "langchain InfinityRerank": lambda: langchain_infinity_rerank(a),
        "litellm infinity/": lambda: litellm_rerank(a, "infinity", f"{a.base}/infinity"),
        "litellm huggingface/": lambda: litellm_rerank(a, "huggingface", a.base),
        "rerankers text-embeddings-inference": lambda: rerankers_tei(a, a.documents),
        "cohere ClientV2": lambda: cohere_v2(a, None),
        "cohere ClientV2 relevant_spans disabled": lambda: cohere_v2(a, "disabled"),
        "cohere ClientV2 relevant_spans enabled": lambda: cohere_v2(a, "enabled"),
    }
    if a.many_documents:
        clients["rerankers text-embeddings-inference, many documents"] = lambda: rerankers_tei(a, a.many_documents)
    out = {}
    # What the clients print themselves (notices, warnings) goes to stderr: stdout is the JSON alone.
    with contextlib.redirect_stdout(sys.stderr):
        for name, call in clients.items():
            try:
                out[name] = call()
            except Exception as e:  # the failure is the result: the test shows it exactly
                out[name] = failure(e)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
