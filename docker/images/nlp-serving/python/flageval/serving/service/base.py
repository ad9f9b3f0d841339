"""
The abstract service of flageval-serving: `global_init` once with the model path, `infer` per
request. As in the package, a subclass that leaves either abstract cannot be instantiated, and
`parse_request` / `write_response` turn the wire request into the request object and back.
"""
import abc
from typing import Any


class ModelService(metaclass=abc.ABCMeta):
    @abc.abstractmethod
    def global_init(self, model_path: str):
        """Invoked once, before any request, with the path of the model directory."""

    @abc.abstractmethod
    def infer(self, req: Any) -> Any:
        """Answers one request."""

    @abc.abstractmethod
    def parse_request(self, data: dict) -> Any:
        """The request object for a decoded JSON body (the package reads it from Flask's request)."""

    @abc.abstractmethod
    def write_response(self, response: Any) -> dict:
        """The JSON object sent back for infer's answer."""

    @property
    def endpoint(self) -> str:
        return "/func"
