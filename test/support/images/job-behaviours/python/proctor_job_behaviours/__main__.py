"""A stand-in evaluation image for tests: what it does is chosen by EVAL_PARAMETERS["mode"], or by
EVAL_PARAMETERS["modes"][EVAL_DATASET_ID] (the same keys) when the run's datasets differ.

metrics   write EVAL_PARAMETERS["metrics"] as metrics.json (after asking the model once when
          EVAL_PARAMETERS["ask"] is set, recording its answer in answer.json)
raw       write EVAL_PARAMETERS["raw"] as the text of metrics.json
none      write nothing and exit 0
oversize  write a metrics.json of EVAL_PARAMETERS["bytes"] bytes
exit      print EVAL_PARAMETERS["lines"] and exit with EVAL_PARAMETERS["code"]
hang      print a line and sleep for ever
oom       allocate memory until the kernel kills it
slow      ask the model EVAL_PARAMETERS["calls"] times, one after another, then wait
          EVAL_PARAMETERS["linger"] seconds (none by default) and write metrics
Every mode first writes env.json: the environment it was given, for the tests to inspect.
"""
import json
import os
import sys
import time
import urllib.request


def ask(prompt):
    request = urllib.request.Request(
        os.environ["EVAL_INFERENCE_URL"],
        data=json.dumps({"model": "any", "messages": [{"role": "user", "content": prompt}], "max_tokens": 16}).encode(),
        headers={
            "content-type": "application/json",
            os.environ["EVAL_AUTHORIZATION_HEADER_KEY"]: os.environ["EVAL_AUTHORIZATION_HEADER_VALUE"],
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["choices"][0]["message"]["content"]


def main():
    out = os.environ["EVAL_OUTPUT_DIR"]
    params = json.loads(os.environ.get("EVAL_PARAMETERS", "{}"))
    params = params.get("modes", {}).get(os.environ.get("EVAL_DATASET_ID", ""), params)
    mode = params.get("mode", "metrics")
    with open(os.path.join(out, "env.json"), "w") as f:
        json.dump(dict(os.environ), f)
    metrics_file = os.path.join(out, "metrics.json")
    print(f"mode {mode}", flush=True)
    if mode == "metrics":
        if params.get("ask"):
            answer = ask(params["ask"])
            with open(os.path.join(out, "answer.json"), "w") as f:
                json.dump({"answer": answer}, f)
            print(f"answer {answer}", flush=True)
        with open(metrics_file, "w") as f:
            json.dump(params["metrics"], f)
    elif mode == "raw":
        with open(metrics_file, "w") as f:
            f.write(params["raw"])
    elif mode == "none":
        pass
    elif mode == "oversize":
        with open(metrics_file, "w") as f:
            f.write('{"metrics": [{"name": "x", "value": 1}], "pad": "' + "x" * int(params["bytes"]) + '"}')
    elif mode == "exit":
        for line in params.get("lines", []):
            print(line, flush=True)
        sys.exit(int(params["code"]))
    elif mode == "hang":
        print("hanging", flush=True)
        while True:
            time.sleep(60)
    elif mode == "oom":
        print("allocating", flush=True)
        hog = []
        while True:
            hog.append(bytearray(16 * 2**20))
    elif mode == "slow":
        for i in range(int(params["calls"])):
            print(f"call {i} {ask(f'What is {i} + 1?')}", flush=True)
        if params.get("linger"):
            print("lingering", flush=True)
            time.sleep(float(params["linger"]))
        with open(metrics_file, "w") as f:
            json.dump({"metrics": [{"name": "calls", "value": int(params["calls"])}]}, f)
    else:
        print(f"unknown mode {mode}", flush=True)
        sys.exit(2)


main()
