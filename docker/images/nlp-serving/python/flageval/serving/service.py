"""
What a user's service.py builds on: `from flageval.serving.service import NLPModelService,
NLPEvalRequest, NLPEvalResponse, NLPCompletion`. Field names follow the platform's published
specification so a service written against the original package runs here unchanged.
"""
from dataclasses import dataclass, field
from typing import List, Union


@dataclass
class NLPEvalRequest:
    prompt: str
    engine: str = "default"
    temperature: float = 1.0
    num_return_sequences: int = 1
    max_new_tokens: int = 512
    top_p: float = 1.0
    echo_prompt: bool = False
    top_k_per_token: int = 1
    stop_sequences: List[str] = field(default_factory=list)


@dataclass
class NLPCompletion:
    text: str
    # The model's tokens: a list, or the text itself when the service does not split it.
    tokens: Union[str, List[str]] = ""


@dataclass
class NLPEvalResponse:
    completions: List[NLPCompletion] = field(default_factory=list)


class NLPModelService:
    """Subclass it as `Service` in service.py; the server makes one instance for its lifetime."""

    def global_init(self, model_path: str) -> None:
        """Called once, before any request, with the path of the upload's model/ directory."""

    def infer(self, req: NLPEvalRequest) -> NLPEvalResponse:
        raise NotImplementedError("Service.infer is not implemented")
