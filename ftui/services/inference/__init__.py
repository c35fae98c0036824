"""Chat models behind one async interface: OpenAI, OpenAI-compatible servers, local models.

    model = open_model("run:abc123", config=config, store=store)
    answer = await model.complete(messages, Sampling(temperature=0, max_tokens=256))
    await model.aclose()

`spec` reads what the user types, `base` is the interface, `openai_compat` the HTTP client (the
real `openai` SDK with ftui's own retries), `local` a transformers model in a worker process, and
`resolve` turns a spec (a run of the history included) into a model. Importing this package is
cheap: the SDK is imported on the first call.
"""

from ftui.services.inference.base import ChatModel, Completion, InferenceError, Sampling
from ftui.services.inference.spec import ModelSpec, SpecError, parse_spec

__all__ = [
    "ChatModel",
    "Completion",
    "InferenceError",
    "ModelSpec",
    "Sampling",
    "SpecError",
    "parse_spec",
]
