#!/usr/bin/python3
"""Renders a checkpoint's chat_template.json with Jinja2 as transformers'
apply_chat_template does (ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, the {% generation %} block rendered as its body), for one user
message per request with an optional image, add_generation_prompt=True.

usage: render_chat_template.py CHECKPOINT_DIR INPUT.json OUTPUT.json
  INPUT.json  [{"text": "...", "image": true}, ...]
  OUTPUT.json ["rendered prompt", ...]
"""
import json
import os
import sys

from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment


class Generation(Extension):
    # transformers' AssistantTracker: {% generation %} ... {% endgeneration %} renders its body.
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


def main():
    directory, input_path, output_path = sys.argv[1:4]
    with open(os.path.join(directory, "chat_template.json")) as f:
        template_text = json.load(f)["chat_template"]
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation])
    template = env.from_string(template_text)
    with open(input_path) as f:
        requests = json.load(f)
    out = []
    for r in requests:
        content = ([{"type": "image"}] if r.get("image") else []) + [{"type": "text", "text": r["text"]}]
        out.append(template.render(messages=[{"role": "user", "content": content}], add_generation_prompt=True))
    with open(output_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
