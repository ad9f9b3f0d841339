"""
The platform's example evaluation image: asks the model under evaluation a small benchmark through
EVAL_INFERENCE_URL (OpenAI chat completions), scores its answers and writes
${EVAL_OUTPUT_DIR}/metrics.json and details.jsonl. Standard library only.

Environment (docs/custom-evaluation-images.md has the whole contract):
  EVAL_OUTPUT_DIR                  required: where metrics.json and details.jsonl go
  EVAL_INFERENCE_URL               required: the chat-completions URL
  EVAL_AUTHORIZATION_HEADER_KEY    the header that carries the per-job token (Authorization)
  EVAL_AUTHORIZATION_HEADER_VALUE  its value; a secret, never printed
  EVAL_DATASET_PATH                a mounted JSONL dataset (id, prompt, ground_truth, optional
                                   choices); without it, 20 built-in arithmetic questions.
                                   A prompt is sent as it is (a multiple-choice prompt lists its
                                   options itself); choices let an answer name its option by
                                   letter or by text
  EVAL_MODEL_NAME                  the `model` field sent, unless parameters name another
  EVAL_PARAMETERS                  a JSON object: limit, concurrency, maxTokens, temperature, model,
                                   retries, timeoutSeconds

Everything goes to stdout, errors included: the engine keeps stdout and stderr apart and their
interleaving in the job's log is not exact, and the failure must be the last line a reason shows.

Exit codes: 0 with metrics.json written; 2 for a configuration the job cannot run with (its
message says which variable or parameter); 1 when every inference call failed.
"""
import concurrent.futures
import json
import math
import os
import re
import sys
import time
import urllib.error
import urllib.request

NAME = "proctor-eval-example"

# (left, operator, right): deterministic, so a model's score on the built-in set is comparable
# between runs. One difference is negative, to exercise signed numbers in answers. The questions
# are worded as the built-in arithmetic datasets word theirs, which the bundled reference model
# recognises, so a first run against it gets a meaningful score.
BUILTIN_QUESTIONS = [
    (17, "+", 25),
    (9, "×", 8),
    (64, "-", 29),
    (123, "+", 456),
    (12, "×", 12),
    (100, "-", 37),
    (45, "+", 55),
    (7, "×", 13),
    (81, "-", 18),
    (250, "+", 375),
    (15, "×", 6),
    (90, "-", 91),
    (38, "+", 47),
    (11, "×", 11),
    (500, "-", 123),
    (66, "+", 77),
    (14, "×", 9),
    (73, "-", 28),
    (999, "+", 1),
    (25, "×", 4),
]

DEFAULTS = {
    "concurrency": 4,
    "maxTokens": 32,
    "temperature": 0,
    "retries": 3,
    "timeoutSeconds": 120,
}
KNOWN_PARAMETERS = {"limit", "concurrency", "maxTokens", "temperature", "model", "retries", "timeoutSeconds"}
# 429 (rate limited) and server errors may pass; other client errors will not.
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
MAX_BACKOFF_SECONDS = 30.0

NUMBER = re.compile(r"[-+−]?\d[\d,]*(?:\.\d+)?")
REFERENCE_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
# "B", "B.", "(B) 19", "Answer: B": a letter alone or set off; "A bit more" is no letter.
LEADING_LETTER = re.compile(r"^\W*?(?:(?:the\s+)?answer(?:\s+is)?\s*:?\s*)?(?:\(([A-Za-z])\)|([A-Za-z])(?=$|[.):,*]))", re.I)


class ConfigError(Exception):
    """A variable or parameter the job cannot run with."""


class CallError(Exception):
    """An inference call that failed; `retryable` says whether trying it again may help."""

    def __init__(self, message, retryable, retry_after=None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Redactor:
    """Keeps the per-job token out of everything printed or written, whatever echoes it back."""

    def __init__(self, secret):
        self.secret = secret
        # The whole header value, and the token alone in case something echoes it without "Bearer".
        parts = {secret, secret.split()[-1] if secret.split() else ""}
        self.parts = sorted((p for p in parts if len(p) >= 8), key=len, reverse=True)

    def __call__(self, text):
        text = str(text)
        for part in self.parts:
            text = text.replace(part, "[redacted]")
        return text


def builtin_items():
    items = []
    for i, (left, op, right) in enumerate(BUILTIN_QUESTIONS, start=1):
        value = left + right if op == "+" else left - right if op == "-" else left * right
        items.append(
            {
                "id": f"arith-{i:02d}",
                "prompt": f"Compute {left} {op} {right}. Reply with the number only.",
                "ground_truth": str(value),
            }
        )
    return items


def read_dataset(path):
    items = []
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ConfigError(f"EVAL_DATASET_PATH {path}: line {number} is not JSON ({e.msg})") from None
                if not isinstance(item, dict) or not isinstance(item.get("prompt"), str):
                    raise ConfigError(f"EVAL_DATASET_PATH {path}: line {number} has no string 'prompt'")
                if not isinstance(item.get("ground_truth"), str):
                    raise ConfigError(f"EVAL_DATASET_PATH {path}: line {number} has no string 'ground_truth'")
                choices = item.get("choices")
                if choices is not None and not (
                    isinstance(choices, list) and all(isinstance(c, str) for c in choices) and 2 <= len(choices) <= 26
                ):
                    raise ConfigError(f"EVAL_DATASET_PATH {path}: line {number} has 'choices' that are not 2-26 strings")
                items.append(
                    {
                        "id": str(item.get("id", f"line-{number}")),
                        "prompt": item["prompt"],
                        "ground_truth": item["ground_truth"],
                        "choices": choices,
                    }
                )
    except OSError as e:
        raise ConfigError(f"EVAL_DATASET_PATH {path} cannot be read: {e.strerror}") from None
    return items


def read_parameters(text, model_name):
    try:
        given = json.loads(text) if text and text.strip() else {}
    except json.JSONDecodeError as e:
        raise ConfigError(f"EVAL_PARAMETERS is not JSON: {e.msg}") from None
    if not isinstance(given, dict):
        raise ConfigError("EVAL_PARAMETERS must be a JSON object")
    params = dict(DEFAULTS)
    params.update(given)
    params["model"] = given.get("model", model_name)

    def integer(name, low, high):
        value = params.get(name)
        if value is None and name == "limit":
            return
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ConfigError(f"parameter {name} must be an integer from {low} to {high}, got {json.dumps(value)}")

    integer("limit", 1, 1_000_000)
    integer("concurrency", 1, 64)
    integer("maxTokens", 1, 1_000_000)
    integer("retries", 0, 10)
    timeout = params["timeoutSeconds"]
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 1 <= timeout <= 3600:
        raise ConfigError(f"parameter timeoutSeconds must be a number from 1 to 3600, got {json.dumps(timeout)}")
    temperature = params["temperature"]
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not 0 <= temperature <= 2:
        raise ConfigError(f"parameter temperature must be a number from 0 to 2, got {json.dumps(temperature)}")
    if not isinstance(params["model"], str) or not params["model"]:
        raise ConfigError("parameter model (or EVAL_MODEL_NAME) must be a non-empty string")
    unknown = sorted(set(given) - KNOWN_PARAMETERS)
    return params, unknown


def normalise(text):
    text = " ".join(text.casefold().split())
    return text.strip(" \"'`*").rstrip(".!")


def first_number(text):
    match = NUMBER.search(text)
    if not match:
        return None
    try:
        return float(match.group().replace(",", "").replace("−", "-"))
    except ValueError:
        return None


def chosen_letter(answer, choices):
    match = LEADING_LETTER.match(answer.strip())
    letter = match and (match.group(1) or match.group(2)).upper()
    if letter and ord(letter) - 65 < len(choices):
        return letter
    by_text = [chr(65 + i) for i, c in enumerate(choices) if normalise(c) == normalise(answer)]
    return by_text[0] if len(by_text) == 1 else None


def is_correct(answer, item):
    reference = item["ground_truth"].strip()
    choices = item.get("choices")
    if choices:
        letter = reference.upper() if re.fullmatch(r"[A-Za-z]", reference) else None
        if letter is None:
            matches = [chr(65 + i) for i, c in enumerate(choices) if normalise(c) == normalise(reference)]
            letter = matches[0] if len(matches) == 1 else None
        if letter is not None:
            return chosen_letter(answer, choices) == letter
    if REFERENCE_NUMBER.fullmatch(reference):
        got = first_number(answer)
        return got is not None and math.isclose(got, float(reference), rel_tol=1e-9, abs_tol=1e-9)
    return normalise(answer) == normalise(reference)


class Client:
    def __init__(self, url, header_key, header_value, params, redact):
        self.url = url
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if header_key and header_value:
            self.headers[header_key] = header_value
        self.params = params
        self.redact = redact

    def ask(self, prompt):
        body = json.dumps(
            {
                "model": self.params["model"],
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": self.params["maxTokens"],
                "temperature": self.params["temperature"],
            }
        ).encode("utf-8")
        attempts = self.params["retries"] + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._call(body)
            except CallError as e:
                if not e.retryable or attempt == attempts:
                    raise
                delay = e.retry_after if e.retry_after is not None else 0.5 * 2 ** (attempt - 1)
                time.sleep(min(delay, MAX_BACKOFF_SECONDS))
        raise AssertionError("unreachable")

    def _call(self, body):
        request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.params["timeoutSeconds"]) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            # Redacted before it is cut, so a cut cannot leave part of the token behind.
            detail = self.redact(e.read(64 * 1024).decode("utf-8", "replace").strip())[:300]
            retry_after = e.headers.get("Retry-After") if e.headers else None
            raise CallError(
                f"HTTP {e.code}{': ' + detail if detail else ''}",
                e.code in RETRYABLE_STATUS,
                float(retry_after) if retry_after and retry_after.isdigit() else None,
            ) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            reason = e.reason if isinstance(e, urllib.error.URLError) else e
            raise CallError(f"could not reach the inference URL: {self.redact(reason)}", True) from None
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, LookupError, TypeError):
            raise CallError("the answer is not a chat completion (no choices[0].message.content)", False) from None
        if not isinstance(content, str):
            raise CallError("the answer's choices[0].message.content is not a string", False)
        return content


def write_json_file(path, text):
    # Written beside and renamed, so a reader never sees half a file.
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(partial, path)


def run(env):
    output_dir = env.get("EVAL_OUTPUT_DIR")
    url = env.get("EVAL_INFERENCE_URL")
    if not output_dir:
        raise ConfigError("EVAL_OUTPUT_DIR is not set: the job does not know where to write metrics.json")
    if not url:
        raise ConfigError("EVAL_INFERENCE_URL is not set: the job has no model to ask")
    if not os.path.isdir(output_dir):
        raise ConfigError(f"EVAL_OUTPUT_DIR {output_dir} is not a directory")
    redact = Redactor(env.get("EVAL_AUTHORIZATION_HEADER_VALUE", ""))
    params, unknown = read_parameters(env.get("EVAL_PARAMETERS", ""), env.get("EVAL_MODEL_NAME", ""))
    dataset_path = env.get("EVAL_DATASET_PATH")
    items = read_dataset(dataset_path) if dataset_path else builtin_items()
    source = f"dataset {env.get('EVAL_DATASET_ID') or dataset_path}" if dataset_path else "the built-in arithmetic set"
    if params.get("limit") is not None:
        items = items[: params["limit"]]
    if not items:
        raise ConfigError(f"{source} has no items")

    print(
        f"{NAME}: {len(items)} items from {source}, model {params['model']}, "
        f"concurrency {params['concurrency']}, inference URL {redact(url)}",
        flush=True,
    )
    if unknown:
        print(f"{NAME}: ignoring unknown parameters: {', '.join(unknown)}", flush=True)

    client = Client(url, env.get("EVAL_AUTHORIZATION_HEADER_KEY", ""), redact.secret, params, redact)
    results = [None] * len(items)
    every = max(1, len(items) // 10)
    correct = answered = 0
    last_error = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=params["concurrency"]) as pool:
        futures = {pool.submit(client.ask, item["prompt"]): i for i, item in enumerate(items)}
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            index = futures[future]
            item = items[index]
            try:
                answer = future.result()
            except CallError as e:
                last_error = str(e)
                results[index] = {"id": item["id"], "error": redact(e), "correct": False}
            else:
                ok = is_correct(answer, item)
                answered += 1
                correct += ok
                results[index] = {"id": item["id"], "answer": redact(answer), "correct": ok}
            if done % every == 0 or done == len(items):
                failed = done - answered
                print(
                    f"{NAME}: {done}/{len(items)} done, {correct} correct"
                    + (f", {failed} failed (last: {redact(last_error)})" if failed else ""),
                    flush=True,
                )

    details = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results)
    write_json_file(os.path.join(output_dir, "details.jsonl"), details)
    if answered == 0:
        print(
            f"{NAME}: error: every one of the {len(items)} inference calls failed; the last said: {redact(last_error)}",
            flush=True,
        )
        return 1
    metrics = {
        "metrics": [
            {"name": "accuracy", "value": correct / len(items)},
            {"name": "answered", "value": answered / len(items)},
            {"name": "items", "value": len(items)},
        ]
    }
    write_json_file(os.path.join(output_dir, "metrics.json"), json.dumps(metrics, indent=2) + "\n")
    print(
        f"{NAME}: accuracy {correct}/{len(items)} = {correct / len(items):.4f}, "
        f"answered {answered}/{len(items)}; wrote metrics.json and details.jsonl",
        flush=True,
    )
    return 0


def main():
    try:
        return run(os.environ)
    except ConfigError as e:
        print(f"{NAME}: error: {e}", flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
