"""
The `/func` wire format, as flageval-serving's NLPModelService speaks it: a JSON request checked
field by field and made into an NLPEvalRequest by the service's parse_request (wire names
`num_return_sequences` and `max_new_tokens` become `max_return_sequences` and `max_tokens`), and
infer's NLPEvalResponse written back whole by write_response: `{"completions": [{"text", "tokens",
"logprobs", "top_logprobs_dicts"}], "model_info", "status", "input_length"}`.
"""
import json

from flageval.serving.service import NLPCompletion, NLPEvalResponse


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


# wire name -> (check, what the rule is, in words)
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
    "extra": (lambda v: isinstance(v, dict), "a JSON object"),
}


def decode_request(body: bytes) -> dict:
    """The request's known fields, each checked; fields this server does not know are ignored."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequest(f"the body is not valid JSON: {error}")
    # The package's client may send the JSON document as a JSON string; its server accepts that too.
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as error:
            raise BadRequest(f"the body is a string that is not JSON: {error}")
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
    return values


def _plain(value):
    """Token lists from numpy or torch become plain lists; anything else unknown becomes text."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _completion(completion) -> dict:
    if isinstance(completion, NLPCompletion):
        return {
            "text": completion.text,
            "tokens": completion.tokens,
            "logprobs": completion.logprobs,
            "top_logprobs_dicts": completion.top_logprobs_dicts,
        }
    if isinstance(completion, dict):
        # As the package's to_dict leaves a plain dict: as it is.
        return dict(completion)
    raise BadResponse(f"a completion is {type(completion).__name__}; it must be an NLPCompletion")


def encode_response(service, response) -> bytes:
    """infer's answer as the service's write_response gives it (NLPEvalResponse.to_dict), checked."""
    if isinstance(response, NLPEvalResponse):
        if not isinstance(response.completions, (list, tuple)):
            raise BadResponse("NLPEvalResponse.completions must be a list of NLPCompletion")
        document = {
            "completions": [_completion(c) for c in response.completions],
            "model_info": response.model_info,
            "status": response.status,
            "input_length": response.input_length,
        }
    elif isinstance(response, dict) and "completions" in response:
        completions = response["completions"]
        if not isinstance(completions, (list, tuple)):
            raise BadResponse("completions must be a list of NLPCompletion")
        document = {**response, "completions": [_completion(c) for c in completions]}
    else:
        raise BadResponse(f"infer returned {type(response).__name__}; it must return an NLPEvalResponse")
    for item in document["completions"]:
        if not isinstance(item.get("text"), str):
            raise BadResponse("NLPCompletion.text must be a string")
    try:
        return json.dumps(document, ensure_ascii=False, default=_plain).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise BadResponse(f"the response cannot be written as JSON: {error}")
