"""
The classes a user's service.py builds on, with the names, attributes and behaviour of the
`flageval-serving` package (0.2.5) on PyPI, so a service written against that package runs here
unchanged: `from flageval.serving.service import NLPModelService, NLPEvalRequest, NLPEvalResponse,
NLPCompletion`. Proctor's server (proctor_serving) calls `infer` itself instead of the package's
Flask view; docs/uploads.md says what differs.
"""
from .nlp import NLPCompletion, NLPEvalRequest, NLPEvalResponse, NLPModelService

__all__ = ["NLPModelService", "NLPEvalRequest", "NLPEvalResponse", "NLPCompletion"]
