"""The official OpenAI Python client against a running `gemma-tui serve`.

    python openai_client.py BASE_URL API_KEY

BASE_URL ends in /v1. Exits 0 when every check passes, else prints what failed and exits 1.
Driven by tests/serve_openai_python.rs; plain asserts, no pytest.
"""
import sys

import openai

base_url, key = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=120)
question = [{"role": "user", "content": "What is the capital of France?"}]

# Models.
models = client.models.list()
ids = [m.id for m in models.data]
assert len(ids) == 1 and ids[0], ids
model = ids[0]

# Chat, whole.
chat = client.chat.completions.create(model=model, messages=question, max_tokens=8, temperature=0)
assert chat.object == "chat.completion", chat
assert chat.choices[0].message.role == "assistant", chat
text = chat.choices[0].message.content
assert text and text.strip(), chat
assert chat.choices[0].finish_reason in ("stop", "length"), chat
assert chat.usage.completion_tokens >= 1, chat.usage
assert chat.usage.total_tokens == chat.usage.prompt_tokens + chat.usage.completion_tokens

# Chat, streamed, with the usage chunk; llama.cpp's sampler fields through extra_body.
stream = client.chat.completions.create(
    model=model,
    messages=question,
    max_tokens=8,
    temperature=0,
    stream=True,
    stream_options={"include_usage": True},
    extra_body={"top_k": 40, "min_p": 0.05, "repeat_penalty": 1.0},
)
chunks = list(stream)
assert chunks[0].choices[0].delta.role == "assistant", chunks[0]
streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
assert streamed == text, (streamed, text)
finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
assert finishes == [chat.choices[0].finish_reason], finishes
assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == chat.usage.completion_tokens

# Text completions, whole and streamed.
prompt = "The capital of France is"
done = client.completions.create(model=model, prompt=prompt, max_tokens=6, temperature=0)
assert done.object == "text_completion", done
whole = done.choices[0].text
assert whole, done
assert done.usage.completion_tokens >= 1
pieces = client.completions.create(model=model, prompt=prompt, max_tokens=6, temperature=0, stream=True)
assert "".join(c.choices[0].text for c in pieces if c.choices) == whole

# An invalid request.
try:
    client.chat.completions.create(model=model, messages=question, temperature="hot")
    raise AssertionError("a bad temperature was taken")
except openai.BadRequestError as e:
    assert e.status_code == 400
    assert "temperature" in str(e), e

# A wrong key.
wrong = openai.OpenAI(base_url=base_url, api_key=key + "-wrong", max_retries=0)
try:
    wrong.chat.completions.create(model=model, messages=question, max_tokens=2)
    raise AssertionError("a wrong key was taken")
except openai.AuthenticationError as e:
    assert e.status_code == 401

print(f"openai {openai.__version__}: all checks passed")
