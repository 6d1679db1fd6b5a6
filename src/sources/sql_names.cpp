#include "sources/sql_names.h"

#include <cctype>

namespace kb::sources {

bool IsIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  const auto first = static_cast<unsigned char>(name[0]);
  if (!std::isalpha(first) && first != '_') return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && u != '_') return false;
  }
  return true;
}

bool IsQualifiedName(std::string_view name) {
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos) return IsIdentifier(name);
  return IsIdentifier(name.substr(0, dot)) && IsIdentifier(name.substr(dot + 1));
}

std::string Quote(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 4);
  out += '"';
  for (char c : name) {
    if (c == '.') {
      out += "\".\"";
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

Status CheckQuery(std::string_view query) {
  size_t i = 0;
  while (i < query.size() && std::isspace(static_cast<unsigned char>(query[i]))) ++i;
  std::string head;
  while (i < query.size() && std::isalpha(static_cast<unsigned char>(query[i])) && head.size() < 8) {
    head += static_cast<char>(std::tolower(static_cast<unsigned char>(query[i++])));
  }
  if (head != "select" && head != "with") {
    return Status::InvalidArgument("query must be one SELECT (or WITH ... SELECT)");
  }
  if (query.find(';') != std::string_view::npos) {
    return Status::InvalidArgument("query must be a single statement without ';'");
  }
  return Status::Ok();
}

}  // namespace kb::sources
