#include "scan/markdown.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "util/utf8.h"

namespace kb {
namespace {

using json = nlohmann::json;

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view Trim(std::string_view s) {
  s = TrimRight(s);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// A YAML scalar as the JSON value a user would expect: booleans, integers and floats when
// they look like one (plain, unquoted), strings otherwise.
json ScalarToJson(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted in the source
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(s.c_str(), &end, 10);
  if (errno == 0 && end && *end == '\0' && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-')) {
    return i;
  }
  errno = 0;
  const double d = std::strtod(s.c_str(), &end);
  if (errno == 0 && end && *end == '\0' && std::isdigit(static_cast<unsigned char>(s.back())) &&
      s.find_first_of("0123456789") != std::string::npos &&
      s.find_first_of("xXpP") == std::string::npos) {
    return d;
  }
  return s;
}

json YamlToJson(const YAML::Node& node, int depth = 0) {
  if (depth > 32) return nullptr;  // hostile nesting
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return ScalarToJson(node);
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& item : node) arr.push_back(YamlToJson(item, depth + 1));
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) continue;
        obj[kv.first.Scalar()] = YamlToJson(kv.second, depth + 1);
      }
      return obj;
    }
    default: return nullptr;
  }
}

// Splits "---\n<yaml>\n---\n<body>" into yaml and body. Returns false when there is no
// frontmatter block at the very start.
bool SplitFrontmatter(std::string_view text, std::string_view* yaml, std::string_view* body) {
  auto line_end = [&](size_t from) {
    const size_t nl = text.find('\n', from);
    return nl == std::string_view::npos ? text.size() : nl;
  };
  size_t e = line_end(0);
  if (TrimRight(text.substr(0, e)) != "---") return false;
  const size_t start = std::min(e + 1, text.size());
  size_t pos = start;
  while (pos < text.size()) {
    e = line_end(pos);
    const std::string_view line = TrimRight(text.substr(pos, e - pos));
    if (line == "---" || line == "...") {
      *yaml = text.substr(start, pos - start);
      *body = text.substr(std::min(e + 1, text.size()));
      return true;
    }
    pos = e + 1;
  }
  return false;  // unterminated: treat the whole file as body
}

}  // namespace

bool IsMarkdownPath(std::string_view path) {
  const size_t dot = path.rfind('.');
  if (dot == std::string_view::npos) return false;
  std::string ext(path.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "md" || ext == "markdown" || ext == "mdx";
}

std::string TitleFromFileName(std::string_view file_name) {
  const size_t slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  const size_t dot = file_name.rfind('.');
  if (dot != std::string_view::npos && dot > 0) file_name = file_name.substr(0, dot);
  return std::string(file_name);
}

std::string FirstHeading(std::string_view md) {
  bool in_fence = false;
  std::string_view fence;
  size_t pos = 0;
  while (pos < md.size()) {
    size_t e = md.find('\n', pos);
    if (e == std::string_view::npos) e = md.size();
    std::string_view line = TrimRight(md.substr(pos, e - pos));
    pos = e + 1;
    std::string_view t = Trim(line);
    if (t.starts_with("```") || t.starts_with("~~~")) {
      if (!in_fence) {
        in_fence = true;
        fence = t.substr(0, 3);
      } else if (t.starts_with(fence)) {
        in_fence = false;
      }
      continue;
    }
    if (in_fence) continue;
    size_t lead = line.find_first_not_of(' ');
    if (lead == std::string_view::npos || lead > 3) continue;
    line.remove_prefix(lead);
    size_t level = 0;
    while (level < line.size() && line[level] == '#') ++level;
    if (level == 0 || level > 6) continue;
    if (level < line.size() && line[level] != ' ' && line[level] != '\t') continue;
    std::string_view h = Trim(line.substr(level));
    while (!h.empty() && h.back() == '#') h.remove_suffix(1);  // closing hashes
    h = Trim(h);
    if (!h.empty()) return std::string(h);
  }
  return "";
}

ParsedNote ParseNote(std::string_view text, std::string_view file_name, bool markdown) {
  ParsedNote note;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // BOM
  std::string_view body = text;
  json meta = json::object();
  if (markdown) {
    std::string_view yaml;
    if (SplitFrontmatter(text, &yaml, &body)) {
      try {
        YAML::Node node = YAML::Load(std::string(yaml));
        if (node.IsMap()) {
          meta = YamlToJson(node);
        } else if (!node.IsNull()) {
          note.frontmatter_error = "frontmatter is not a mapping";
        }
      } catch (const std::exception& e) {
        note.frontmatter_error = std::string("frontmatter: ") + e.what();
        meta = json::object();
        body = text;  // keep everything searchable
      }
    }
  }
  note.body = std::string(body);
  if (auto it = meta.find("title"); it != meta.end() && it->is_string() && !it->get<std::string>().empty()) {
    note.title = it->get<std::string>();
  } else if (it != meta.end() && (it->is_number() || it->is_boolean())) {
    note.title = it->dump();
  }
  if (note.title.empty() && markdown) note.title = FirstHeading(body);
  if (note.title.empty()) note.title = TitleFromFileName(file_name);
  // yaml-cpp accepts what the file holds; keep the JSON valid UTF-8 even if it did not.
  note.metadata_json = meta.dump(-1, ' ', false, json::error_handler_t::replace);
  if (!utf8::IsValid(note.title)) note.title = utf8::Sanitize(note.title);
  return note;
}

}  // namespace kb
