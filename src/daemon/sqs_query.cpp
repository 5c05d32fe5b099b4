// Copyright lqs authors.
#include "daemon/sqs_query.hpp"

#include "queue/validation.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace lqs::daemon::query {
namespace {

using nlohmann::json;

// --- the model -------------------------------------------------------------------------------
// The shapes an action reads and writes, resolved as botocore does (member traits over shape
// traits) by tools/gen/sqs_query_model.py.

enum class Kind : uint8_t { kString, kInteger, kLong, kBoolean, kBlob, kStructure, kList, kMap };

// A structure: its members are kRefs[first, first + count). A list: kRefs[first] is the
// element. A map: kRefs[first] is the key, kRefs[first + 1] the value.
struct Shape {
  Kind kind;
  uint16_t first;
  uint16_t count;
};

// A reference to a shape: a structure member, a list element, a map key or value.
//   name:      the JSON-protocol member name ("" for elements, keys and values);
//   wire:      the Query name (locationName, else the member name): the parameter name and
//              the XML element. "" on an element, key or value means member/key/value;
//   flattened: a list or map written as repeated entries, without a wrapper.
struct Ref {
  std::string_view name;
  std::string_view wire;
  uint16_t shape;
  bool flattened;
};

struct Operation {
  std::string_view name;
  int16_t input;
  int16_t output;  // -1: no result element
};

#include "daemon/sqs_query_model.inc"

constexpr std::string_view kXmlns = "http://queue.amazonaws.com/doc/2012-11-05/";

const Operation* find_operation(std::string_view action) {
  const auto* end = std::end(kOperations);
  const auto* it =
      std::lower_bound(std::begin(kOperations), end, action,
                       [](const Operation& o, std::string_view a) { return o.name < a; });
  return it != end && it->name == action ? it : nullptr;
}

const Shape& shape_of(const Ref& r) { return kShapes[r.shape]; }
const Ref& ref_at(const Shape& s, size_t i) { return kRefs[s.first + i]; }

// --- form decoding -----------------------------------------------------------------------------

using Params = std::map<std::string, std::string, std::less<>>;

Error malformed(std::string message) {
  return make_error(ErrorCode::kMalformedRequest, std::move(message));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded: '+' is a space, %XX a byte.
Result<std::string> form_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      const int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(in[i + 2]) : -1;
      if (lo < 0) {
        return malformed("The query string contains an invalid percent-encoding: \"" +
                         std::string(in.substr(i, std::min<size_t>(3, in.size() - i))) + "\".");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  if (!queue::is_valid_utf8(out)) {
    return malformed("The query string contains a parameter that is not valid UTF-8.");
  }
  return out;
}

// Adds the pairs of `form` to `params`; a name already there keeps its value.
Result<void> add_pairs(std::string_view form, Params& params) {
  while (!form.empty()) {
    const size_t amp = form.find('&');
    const std::string_view pair = form.substr(0, amp);
    form = amp == std::string_view::npos ? std::string_view() : form.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto name = form_decode(pair.substr(0, eq));
    if (!name) return std::move(name).error();
    auto value =
        form_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value) return std::move(value).error();
    if (!name->empty()) params.emplace(std::move(*name), std::move(*value));
  }
  return {};
}

// --- Query parameters -> JSON input ------------------------------------------------------------

std::string join(std::string_view prefix, std::string_view name) {
  std::string out(prefix);
  if (!out.empty()) out.push_back('.');
  out.append(name);
  return out;
}

// "a.b.c" -> "a.b"; "a" -> "".
std::string_view parent_of(std::string_view key) {
  const size_t dot = key.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : key.substr(0, dot);
}

bool has_children(const Params& p, std::string_view key) {
  const std::string prefix = std::string(key) + ".";
  const auto it = p.lower_bound(prefix);
  return it != p.end() && it->first.starts_with(prefix);
}

// The count of entries `base.1`, `base.2`, ... `base.N` (N >= 0), given by any parameter named
// `base.<i>` or `base.<i>.<more>`. Indexes must run 1..N without a gap.
Result<size_t> count_entries(const Params& p, std::string_view base) {
  const std::string prefix = std::string(base) + ".";
  size_t distinct = 0;
  size_t max_index = 0;
  size_t last = 0;
  for (auto it = p.lower_bound(prefix); it != p.end() && it->first.starts_with(prefix); ++it) {
    std::string_view rest = std::string_view(it->first).substr(prefix.size());
    rest = rest.substr(0, rest.find('.'));
    size_t index = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), index);
    if (ec != std::errc() || end != rest.data() + rest.size() || rest.empty() || rest[0] == '0' ||
        rest.size() > 9) {
      return malformed("The parameter " + it->first + " has an invalid index: \"" +
                       std::string(rest) + "\" (indexes are 1, 2, 3, ...).");
    }
    // The names are sorted as strings, and an index ends at '.' or at the end of the name, so
    // the names of one entry are adjacent (anything sorting between them fails above).
    if (index != last) {
      ++distinct;
      last = index;
    }
    max_index = std::max(max_index, index);
  }
  if (max_index != distinct) {
    return malformed("The indexes of " + std::string(base) +
                     " must be 1, 2, 3, ... without a gap; found " + std::to_string(distinct) +
                     " entries up to index " + std::to_string(max_index) + ".");
  }
  return distinct;
}

Error not_a(std::string_view key, std::string_view value, std::string_view what) {
  return make_error(ErrorCode::kInvalidParameterValue,
                    "Value " + std::string(value) + " for parameter " + std::string(key) +
                        " is invalid. Reason: Must be " + std::string(what) + ".");
}

Error missing(std::string_view key) {
  return make_error(ErrorCode::kMissingParameter,
                    "The request must contain the parameter " + std::string(key) + ".");
}

Result<json> scalar(Kind kind, std::string_view key, const std::string& value) {
  switch (kind) {
    case Kind::kInteger:
    case Kind::kLong: {
      int64_t v = 0;
      const char* b = value.data();
      const char* e = b + value.size();
      const auto [end, ec] = std::from_chars(b, e, v);
      if (value.empty() || ec != std::errc() || end != e) {
        return not_a(key, value, "an integer");
      }
      return json(v);
    }
    case Kind::kBoolean:
      if (value == "true" || value == "false") return json(value == "true");
      return not_a(key, value, "a boolean (true or false)");
    default:  // strings, and blobs: base64 text in both protocols
      return json(value);
  }
}

Result<std::optional<json>> read(const Params& p, const std::string& key, const Ref& ref);

Result<std::optional<json>> read_struct(const Params& p, const std::string& prefix,
                                        const Shape& s) {
  json out = json::object();
  for (size_t i = 0; i < s.count; ++i) {
    const Ref& m = ref_at(s, i);
    auto v = read(p, join(prefix, m.wire), m);
    if (!v) return std::move(v).error();
    if (*v) out[std::string(m.name)] = std::move(**v);
  }
  return std::optional<json>(std::move(out));
}

// The value of `ref` at parameter name `key` (for a flattened list, `key` is the member's own
// name: botocore replaces its last component by the element's name). nullopt if absent.
Result<std::optional<json>> read(const Params& p, const std::string& key, const Ref& ref) {
  const Shape& s = shape_of(ref);
  switch (s.kind) {
    case Kind::kStructure:
      if (!has_children(p, key)) return std::optional<json>();
      return read_struct(p, key, s);
    case Kind::kList: {
      const Ref& elem = ref_at(s, 0);
      std::string base;
      if (ref.flattened) {
        base = elem.wire.empty() ? key : join(parent_of(key), elem.wire);
      } else {
        base = join(key, elem.wire.empty() ? "member" : elem.wire);
      }
      auto n = count_entries(p, base);
      if (!n) return std::move(n).error();
      if (*n == 0) {
        // botocore sends an empty list as the member's name with an empty value.
        const auto it = p.find(key);
        if (it != p.end() && it->second.empty()) return std::optional<json>(json::array());
        return std::optional<json>();
      }
      json out = json::array();
      for (size_t i = 1; i <= *n; ++i) {
        const std::string at = base + "." + std::to_string(i);
        auto v = read(p, at, elem);
        if (!v) return std::move(v).error();
        out.push_back(*v ? std::move(**v) : json::object());
      }
      return std::optional<json>(std::move(out));
    }
    case Kind::kMap: {
      const Ref& k = ref_at(s, 0);
      const Ref& v = ref_at(s, 1);
      const std::string base = ref.flattened ? key : join(key, "entry");
      auto n = count_entries(p, base);
      if (!n) return std::move(n).error();
      if (*n == 0) return std::optional<json>();
      json out = json::object();
      for (size_t i = 1; i <= *n; ++i) {
        const std::string at = base + "." + std::to_string(i);
        const std::string key_at = join(at, k.wire.empty() ? "key" : k.wire);
        const std::string value_at = join(at, v.wire.empty() ? "value" : v.wire);
        const auto name = p.find(key_at);
        if (name == p.end()) return missing(key_at);
        auto value = read(p, value_at, v);
        if (!value) return std::move(value).error();
        if (!*value) {
          // A structure value with no member is left for the core to judge ({}); a string
          // value must be there, even if empty (`Tag.1.Value=`).
          if (shape_of(v).kind != Kind::kStructure) return missing(value_at);
          *value = json::object();
        }
        out[name->second] = std::move(**value);
      }
      return std::optional<json>(std::move(out));
    }
    default: {
      const auto it = p.find(key);
      if (it == p.end()) return std::optional<json>();
      auto v = scalar(s.kind, key, it->second);
      if (!v) return std::move(v).error();
      return std::optional<json>(std::move(*v));
    }
  }
}

// --- JSON output -> XML --------------------------------------------------------------------

// XML text as SQS escapes it: the five specials but the apostrophe, and \r as &#xD; (an XML
// parser would otherwise turn "\r\n" into "\n").
void append_escaped(std::string& out, std::string_view s) {
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\r':
        out += "&#xD;";
        break;
      default:
        out.push_back(c);
    }
  }
}

void open_tag(std::string& out, std::string_view name) {
  out += '<';
  out += name;
  out += '>';
}

void close_tag(std::string& out, std::string_view name) {
  out += "</";
  out += name;
  out += '>';
}

void element(std::string& out, std::string_view name, std::string_view text) {
  open_tag(out, name);
  append_escaped(out, text);
  close_tag(out, name);
}

std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();  // numbers (integers as written; the model has no float)
}

void write_struct(std::string& out, const Shape& s, const json& v);

// `v` as the element(s) `name` of type `ref` (for a flattened list or map, the repeated
// entries; `name` is then the member's own element name).
void write(std::string& out, std::string_view name, const Ref& ref, const json& v) {
  if (v.is_null()) return;
  const Shape& s = shape_of(ref);
  switch (s.kind) {
    case Kind::kStructure:
      if (!v.is_object()) return;
      open_tag(out, name);
      write_struct(out, s, v);
      close_tag(out, name);
      return;
    case Kind::kList: {
      if (!v.is_array()) return;
      const Ref& elem = ref_at(s, 0);
      if (ref.flattened) {
        const std::string_view item = elem.wire.empty() ? name : elem.wire;
        for (const json& e : v) write(out, item, elem, e);
        return;
      }
      open_tag(out, name);
      for (const json& e : v) write(out, elem.wire.empty() ? "member" : elem.wire, elem, e);
      close_tag(out, name);
      return;
    }
    case Kind::kMap: {
      if (!v.is_object()) return;
      const std::string_view key_name = ref_at(s, 0).wire.empty() ? "key" : ref_at(s, 0).wire;
      const Ref& value = ref_at(s, 1);
      const std::string_view value_name = value.wire.empty() ? "value" : value.wire;
      if (!ref.flattened) open_tag(out, name);
      const std::string_view entry = ref.flattened ? name : "entry";
      for (const auto& [k, e] : v.items()) {
        open_tag(out, entry);
        element(out, key_name, k);
        write(out, value_name, value, e);
        close_tag(out, entry);
      }
      if (!ref.flattened) close_tag(out, name);
      return;
    }
    default:
      if (v.is_structured()) return;
      element(out, name, scalar_text(v));
      return;
  }
}

void write_struct(std::string& out, const Shape& s, const json& v) {
  for (size_t i = 0; i < s.count; ++i) {
    const Ref& m = ref_at(s, i);
    const auto it = v.find(m.name);
    if (it != v.end()) write(out, m.wire, m, *it);
  }
}

void response_metadata(std::string& out, std::string_view request_id) {
  out += "<ResponseMetadata>";
  element(out, "RequestId", request_id);
  out += "</ResponseMetadata>";
}

}  // namespace

Result<QueryRequest> parse(std::string_view form_body, std::string_view url_query) {
  Params params;
  if (auto r = add_pairs(form_body, params); !r) return std::move(r).error();
  if (auto r = add_pairs(url_query, params); !r) return std::move(r).error();
  QueryRequest req;
  if (const auto it = params.find("Action"); it != params.end()) req.action = it->second;
  if (const auto it = params.find("Version"); it != params.end()) req.version = it->second;
  if (req.action.empty()) {
    return make_error(ErrorCode::kMissingAction, "The request must contain the parameter Action.");
  }
  const Operation* op = find_operation(req.action);
  if (op == nullptr) {
    return make_error(ErrorCode::kInvalidAction,
                      "The action " + req.action + " is not valid for this endpoint.");
  }
  auto input = read_struct(params, "", kShapes[op->input]);
  if (!input) return std::move(input).error();
  req.input = std::move(**input);
  return req;
}

std::string render_result(std::string_view action, const json& output,
                          std::string_view request_id) {
  const Operation* op = find_operation(action);
  std::string out;
  out.reserve(256);
  const std::string response = std::string(action) + "Response";
  out += '<';
  out += response;
  out += " xmlns=\"";
  out += kXmlns;
  out += "\">";
  if (op != nullptr && op->output >= 0) {
    const std::string result = std::string(action) + "Result";
    const size_t start = out.size();
    open_tag(out, result);
    const size_t body = out.size();
    if (output.is_object()) write_struct(out, kShapes[op->output], output);
    if (out.size() == body) {
      out.resize(start);
      out += '<' + result + "/>";
    } else {
      close_tag(out, result);
    }
  }
  response_metadata(out, request_id);
  close_tag(out, response);
  return out;
}

std::string render_error(const Error& e, std::string_view request_id) {
  std::string out = "<ErrorResponse xmlns=\"";
  out += kXmlns;
  out += "\"><Error>";
  element(out, "Type", sqs_http_status(e.code) >= 500 ? "Receiver" : "Sender");
  element(out, "Code", sqs_legacy_code(e.code));
  element(out, "Message", e.message);
  out += "<Detail/></Error>";
  element(out, "RequestId", request_id);
  out += "</ErrorResponse>";
  return out;
}

}  // namespace lqs::daemon::query
