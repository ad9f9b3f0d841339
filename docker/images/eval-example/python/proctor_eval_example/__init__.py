"""The platform's example evaluation image: a small benchmark run against EVAL_INFERENCE_URL (see __main__.py)."""
