"""
The NLP service and its request and response, attribute for attribute as flageval-serving 0.2.5
defines them. The wire names differ from two attribute names, as in the package:
`num_return_sequences` arrives as `max_return_sequences` and `max_new_tokens` as `max_tokens`.
"""
import abc
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Dict, List

from .base import ModelService


@dataclass
class NLPEvalRequest:
    engine: str = ""
    prompt: str = ""
    temperature: float = 1.0
    max_return_sequences: int = 1
    max_tokens: int = 100
    top_p: float = 1
    echo_prompt: bool = False
    top_k_per_token: int = 1
    stop_sequences: List[str] = field(default_factory=list)
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class NLPCompletion:
    text: str
    tokens: str
    logprobs: List[str] = field(default_factory=list)
    top_logprobs_dicts: List[Dict[str, Any]] = field(default_factory=list)


def _to_plain(value):
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {key: _to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(item) for item in value]
    return value


@dataclass
class NLPEvalResponse:
    completions: List[NLPCompletion]
    model_info: str = ""
    status: int = 200
    input_length: int = 0

    def to_dict(self, encode_json: bool = False) -> Dict[str, Any]:
        """The response as the package's dataclasses_json writes it: every field, nested dataclasses as objects."""
        return _to_plain(self)


# The wire names of the request's fields and the attributes they fill.
WIRE_FIELDS = {
    "engine": "engine",
    "prompt": "prompt",
    "temperature": "temperature",
    "num_return_sequences": "max_return_sequences",
    "max_new_tokens": "max_tokens",
    "top_p": "top_p",
    "echo_prompt": "echo_prompt",
    "top_k_per_token": "top_k_per_token",
    "stop_sequences": "stop_sequences",
    "extra": "extra",
}


class NLPModelService(ModelService):
    @abc.abstractmethod
    def infer(self, req: NLPEvalRequest) -> NLPEvalResponse:
        pass

    def parse_request(self, data: dict) -> NLPEvalRequest:
        return NLPEvalRequest(**{attr: data[wire] for wire, attr in WIRE_FIELDS.items() if wire in data})

    def write_response(self, response: NLPEvalResponse) -> dict:
        return response.to_dict()
