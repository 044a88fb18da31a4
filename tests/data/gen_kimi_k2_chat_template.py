#!/usr/bin/env python3
"""Writes kimi-k2-chat-template.json: conversations rendered by Python Jinja2 from Kimi's template.

Usage: python3 gen_kimi_k2_chat_template.py > kimi-k2-chat-template.json   (needs jinja2)
templates/kimi-k2-thinking.jinja is Kimi-K2-Thinking's chat template as llama.cpp keeps it
(models/templates/Kimi-K2-Thinking.jinja). Jinja2 is configured as transformers does
(trim_blocks, lstrip_blocks, loopcontrols, its tojson), but not sandboxed: the template calls
list.append / list.pop, which the immutable sandbox refuses. Dict keys are written in sorted
order, the order moeinfer's JSON reader gives them.
"""
import json
import os

import jinja2
from jinja2.ext import loopcontrols

HERE = os.path.dirname(os.path.abspath(__file__))


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


WEATHER_TOOL = {"function": {"description": "Current weather", "name": "get_weather",
                             "parameters": {"properties": {"city": {"type": "string"}}, "required": ["city"],
                                            "type": "object"}},
                "type": "function"}

CASES = [
    {"messages": [{"content": "Hi", "role": "user"}], "add_generation_prompt": True},
    {"messages": [{"content": "Be brief.", "role": "system"}, {"content": "2+2?", "role": "user"},
                  {"content": "4", "role": "assistant"}, {"content": "And 3+3?", "role": "user"}],
     "add_generation_prompt": True},
    {"messages": [{"content": "Be brief.", "role": "system"}, {"content": "Hi", "role": "user"},
                  {"content": "Hello", "role": "assistant"}],
     "add_generation_prompt": False},
    {"messages": [{"content": "Weather in Paris?", "role": "user"},
                  {"content": "", "reasoning_content": "I should call the tool.", "role": "assistant",
                   "tool_calls": [{"function": {"arguments": "{\"city\": \"Paris\"}", "name": "get_weather"},
                                   "id": "functions.get_weather:0", "type": "function"}]},
                  {"content": "18 C, sunny", "role": "tool", "tool_call_id": "functions.get_weather:0"}],
     "tools": [WEATHER_TOOL], "add_generation_prompt": True},
    {"messages": [{"content": "Two cities?", "role": "user"},
                  {"content": "Checking.", "role": "assistant",
                   "tool_calls": [{"function": {"arguments": {"city": "Oslo"}, "name": "get_weather"},
                                   "type": "function"},
                                  {"function": {"arguments": {"city": "Rome"}, "name": "get_weather"},
                                   "type": "function"}]},
                  {"content": "-2 C", "name": "get_weather", "role": "tool"},
                  {"content": "21 C", "name": "get_weather", "role": "tool"},
                  {"content": "Oslo -2 C, Rome 21 C.", "reasoning_content": "done", "role": "assistant"},
                  {"content": "Thanks", "role": "user"}],
     "tools": [WEATHER_TOOL], "add_generation_prompt": True},
    {"messages": [{"content": [{"text": "What is ", "type": "text"}, {"text": "this?", "type": "text"},
                               {"image_url": {"url": "x.png"}, "type": "image_url"}], "role": "user"}],
     "add_generation_prompt": True},
]


def main():
    with open(os.path.join(HERE, "templates", "kimi-k2-thinking.jinja")) as f:
        source = f.read()
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    template = env.from_string(source)
    out = []
    for c in CASES:
        prompt = template.render(messages=c["messages"], tools=c.get("tools"),
                                 add_generation_prompt=c["add_generation_prompt"])
        out.append(dict(c, prompt=prompt))
    doc = {"template": "templates/kimi-k2-thinking.jinja",
           "renderer": "Python Jinja2 %s (gen_kimi_k2_chat_template.py)" % jinja2.__version__, "cases": out}
    print(json.dumps(doc, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
