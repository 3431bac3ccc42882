"""Chat with a GGUF (LLM) version through the node's OpenAI-compatible routes.

The official ``openai`` client works against the node directly, unmodified::

    client = openai.OpenAI(base_url="http://127.0.0.1:26680/v1", api_key="lucid-dev-key")
    r = client.chat.completions.create(model="smollm2@1.0", messages=[...])
    bundle = r.model_extra["lucid"]   # a result bundle: receipt id, signed request, receipt, evidence

:func:`chat` is the same call with ``requests`` and no extra dependency. The node's gateway
signs the request with the requester key mapped to the API key (docs/llm.md, "Trust model").
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from .client import LucidClient


def chat(client: LucidClient, model: str, messages: List[Mapping[str, Any]], api_key: Optional[str] = None,
         **params: Any) -> Dict[str, Any]:
    """``POST /v1/chat/completions`` (non-streamed). Returns OpenAI's ``chat.completion`` object with
    the extension field ``lucid`` (the result bundle). ``params``: temperature, seed, max_tokens, ..."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {"model": model, "messages": list(messages), **params}
    r = client.session.post(client.url + "/v1/chat/completions", json=body, headers=headers, timeout=client.timeout)
    return dict(client._check(r).json())


def models(client: LucidClient, api_key: Optional[str] = None) -> List[Dict[str, Any]]:
    """``GET /v1/models``: published GGUF versions (``id`` = ``NAME@MAJOR.MINOR``)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    r = client.session.get(client.url + "/v1/models", headers=headers, timeout=client.timeout)
    return list(client._check(r).json()["data"])
