"""
The `/func` wire format: a JSON request checked field by field into an NLPEvalRequest, and the
service's NLPEvalResponse turned back into `{"completions": [{"text", "tokens"}]}`.
"""
import dataclasses
import json

from flageval.serving.service import NLPCompletion, NLPEvalRequest, NLPEvalResponse


class BadRequest(Exception):
    pass


class BadResponse(Exception):
    pass


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# name -> (check, what the rule is, in words)
FIELDS = {
    "engine": (lambda v: isinstance(v, str), "a string"),
    "prompt": (lambda v: isinstance(v, str), "a string"),
    "temperature": (_number, "a number"),
    "num_return_sequences": (lambda v: _integer(v) and v >= 1, "an integer of at least 1"),
    "max_new_tokens": (lambda v: _integer(v) and v >= 0, "a non-negative integer"),
    "top_p": (_number, "a number"),
    "echo_prompt": (lambda v: isinstance(v, bool), "true or false"),
    "top_k_per_token": (lambda v: _integer(v) and v >= 0, "a non-negative integer"),
    "stop_sequences": (_strings, "a list of strings"),
}


def parse_request(body: bytes) -> NLPEvalRequest:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequest(f"the body is not valid JSON: {error}")
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    if "prompt" not in data:
        raise BadRequest("prompt is required")
    values = {}
    for name, (check, rule) in FIELDS.items():
        if name in data:
            if not check(data[name]):
                raise BadRequest(f"{name} must be {rule}")
            values[name] = data[name]
    # Fields this server does not know are ignored, so newer clients keep working.
    return NLPEvalRequest(**values)


def _plain(value):
    """Token lists from numpy or torch become plain lists; anything else unknown becomes text."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def encode_response(response) -> bytes:
    if isinstance(response, NLPEvalResponse):
        completions = response.completions
    elif isinstance(response, dict) and "completions" in response:
        completions = response["completions"]
    else:
        raise BadResponse(f"infer returned {type(response).__name__}; it must return an NLPEvalResponse")
    if not isinstance(completions, (list, tuple)):
        raise BadResponse("NLPEvalResponse.completions must be a list of NLPCompletion")
    out = []
    for completion in completions:
        if isinstance(completion, NLPCompletion):
            item = dataclasses.asdict(completion)
        elif isinstance(completion, dict):
            item = {"text": completion.get("text"), "tokens": completion.get("tokens", "")}
        else:
            raise BadResponse(f"a completion is {type(completion).__name__}; it must be an NLPCompletion")
        if not isinstance(item["text"], str):
            raise BadResponse("NLPCompletion.text must be a string")
        out.append(item)
    try:
        return json.dumps({"completions": out}, ensure_ascii=False, default=_plain).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise BadResponse(f"the completions cannot be written as JSON: {error}")
