"""The package's demo service, for `--service flageval.serving.service.demo_service:DemoService`."""
from . import NLPCompletion, NLPEvalRequest, NLPEvalResponse, NLPModelService


class DemoService(NLPModelService):
    def global_init(self, model_path: str):
        print("Initial model with path", model_path)

    def infer(self, req: NLPEvalRequest) -> NLPEvalResponse:
        print(req)
        return NLPEvalResponse(completions=[NLPCompletion(text="Hello, world!", tokens="Hello, world!")])
