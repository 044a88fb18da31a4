#!/usr/bin/env bash
# Runs the text-parser fuzzers (chat templates, generated-text parser, pre-tokenizers) for
# SECONDS each on seed corpora made from the repo's templates and text; exits non-zero on
# the first crash or broken invariant (inputs left in BUILD_DIR/fuzz/TARGET/artifacts/).
#   tests/fuzz/run_text_fuzz.sh BUILD_DIR [SECONDS]
# BUILD_DIR is configured with -DCMAKE_CXX_COMPILER=clang++ -DMOEINFER_FUZZ=ON.
set -euo pipefail

default_seconds=20
source "$(dirname "${BASH_SOURCE[0]}")/fuzz_lib.sh"
fuzz_setup "$@"
data=$root/tests/data

cmake --build "$build_dir" --target chat_template_fuzz reasoning_fuzz pretokenizer_fuzz

# Seeds: one directory per target, rewritten every run.
seed_dir() {
  local d=$build_dir/fuzz/$1/seeds
  rm -rf "$d" && mkdir -p "$d" && echo "$d"
}
s=$(seed_dir chat_template_fuzz)
cp "$data"/templates/*.jinja "$s"/
printf '{%% for m in messages %%}{{ m.role | upper }}: {{ m.content | trim }}{%% endfor %%}' > "$s/loop.jinja"
printf '{%% macro f(x) %%}{{ x ~ x }}{%% endmacro %%}{%% set ns = namespace(a=0) %%}{{ f(tools | tojson) }}' > "$s/macro.jinja"

s=$(seed_dir reasoning_fuzz)
# First byte: options (bit 0 no reasoning format, bit 1 starts in reasoning, bit 2 tool calls,
# bit 3 Kimi's syntax).
printf '\x04<think>\nplan\n</think>\n\nAnswer.' > "$s/think"
printf '\x06plan\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>' > "$s/tool_r1"
printf '\x04<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{"a": [1, "}"]}<｜tool▁call▁end｜><｜tool▁calls▁end｜>' > "$s/tool_v31"
# Bit 3: Kimi-K2's tool-call syntax.
printf '\x0c<think>plan<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>done' > "$s/tool_kimi"
printf '\x0cSure.<|tool_call_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_call_section_end|>ok' > "$s/tool_kimi_singular"
printf '\x01<think>kept</think> \xe4\xb8\xad\xe6' > "$s/none_utf8"

s=$(seed_dir pretokenizer_fuzz)
head -c 2000 "$data/text/lighthouse.txt" > "$s/text"
printf '\x01  Hello, world!\r\n\r\n123456 ++x  \xf0\x9f\x98\x80 caf\xc3\xa9 \xff\xfe' > "$s/mixed"
printf '\x02def f(x):\n\treturn x**2  # \xe4\xb8\xad\xe6\x96\x87\n' > "$s/code"

for target in chat_template_fuzz reasoning_fuzz pretokenizer_fuzz; do
  fuzz_run "$target" -max_len=8192
done
echo "text fuzzers: ${seconds}s each, clean"
