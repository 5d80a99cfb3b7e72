#!/usr/bin/env bash
# Prepares the Python side (the reference FlagEmbedding, the export recipe, the benchmark peers) in
# its own virtual environment, with the pinned versions of python/requirements.txt.
#
#   scripts/setup-python.sh            (or: npm run setup:python)
#   scripts/setup-python.sh --peers    (or: npm run setup:python -- --peers): the Infinity server
#       (infinity-emb) of `npm run bench`'s peers section, in .venv-peers from
#       python/requirements-peers.txt: its pins (numpy 1.x, click 8.1, rich 13) conflict with the main
#       set's. Not needed by the tests; without it the bench says the Infinity rows were skipped.
#   scripts/setup-python.sh --modern   (npm test's pretest runs it after the main one): the export
#       recipe and the reference for ModernBERT cross-encoders and Qwen3-Reranker, in .venv-modern from
#       python/requirements-modern.txt (transformers 4.51, which FlagEmbedding 1.4.2's pin excludes).
#       Layered on .venv: a .pth file puts .venv's site-packages after its own, so the pins both sets
#       share (torch and its CUDA wheels above all) come from .venv and only the rest is installed.
#   scripts/setup-python.sh --clients  (npm test's pretest runs it after --modern): the Python rerank
#       clients test/api/contract-edges.spec.ts runs against the stack (infinity_client, LangChain,
#       LiteLLM, rerankers, cohere), in .venv-clients from python/requirements-clients.txt. Standalone
#       (no torch): about 430 MB, about a minute.
#
# Idempotent and cached: when the environment already holds exactly these requirements it returns
# at once. Needs Python >= 3.9 with the venv module (Debian's system Python: `apt-get install -y
# python3-venv` as root); nothing else here needs root. Environment:
#   RERANK_PYTHON       the interpreter to build the environment from (default: python3)
#   RERANK_PYTHON_VENV  where the environment goes (default: .venv in the repository)
#   RERANK_PEERS_VENV   where the --peers environment goes (default: .venv-peers)
#   RERANK_MODERN_VENV  where the --modern environment goes (default: .venv-modern)
#   RERANK_CLIENTS_VENV where the --clients environment goes (default: .venv-clients)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${RERANK_PYTHON:-python3}"
VENV="${RERANK_PYTHON_VENV:-.venv}"
REQUIREMENTS=python/requirements.txt
CHECK='import torch, transformers, FlagEmbedding, onnx, onnxruntime, schemathesis; print("setup-python: torch", torch.__version__, "transformers", transformers.__version__, "onnxruntime", onnxruntime.__version__, "schemathesis", schemathesis.__version__)'
if [ "${1:-}" = "--peers" ]; then
  VENV="${RERANK_PEERS_VENV:-.venv-peers}"
  REQUIREMENTS=python/requirements-peers.txt
  CHECK='import torch, transformers, infinity_emb; print("setup-python: torch", torch.__version__, "transformers", transformers.__version__, "infinity-emb", infinity_emb.__version__)'
elif [ "${1:-}" = "--modern" ]; then
  BASE_VENV="$VENV"
  VENV="${RERANK_MODERN_VENV:-.venv-modern}"
  REQUIREMENTS=python/requirements-modern.txt
  CHECK='import torch, transformers, sentence_transformers, onnx, onnxruntime; from transformers import ModernBertConfig, Qwen3Config; print("setup-python: torch", torch.__version__, "transformers", transformers.__version__, "sentence-transformers", sentence_transformers.__version__)'
elif [ "${1:-}" = "--clients" ]; then
  VENV="${RERANK_CLIENTS_VENV:-.venv-clients}"
  REQUIREMENTS=python/requirements-clients.txt
  CHECK='import os; os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"; import importlib.metadata as m, infinity_client, langchain_community, litellm, rerankers, cohere; print("setup-python:", *(f"{p} {m.version(p)}" for p in ("infinity_client", "langchain-community", "litellm", "rerankers", "cohere")))'
elif [ -n "${1:-}" ]; then
  echo "setup-python: unknown argument $1 (--peers, --modern or --clients)" >&2
  exit 2
fi
STAMP="$VENV/.requirements.sha256"
# The layered environment is current only while its base is: the base's stamp is part of its own.
stamp_of() { sha256sum "$REQUIREMENTS" | cut -d' ' -f1; if [ -n "${BASE_VENV:-}" ]; then cat "$BASE_VENV/.requirements.sha256" 2>/dev/null; fi; }

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup-python: $PYTHON not found; install Python 3.9+ (Debian: apt-get install -y python3 python3-venv) or set RERANK_PYTHON" >&2
  exit 1
fi
if [ -n "${BASE_VENV:-}" ] && [ ! -x "$BASE_VENV/bin/python" ]; then
  echo "setup-python: --modern is layered on $BASE_VENV, which is missing; run scripts/setup-python.sh first" >&2
  exit 1
fi
want="$(stamp_of | sha256sum | cut -d' ' -f1)"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "setup-python: $VENV is up to date"
  exit 0
fi

start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV" || {
    echo "setup-python: '$PYTHON -m venv' failed; on Debian's system Python run (as root) apt-get install -y python3-venv" >&2
    exit 1
  }
fi
if [ -n "${BASE_VENV:-}" ]; then
  site() { "$1/bin/python" -c 'import site; print(site.getsitepackages()[0])'; }
  site "$BASE_VENV" > "$(site "$VENV")/_rerank_base_venv.pth"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip==24.3.1
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS"
"$VENV/bin/python" -c "$CHECK"
echo "$want" > "$STAMP"
echo "setup-python: $VENV ready in $(( $(date +%s) - start ))s"
