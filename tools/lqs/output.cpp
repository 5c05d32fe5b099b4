// Copyright lqs authors. Output formats and parameter syntax of the lqs CLI.
#include "cli.hpp"
#include "daemon/sqs_params.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace lqs::cli {

int& exit_code() {
  static int code = kExitOk;
  return code;
}

void service_error(std::string_view code, std::string_view action, std::string_view message) {
  std::string line = "An error occurred (" + std::string(code) + ") when calling the " +
                     std::string(action) + " operation";
  if (!message.empty()) {
    line += ": " + std::string(message);
  }
  // One line: a message with newlines would break scripts reading stderr line by line.
  std::replace(line.begin(), line.end(), '\n', ' ');
  throw Failure(kExitService, line);
}

void service_error(const Error& e, std::string_view action) {
  service_error(sqs_shape(e.code), action, e.message);
}

namespace {

bool scalar(const json& v) { return !v.is_object() && !v.is_array(); }

// Python's str() of a JSON scalar, as the AWS CLI's text output prints it.
std::string py_str(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "None";
  return v.dump();
}

std::string upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

// awscli/text.py, step for step: dicts print their scalars on one line (prefixed by the
// upper-cased key they hang from), then recurse into their non-scalars in key order; lists of
// dicts share one column set; lists of scalars print one IDENTIFIER<TAB>value line each.
void text_of(const json& item, std::string& out, const std::string* identifier,
             const std::vector<std::string>* scalar_keys);

void text_of_dict(const json& item, std::string& out, const std::string* identifier,
                  const std::vector<std::string>* scalar_keys) {
  std::vector<std::string> scalars;
  std::vector<std::pair<std::string, const json*>> nested;
  if (scalar_keys == nullptr) {
    for (const auto& [k, v] : item.items()) {  // nlohmann objects iterate in key order
      if (scalar(v)) {
        scalars.push_back(py_str(v));
      } else {
        nested.emplace_back(k, &v);
      }
    }
  } else {
    for (const std::string& k : *scalar_keys) {
      const auto it = item.find(k);
      scalars.push_back(it == item.end() ? std::string() : py_str(*it));
    }
    for (const auto& [k, v] : item.items()) {
      if (std::find(scalar_keys->begin(), scalar_keys->end(), k) == scalar_keys->end()) {
        nested.emplace_back(k, &v);
      }
    }
  }
  if (!scalars.empty()) {
    if (identifier != nullptr) scalars.insert(scalars.begin(), upper(*identifier));
    for (size_t i = 0; i < scalars.size(); ++i) {
      out += (i == 0 ? "" : "\t") + scalars[i];
    }
    out += "\n";
  }
  for (const auto& [k, v] : nested) {
    text_of(*v, out, &k, nullptr);
  }
}

void text_of_scalars(const std::vector<const json*>& items, std::string& out,
                     const std::string* identifier) {
  if (identifier != nullptr) {
    for (const json* v : items) out += upper(*identifier) + "\t" + py_str(*v) + "\n";
    return;
  }
  for (size_t i = 0; i < items.size(); ++i) out += (i == 0 ? "" : "\t") + py_str(*items[i]);
  out += "\n";
}

void text_of(const json& item, std::string& out, const std::string* identifier,
             const std::vector<std::string>* scalar_keys) {
  if (item.is_object()) {
    text_of_dict(item, out, identifier, scalar_keys);
    return;
  }
  if (!item.is_array()) {
    out += py_str(item) + "\n";
    return;
  }
  if (item.empty()) return;
  const bool has_dict =
      std::any_of(item.begin(), item.end(), [](const json& e) { return e.is_object(); });
  if (has_dict) {
    std::set<std::string> keys;
    for (const json& e : item) {
      if (!e.is_object()) continue;
      for (const auto& [k, v] : e.items()) {
        if (scalar(v)) keys.insert(k);
      }
    }
    const std::vector<std::string> all(keys.begin(), keys.end());
    for (const json& e : item) text_of(e, out, identifier, &all);
    return;
  }
  std::vector<const json*> scalars;
  std::vector<const json*> lists;
  for (const json& e : item) (scalar(e) ? scalars : lists).push_back(&e);
  if (!scalars.empty()) text_of_scalars(scalars, out, identifier);
  for (const json* l : lists) text_of(*l, out, identifier, nullptr);
}

// --- table -----------------------------------------------------------------------------------

using Row = std::vector<std::string>;

// A section: a title, then rows of cells (a header row first when `header`).
struct Section {
  std::string title;
  bool header = false;
  std::vector<Row> rows;
};

void table_sections(const json& v, const std::string& title, std::vector<Section>& out) {
  Section s;
  s.title = title;
  std::vector<std::pair<std::string, const json*>> nested;
  if (v.is_object()) {
    for (const auto& [k, x] : v.items()) {
      if (scalar(x)) {
        s.rows.push_back({k, py_str(x)});
      } else {
        nested.emplace_back(k, &x);
      }
    }
  } else if (v.is_array() &&
             std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_object(); })) {
    std::set<std::string> keys;
    for (const json& e : v) {
      for (const auto& [k, x] : e.items()) {
        if (scalar(x)) keys.insert(k);
      }
    }
    if (!keys.empty()) {
      s.header = true;
      s.rows.emplace_back(keys.begin(), keys.end());
      for (const json& e : v) {
        Row r;
        for (const std::string& k : keys) {
          const auto it = e.find(k);
          r.push_back(it == e.end() ? std::string() : py_str(*it));
        }
        s.rows.push_back(std::move(r));
      }
    }
    for (const json& e : v) {
      for (const auto& [k, x] : e.items()) {
        if (!scalar(x)) nested.emplace_back(k, &x);
      }
    }
  } else if (v.is_array()) {
    for (const json& e : v) {
      if (scalar(e)) {
        s.rows.push_back({py_str(e)});
      } else {
        nested.emplace_back(title, &e);
      }
    }
  }
  out.push_back(std::move(s));
  for (const auto& [k, x] : nested) table_sections(*x, k, out);
}

}  // namespace

std::string render_text(const json& out) {
  std::string s;
  text_of(out, s, nullptr, nullptr);
  return s;
}

std::string render_table(const json& out, const std::string& title) {
  std::vector<Section> sections;
  table_sections(out, title, sections);
  size_t width = 0;  // inner width shared by every section
  for (const Section& s : sections) {
    width = std::max(width, s.title.size() + 4);
  }
  std::vector<std::vector<size_t>> cols(sections.size());
  for (size_t i = 0; i < sections.size(); ++i) {
    for (const Row& r : sections[i].rows) {
      if (cols[i].size() < r.size()) cols[i].resize(r.size(), 0);
      for (size_t c = 0; c < r.size(); ++c) cols[i][c] = std::max(cols[i][c], r[c].size() + 2);
    }
    size_t w = cols[i].empty() ? 0 : cols[i].size() - 1;
    for (const size_t c : cols[i]) w += c;
    width = std::max(width, w);
  }
  std::string t;
  const std::string dashes(width + 2, '-');
  for (size_t i = 0; i < sections.size(); ++i) {
    const Section& s = sections[i];
    if (s.rows.empty() && i != 0) continue;
    std::vector<size_t>& c = cols[i];
    if (!c.empty()) {  // widen the last column to the table's width
      size_t w = c.size() - 1;
      for (const size_t x : c) w += x;
      c.back() += width - w;
    }
    t += (i == 0 ? dashes : "+" + std::string(width, '-') + "+") + "\n";
    const size_t pad = width - s.title.size();
    t += "|" + std::string(pad / 2, ' ') + s.title + std::string(pad - pad / 2, ' ') + "|\n";
    auto rule = [&] {
      std::string r = "+";
      for (const size_t x : c) r += std::string(x, '-') + "+";
      return r + "\n";
    };
    if (s.rows.empty()) continue;
    t += rule();
    for (size_t r = 0; r < s.rows.size(); ++r) {
      t += "|";
      for (size_t k = 0; k < c.size(); ++k) {
        const std::string cell = k < s.rows[r].size() ? s.rows[r][k] : std::string();
        t += " " + cell + std::string(c[k] - cell.size() - 1, ' ') + "|";
      }
      t += "\n";
      if (s.header && r == 0) t += rule();
    }
    t += rule();
  }
  return t;
}

void print_output(const json& out, const std::string& format, const std::string& title) {
  if (out.is_object() && out.empty()) {
    return;  // the AWS CLI prints nothing for an empty response
  }
  std::string s;
  if (format == "text") {
    s = render_text(out);
  } else if (format == "table") {
    s = render_table(out, title);
  } else {
    s = out.dump(4, ' ', false, json::error_handler_t::replace) + "\n";
  }
  (void)std::fwrite(s.data(), 1, s.size(), stdout);
}

std::string param_text(const std::string& value) {
  if (!value.starts_with("file://")) {
    return value;
  }
  const std::string path = value.substr(7);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    usage_error("cannot read " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json parse_json_param(const std::string& flag, const std::string& value) {
  json j = json::parse(param_text(value), nullptr, false);
  if (j.is_discarded()) {
    usage_error(flag + ": not valid JSON: " + value.substr(0, 80));
  }
  return j;
}

json parse_map_param(const std::string& flag, const std::string& value) {
  const std::string text = param_text(value);
  const auto first = text.find_first_not_of(" \t\r\n");
  json out = json::object();
  if (first != std::string::npos && text[first] == '{') {
    const json j = parse_json_param(flag, text);
    if (!j.is_object()) {
      usage_error(flag + ": expected a JSON object");
    }
    for (const auto& [k, v] : j.items()) {
      out[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    return out;
  }
  // Shorthand: Key=Value,Key=Value. A comma starts a new pair only when what follows it has
  // an '=' before the next comma; otherwise it belongs to the value (AWS CLI shorthand lists).
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ',') {
      const size_t next_comma = text.find(',', i + 1);
      const std::string ahead = i == text.size() ? "" : text.substr(i + 1, next_comma - i - 1);
      if (i == text.size() || ahead.find('=') != std::string::npos) {
        parts.push_back(text.substr(start, i - start));
        start = i + 1;
      }
    }
  }
  for (const std::string& p : parts) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      usage_error(flag + ": expected JSON or Key=Value,Key=Value, got '" + p + "'");
    }
    out[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return out;
}

std::string queue_name_of(const std::string& url_or_name) {
  auto name = daemon::params::queue_of_url(json{{"QueueUrl", url_or_name}});
  return name ? *name : std::string();
}

}  // namespace lqs::cli
