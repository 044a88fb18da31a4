// Unit tests of the Jinja subset: one case per feature (expected strings written by hand and
// checked against Python Jinja2 3.1 configured as transformers does), then errors and limits.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tokenizer/jinja_eval.h"
#include "tokenizer/jinja_parser.h"
#include "tokenizer/jinja_value.h"

namespace moe::jinja {
namespace {

Result<std::string> render_string(const std::string& source, const nlohmann::json& context,
                                  const RenderLimits& limits = {}, const LexOptions& lex = {}) {
  MOE_ASSIGN_OR_RETURN(auto tmpl, parse_template(source, lex));
  MOE_ASSIGN_OR_RETURN(Value ctx, from_json(context));
  return render(*tmpl, ctx, limits);
}

struct FeatureCase {
  const char* name;
  const char* source;
  const char* context;  // JSON object
  const char* expected;
};

const FeatureCase kFeatureCases[] = {
    {"Text", R"J(hello)J", R"J({})J", R"J(hello)J"},
    {"Expression", R"J({{ 1 + 2 }}|{{ 'a' ~ 1 }}|{{ x }})J", R"J({"x": 5})J", R"J(3|a1|5)J"},
    {"Comment", R"J(a{# hidden #}b)J", R"J({})J", R"J(ab)J"},
    {"WhitespaceControl", R"J(a  {{- 'b' -}}  c
 {%- if true -%}
 d {%- endif %})J",
     R"J({})J", R"J(abcd)J"},
    {"TrimBlocks", R"J({% if true %}
x
{% endif %}
y)J",
     R"J({})J",
     R"J(x
y)J"},
    {"LstripBlocks", R"J(  {% if true %}
  x
  {% endif %}
)J",
     R"J({})J",
     R"J(  x
)J"},
    {"LstripPlusDisables", R"J(  {%+ if true %}x{% endif %})J", R"J({})J", R"J(  x)J"},
    {"Raw", R"J({% raw %}{{ not evaluated }}{% endraw %})J", R"J({})J", R"J({{ not evaluated }})J"},
    {"IfElifElse",
     R"J({% for v in [1, 2, 3] %}{% if v == 1 %}one{% elif v == 2 %}two{% else %}many{% endif %};{% endfor %})J",
     R"J({})J", R"J(one;two;many;)J"},
    {"ForLoopVariables",
     R"J({% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }} {% endfor %})J",
     R"J({})J", R"J(10TrueFalse33 21FalseFalse32 32FalseTrue31 )J"},
    {"ForElse", R"J({% for x in [] %}x{% else %}empty{% endfor %})J", R"J({})J", R"J(empty)J"},
    {"ForDictItems", R"J({% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %})J",
     R"J({"d": {"a": 1, "b": 2}})J", R"J(a=1;b=2;)J"},
    {"ForDictKeys", R"J({% for k in d %}{{ k }}{% endfor %})J", R"J({"d": {"a": 1, "b": 2}})J",
     R"J(ab)J"},
    {"ForFilterAndBreak",
     R"J({% for i in range(10) if i is odd %}{% if i > 5 %}{% break %}{% endif %}{% if i == 3 %}{% continue %}{% endif %}{{ i }}{% endfor %})J",
     R"J({})J", R"J(15)J"},
    {"LoopScopeDoesNotLeak",
     R"J({% set x = 1 %}{% for i in [5] %}{% set x = i %}{{ x }}{% endfor %}{{ x }})J", R"J({})J",
     R"J(51)J"},
    {"IfDoesNotScope", R"J({% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }})J",
     R"J({})J", R"J(2)J"},
    {"Namespace",
     R"J({% set ns = namespace(n=0, s='') %}{% for i in [1,2,3] %}{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }})J",
     R"J({})J", R"J(6 123)J"},
    {"ListAppendPop",
     R"J({% set ns = namespace(ids=[]) %}{% set _ = ns.ids.append('a') %}{% set _ = ns.ids.append(1) %}{{ ns.ids }}{{ ns.ids.pop(0) }}{{ ns.ids.pop() }}{{ ns.ids|length }})J",
     R"J({})J", R"J(['a', 1]a10)J"},
    {"ListPopIndexAndAppendReturnsNone",
     R"J({% set l = [1, 2, 3] %}{{ l.pop(-2) }}{{ l }}{{ l.append([4]) }}{{ l }})J", R"J({})J",
     R"J(2[1, 3]None[1, 3, [4]])J"},
    {"SetTupleAndBlock",
     R"J({% set a, b = 1, 2 %}{% set blk %}[{{ a + b }}]{% endset %}{{ blk }}{{ blk|length }})J",
     R"J({})J", R"J([3]3)J"},
    {"Macro",
     R"J({% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }})J",
     R"J({})J", R"J(Hi A! Hi B?)J"},
    {"MacroVarargsKwargs",
     R"J({% macro m(a) %}{{ a }}{{ varargs|length }}{{ varargs[0] }}{{ kwargs }}{% endmacro %}{{ m(1, 2, k=3) }})J",
     R"J({})J", R"J(112{'k': 3})J"},
    {"CallBlock",
     R"J({% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold{% endcall %})J",
     R"J({})J", R"J(<b>bold</b>)J"},
    {"CallBlockWithArgs",
     R"J({% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(v) each([1,2]) %}<{{ v }}>{% endcall %})J",
     R"J({})J", R"J(<1><2>)J"},
    {"FilterBlock", R"J({% filter upper %}abc{% endfilter %})J", R"J({})J", R"J(ABC)J"},
    {"Tojson", R"J({{ d|tojson }}|{{ [1, 'é', none, true, 1.5]|tojson }}|{{ 'a"b\n'|tojson }})J",
     R"J({"d": {"a": 1, "b": [1, 2]}})J",
     R"J({"a": 1, "b": [1, 2]}|[1, "é", null, true, 1.5]|"a\"b\n")J"},
    {"TojsonIndent", R"J({{ d|tojson(indent=2) }})J", R"J({"d": {"a": 1, "b": [1], "c": {}}})J",
     R"J({
  "a": 1,
  "b": [
    1
  ],
  "c": {}
})J"},
    {"TojsonEnsureAsciiSortKeys",
     R"J({{ {'b': 'é😀', 'a': 1}|tojson(ensure_ascii=true, sort_keys=true) }})J", R"J({})J",
     R"J({"a": 1, "b": "\u00e9\ud83d\ude00"})J"},
    {"TojsonSeparators", R"J({{ [1, {'a': 2}]|tojson(separators=(',', ':')) }})J", R"J({})J",
     R"J([1,{"a":2}])J"},
    {"StringFilters",
     R"J({{ '  x  '|trim }}|{{ 'AbC'|lower }}|{{ 'abc'|upper }}|{{ 'hello world'|capitalize }}|{{ 'a-b-a'|replace('a', 'x') }}|{{ '<a&b>'|escape }}|{{ 'x'|safe }})J",
     R"J({})J", R"J(x|abc|ABC|Hello world|x-b-x|&lt;a&amp;b&gt;|x)J"},
    {"LengthJoinFirstLast",
     R"J({{ [1,2,3]|length }}{{ 'héllo'|length }}{{ {'a':1}|length }}|{{ [1,2,3]|join(', ') }}|{{ [1,2,3]|first }}{{ [1,2,3]|last }}|{{ 'abc'|first }})J",
     R"J({})J", R"J(351|1, 2, 3|13|a)J"},
    {"Default",
     R"J({{ missing|default('d') }}|{{ ''|default('d') }}|{{ ''|default('d', true) }}|{{ none|default('d') }})J",
     R"J({})J", R"J(d||d|None)J"},
    {"MapSelectReject",
     R"J({{ users|map(attribute='name')|join(',') }}|{{ users|selectattr('admin')|map(attribute='name')|list }}|{{ users|rejectattr('admin')|map(attribute='name')|first }}|{{ [1,2,3,4]|select('even')|list }}|{{ ['a','b']|map('upper')|join }})J",
     R"J({"users": [{"name": "x", "admin": true}, {"name": "y", "admin": false}]})J",
     R"J(x,y|['x']|y|[2, 4]|AB)J"},
    {"SelectattrWithTest", R"J({{ ms|selectattr('role', 'equalto', 'user')|list|length }})J",
     R"J({"ms": [{"role": "user"}, {"role": "system"}, {"role": "user"}]})J", R"J(2)J"},
    {"ItemsStringIntList",
     R"J({{ ({'a': 1}|items|list)[0][1] }}|{{ 42|string ~ '!' }}|{{ '12'|int + 1 }}|{{ 'x'|int }}|{{ 3.9|int }}|{{ 'ab'|list }})J",
     R"J({})J", R"J(1|42!|13|0|3|['a', 'b'])J"},
    {"StringMethods",
     R"J({{ 'a,b,c'.split(',') }}|{{ ' x '.strip() }}|{{ 'xxaxx'.lstrip('x') }}|{{ 'xxaxx'.rstrip('x') }}|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith('bc') }}{{ 'abc'.startswith(('x', 'a')) }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}|{{ 'a b  c'.split() }})J",
     R"J({})J", R"J(['a', 'b', 'c']|x|axx|xxa|TrueTrueTrue|bba|ABab|['a', 'b', 'c'])J"},
    {"DictMethods",
     R"J({{ d.keys()|list }}{{ d.values()|list }}{{ d.get('a') }}{{ d.get('z', 'dflt') }}{{ d.get('z') }})J",
     R"J({"d": {"a": 1}})J", R"J(['a'][1]1dfltNone)J"},
    {"InNotIn",
     R"J({{ 'b' in 'abc' }}{{ 2 in [1, 2] }}{{ 'a' in {'a': 1} }}{{ 'z' not in 'abc' }}{{ 3 in [1] }})J",
     R"J({})J", R"J(TrueTrueTrueTrueFalse)J"},
    {"Tests",
     R"J({{ none is none }}{{ x is defined }}{{ y is not defined }}{{ 'a' is string }}{{ {} is mapping }}{{ [] is iterable }}{{ 1.5 is number }}{{ true is true }}{{ false is false }}{{ 1 is true }}{{ 4 is divisibleby 2 }}{{ 3 is odd }})J",
     R"J({"x": 1})J", R"J(TrueTrueTrueTrueTrueTrueTrueTrueTrueFalseTrueTrue)J"},
    {"Slicing",
     R"J({{ 'hello'[1:] }}|{{ 'hello'[::-1] }}|{{ [1,2,3,4][1:3] }}|{{ [1,2,3,4][-2:] }}|{{ [1,2,3,4][::2] }}|{{ 'héllo'[1] }}|{{ [1,2,3][-1] }}|{{ 'a</think>b'.split('</think>')[-1] }})J",
     R"J({})J", R"J(ello|olleh|[2, 3]|[3, 4]|[1, 3]|é|3|b)J"},
    {"AttributeAndIndex",
     R"J({{ m.role }}|{{ m['content'] }}|{{ m.missing }}|{{ m['missing'] is defined }}|{{ xs[5] is defined }}|{{ xs.0 }})J",
     R"J({"m": {"role": "user", "content": "hi"}, "xs": [1]})J", R"J(user|hi||False|False|1)J"},
    {"Arithmetic",
     R"J({{ 7 + 3 }} {{ 7 - 10 }} {{ 2 * 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 1.5 + 1 }} {{ 'ab' * 2 }} {{ [0] * 3 }} {{ [1] + [2] }})J",
     R"J({})J", R"J(10 -3 6 3.5 2.0 3 -4 1 2 1024 2.5 abab [0, 0, 0] [1, 2])J"},
    {"Comparisons",
     R"J({{ 1 < 2 }}{{ 2 <= 2 }}{{ 3 > 4 }}{{ 'a' < 'b' }}{{ 1 == 1.0 }}{{ [1] == [1] }}{{ 'a' != 'b' }})J",
     R"J({})J", R"J(TrueTrueFalseTrueTrueTrueTrue)J"},
    {"Logic",
     R"J({{ true and false }}{{ true or false }}{{ not true }}{{ 0 or 'x' }}{{ 1 and 'y' }}{{ not x is defined }})J",
     R"J({})J", R"J(FalseTrueFalsexyTrue)J"},
    {"Ternary", R"J({{ 'yes' if c else 'no' }}|{{ 'yes' if not c else 'no' }}|{{ 'a' if false }})J",
     R"J({"c": true})J", R"J(yes|no|)J"},
    {"Literals",
     R"J({{ [1, 'two', [3]] }}|{{ {'k': 'v', 'n': none} }}|{{ (1, 2) }}|{{ 1e3 }}|{{ 0.1 }}|{{ 1e20 }}|{{ 1e-5 }}|{{ -5 }}|{{ True }})J",
     R"J({})J", R"J([1, 'two', [3]]|{'k': 'v', 'n': None}|(1, 2)|1000.0|0.1|1e+20|1e-05|-5|True)J"},
    {"PrintValues", R"J({{ none }}|{{ true }}|{{ undefined_var }}|{{ ["it's"] }}|{{ 'a\nb' }})J",
     R"J({})J",
     R"J(None|True||["it's"]|a
b)J"},
    {"StringEscapes", R"J({{ 'tab\there' }}|{{ "dq\"" }}|{{ '\u00e9' }})J", R"J({})J",
     R"J(tab	here|dq"|é)J"},
    {"SortUniqueReverse",
     R"J({{ [3,1,2]|sort }}|{{ ['b','A','c']|sort }}|{{ [1,2,1]|unique|list }}|{{ [1,2,3]|reverse|list }}|{{ 'abc'|reverse }}|{{ [{'n': 2}, {'n': 1}]|sort(attribute='n')|map(attribute='n')|list }})J",
     R"J({})J", R"J([1, 2, 3]|['A', 'b', 'c']|[1, 2]|[3, 2, 1]|cba|[1, 2])J"},
    {"MinMaxSumRound",
     R"J({{ [3,1,2]|max }}{{ [3,1,2]|min }}{{ [1,2,3]|sum }}|{{ 2.567|round(2) }}|{{ 2.4|round }}|{{ -3|abs }})J",
     R"J({})J", R"J(316|2.57|2.0|3)J"},
    {"Indent", R"J({{ 'a\nb\n\nc'|indent(2) }})J", R"J({})J",
     R"J(a
  b

  c)J"},
    {"DictLiteralOrderKept", R"J({{ {'z': 1, 'a': 2}|tojson }})J", R"J({})J",
     R"J({"z": 1, "a": 2})J"},
    {"Loopcycle", R"J({% for i in range(3) %}{{ loop.cycle('a', 'b') }}{% endfor %})J", R"J({})J",
     R"J(aba)J"},
    {"RangeForms", R"J({{ range(3)|list }}{{ range(1, 3)|list }}{{ range(5, 0, -2)|list }})J",
     R"J({})J", R"J([0, 1, 2][1, 2][5, 3, 1])J"},
    {"NestedMacroRecursion",
     R"J({% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * (fact(n - 1)|int) }}{% endif %}{% endmacro %}{{ fact(5) }})J",
     R"J({})J", R"J(120)J"},
    {"Generation", R"J({% generation %}gen{% endgeneration %})J", R"J({})J", R"J(gen)J"},
    {"TitleWordcount", R"J({{ 'hello big world'|title }} {{ 'a b c'|wordcount }})J", R"J({})J",
     R"J(Hello Big World 3)J"},
    {"FilterPrecedence",
     R"J({{ 'a' + xs|length|string }}|{{ -2|abs }}|{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 'a' ~ (1 + 2) }})J",
     R"J({"xs": [1, 2]})J", R"J(a2|2|7|9|a3)J"},
};

TEST(Jinja, Features) {
  for (const FeatureCase& c : kFeatureCases) {
    SCOPED_TRACE(c.name);
    auto r = render_string(c.source, nlohmann::json::parse(c.context));
    ASSERT_TRUE(r.is_ok()) << c.name << ": " << r.status().message();
    EXPECT_EQ(r.value(), c.expected) << c.name;
  }
}

TEST(Jinja, WhitespaceDefaultsOffLikeJinja2) {
  LexOptions jinja2_defaults{false, false, false};
  auto r = render_string("  {% if true %}\nx\n{% endif %}\n", nlohmann::json::object(), {}, jinja2_defaults);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r.value(), "  \nx\n");
  LexOptions keep{false, false, true};
  EXPECT_EQ(render_string("a\n", nlohmann::json::object(), {}, keep).value(), "a\n");
  EXPECT_EQ(render_string("a\n", nlohmann::json::object()).value(), "a");
}

TEST(Jinja, FloatFormattingMatchesPythonRepr) {
  EXPECT_EQ(format_float(1.0), "1.0");
  EXPECT_EQ(format_float(0.1), "0.1");
  EXPECT_EQ(format_float(1e16), "1e+16");
  EXPECT_EQ(format_float(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(format_float(0.0001), "0.0001");
  EXPECT_EQ(format_float(0.00001), "1e-05");
  EXPECT_EQ(format_float(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(format_float(1.0 / 3), "0.3333333333333333");
}

// Every error comes back as a Status (never a crash or an exception) and names the problem.
void expect_error(const std::string& source, const std::string& needle, const nlohmann::json& ctx = nlohmann::json::object(),
                  const RenderLimits& limits = {}) {
  auto r = render_string(source, ctx, limits);
  ASSERT_FALSE(r.is_ok()) << source << " rendered " << r.value();
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << source << ": " << r.status().message();
}

TEST(JinjaErrors, UnsupportedConstructs) {
  expect_error("{% include 'x' %}", "unsupported statement 'include'");
  expect_error("{% extends 'base' %}", "unsupported statement 'extends'");
  expect_error("{% import 'm' as m %}", "unsupported statement 'import'");
  expect_error("{% block b %}{% endblock %}", "unsupported statement 'block'");
  expect_error("{% for x in xs recursive %}{% endfor %}", "recursive");
  expect_error("{{ x|no_such_filter }}", "unknown filter 'no_such_filter'");
  expect_error("{{ x is no_such_test }}", "unknown test");
  expect_error("{{ 'a'.format(1) }}", "no method 'format'");
  expect_error("{{ f(*xs) }}", "*args");
  expect_error("{{ 1 < 2 < 3 }}", "chained comparisons");
}

TEST(JinjaErrors, SyntaxErrorsNameTheLine) {
  expect_error("line1\n{% if x %}", "missing {% endif %}");
  expect_error("a\nb\n{{ 1 + }}", "template line 3");
  expect_error("{{ 'unterminated }}", "unterminated string");
  expect_error("{{ x ", "unclosed {{ tag");
  expect_error("{# never closed", "unclosed comment");
  expect_error("{% break %}", "outside of a for loop");
  expect_error("{{ x @ y }}", "unexpected character '@'");
  expect_error("{% endfor %}", "unsupported statement 'endfor'");
}

TEST(JinjaErrors, RuntimeErrors) {
  expect_error("{{ raise_exception('bad role') }}", "bad role");
  expect_error("{{ missing.attr }}", "'missing' is undefined");
  expect_error("{{ 1 / 0 }}", "division by zero");
  expect_error("{{ 1 + 'a' }}", "unsupported operand types");
  expect_error("{{ missing + 1 }}", "'missing' is undefined");
  expect_error("{% set d = {'a': 1} %}{% set d.a = 2 %}", "only namespace()");
  expect_error("{% for x in none %}{% endfor %}", "not iterable");
  expect_error("{{ 9223372036854775807 + 1 }}", "integer overflow");
  expect_error("{{ [1, 'a']|sort }}", "cannot compare");
  expect_error("{{ none() }}", "not callable");
  expect_error("{% set l = [] %}{{ l.pop() }}", "pop from empty list");
  expect_error("{% set l = [1] %}{{ l.pop(1) }}", "pop index out of range");
  expect_error("{% set l = [1] %}{{ l.pop(-2) }}", "pop index out of range");
  expect_error("{% set l = [] %}{{ l.append(1, 2) }}", "takes one argument");
  expect_error("{{ (1, 2).append(3) }}", "no method 'append'");
}

TEST(JinjaLimits, InfiniteRecursionIsBounded) {
  expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "nesting deeper than");
}

TEST(JinjaLimits, DeepExpressionNestingIsBounded) {
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  expect_error(deep, "nested too deeply");
  std::string deep_blocks;
  for (int i = 0; i < 1000; ++i) deep_blocks += "{% if true %}";
  expect_error(deep_blocks, "nested too deeply");
  std::string nots = "{{ " ;
  for (int i = 0; i < 5000; ++i) nots += "not ";
  expect_error(nots + "x }}", "nested too deeply");
}

TEST(JinjaLimits, HugeLoopsAreBounded) {
  expect_error("{% for i in range(100000000) %}{% endfor %}", "range() too large");
  RenderLimits medium;
  medium.max_work = 20000;
  expect_error("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", "work limit",
               nlohmann::json::object(), medium);
  expect_error("{% macro f(n) %}{% if n > 0 %}{% for i in range(10) %}{{ f(n - 1) }}{% endfor %}{% endif %}"
               "{% endmacro %}{{ f(8) }}",
               "work limit",
               nlohmann::json::object(), medium);
  RenderLimits small;
  small.max_work = 100;
  expect_error("{% for i in range(50) %}{% for j in range(50) %}{% endfor %}{% endfor %}", "work limit",
               nlohmann::json::object(), small);
}

TEST(JinjaLimits, OutputAndStringGrowthAreBounded) {
  RenderLimits small;
  small.max_output_bytes = 1000;
  expect_error("{% for i in range(100) %}0123456789ABCDEF{% endfor %}", "output exceeds", nlohmann::json::object(), small);
  expect_error("{{ 'x' * 100000 }}", "output limit", nlohmann::json::object(), small);
  expect_error("{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
               "output limit");
  RenderLimits medium;
  medium.max_work = 20000;
  expect_error("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
               "work limit", nlohmann::json::object(), medium);
  expect_error("{{ [1] * 9000000000000000000 }}", "work limit");
}

TEST(JinjaLimits, ValueNestingIsBounded) {
  expect_error("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = [ns.l] %}{% endfor %}",
               "nested deeper than");
  expect_error("{% set ns = namespace(d={}) %}{% for i in range(1000) %}{% set ns.d = dict(a=ns.d) %}{% endfor %}",
               "nested deeper than");
}

TEST(JinjaLimits, NamespaceCyclesAndChainsAreFreed) {
  // A namespace holding itself, and a 100k-long chain of namespaces: rendering and freeing
  // must neither leak (the sanitizer build checks) nor recurse deeply.
  auto r = render_string("{% set ns = namespace(x=none) %}{% set ns.x = ns %}{{ ns.x == ns }}{{ ns.x.x is defined }}",
                         nlohmann::json::object());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r.value(), "TrueTrue");
  r = render_string(
      "{% set ns = namespace(x=none) %}{% for i in range(100000) %}{% set t = namespace(y=none) %}"
      "{% set t.y = ns.x %}{% set ns.x = t %}{% endfor %}done",
      nlohmann::json::object());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r.value(), "done");
}

TEST(JinjaLimits, ListsNeverContainThemselves) {
  expect_error("{% set l = [] %}{% set _ = l.append(l) %}", "cannot contain itself");
  expect_error("{% set l = [] %}{% set m = {'k': [0, l]} %}{% set _ = l.append(m) %}",
               "cannot contain itself");
  // through a namespace a cycle is possible, and harmless: it prints and compares opaquely,
  // and the render frees it (the sanitizer build checks)
  auto r = render_string(
      "{% set ns = namespace(l=[]) %}{% set _ = ns.l.append(ns) %}{{ ns.l }}{{ ns.l == ns.l }}",
      nlohmann::json::object());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r.value(), "[<Namespace>]True");
}

TEST(JinjaLimits, AppendChainsAreBoundedAndFreed) {
  // appends nest lists 1000 deep, past what literals may build: printing, comparing and
  // serializing stop at kMaxValueDepth, and the render frees the chain without recursing
  auto chain_of = [](int n) {
    return "{% set ns = namespace(l=[]) %}{% for i in range(" + std::to_string(n) +
           ") %}{% set t = [] %}{% set _ = t.append(ns.l) %}{% set ns.l = t %}{% endfor %}";
  };
  const std::string chain = chain_of(1000);
  auto r = render_string(chain + "{{ (ns.l|string)[-3:] }}|{{ ns.l == ns.l }}|done",
                         nlohmann::json::object());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r.value(), "]]]|False|done");
  expect_error(chain + "{{ ns.l|tojson }}", "nested too deeply");
  expect_error(chain + "{{ [ns.l, 1] < [ns.l, 2] }}", "nested this deeply");
  // each append looks through the value appended for the list itself: a longer chain costs
  // quadratic work, which the work limit stops
  expect_error(chain_of(100000), "work limit");
}

TEST(JinjaValues, FromJsonRejectsAbsurdNesting) {
  nlohmann::json j = 1;
  for (int i = 0; i < 1000; ++i) j = nlohmann::json::array({j});
  EXPECT_FALSE(from_json(j).is_ok());
}

}  // namespace
}  // namespace moe::jinja
