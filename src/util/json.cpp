#include "util/json.h"

namespace kb {

Result<nlohmann::json> ParseJson(std::string_view text, int max_depth) {
  int depth = 0;
  bool too_deep = false;
  // Arrays and objects only count when they open (the callback sees the nesting as it parses);
  // parsing stops at the first one beyond the limit.
  nlohmann::json::parser_callback_t limit = [&](int d, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if (event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start) {
      depth = d + 1;
      if (depth > max_depth) {
        too_deep = true;
        throw std::length_error("too deep");
      }
    }
    return true;
  };
  nlohmann::json out;
  try {
    out = nlohmann::json::parse(text.begin(), text.end(), limit, /*allow_exceptions=*/true);
  } catch (const std::length_error&) {
  } catch (const nlohmann::json::out_of_range& e) {
    return Status::InvalidArgument(std::string("a number is out of range (") + e.what() + ")");
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    const auto colon = what.find("] ");
    return Status::InvalidArgument("not valid JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2)));
  }
  if (too_deep) {
    return Status::InvalidArgument("JSON nested deeper than " + std::to_string(max_depth) + " levels");
  }
  return out;
}

}  // namespace kb
