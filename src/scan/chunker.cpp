#include "scan/chunker.h"

#include <algorithm>

#include "util/utf8.h"

namespace kb {
namespace {

struct Section {
  std::string_view text;
  std::string heading;
};

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Heading level of an ATX heading line (1-6), or 0.
int HeadingLevel(std::string_view line, std::string_view* text) {
  size_t lead = 0;
  while (lead < line.size() && lead < 4 && line[lead] == ' ') ++lead;
  if (lead > 3) return 0;
  line.remove_prefix(lead);
  int level = 0;
  while (level < static_cast<int>(line.size()) && line[level] == '#') ++level;
  if (level == 0 || level > 6) return 0;
  if (level < static_cast<int>(line.size()) && line[level] != ' ' && line[level] != '\t') return 0;
  std::string_view h = line.substr(level);
  while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.remove_prefix(1);
  h = TrimRight(h);
  while (!h.empty() && h.back() == '#') h.remove_suffix(1);
  *text = TrimRight(h);
  return level;
}

std::vector<Section> SplitSections(std::string_view body) {
  std::vector<Section> out;
  std::vector<std::pair<int, std::string>> stack;  // (level, heading text)
  auto path = [&] {
    std::string p;
    for (const auto& [lvl, t] : stack) {
      if (!p.empty()) p += " > ";
      p += t;
    }
    return p;
  };
  size_t section_start = 0;
  std::string current_heading;
  bool in_fence = false;
  char fence_char = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t e = body.find('\n', pos);
    if (e == std::string_view::npos) e = body.size();
    std::string_view line = body.substr(pos, e - pos);
    std::string_view trimmed = line;
    while (!trimmed.empty() && trimmed.front() == ' ') trimmed.remove_prefix(1);
    if (trimmed.starts_with("```") || trimmed.starts_with("~~~")) {
      if (!in_fence) {
        in_fence = true;
        fence_char = trimmed[0];
      } else if (trimmed[0] == fence_char) {
        in_fence = false;
      }
    } else if (!in_fence) {
      std::string_view htext;
      const int level = HeadingLevel(line, &htext);
      if (level > 0) {
        if (pos > section_start) out.push_back({body.substr(section_start, pos - section_start), current_heading});
        section_start = pos;
        while (!stack.empty() && stack.back().first >= level) stack.pop_back();
        stack.emplace_back(level, std::string(htext));
        current_heading = path();
      }
    }
    pos = e + 1;
  }
  if (section_start < body.size()) out.push_back({body.substr(section_start), current_heading});
  return out;
}

// Splits `text` into pieces of at most max bytes, preferring paragraph, then line, then word
// boundaries, and never cutting a UTF-8 sequence.
void SplitLarge(std::string_view text, size_t max, std::vector<std::string_view>& out) {
  while (text.size() > max) {
    std::string_view window = text.substr(0, max);
    size_t cut = window.rfind("\n\n");
    if (cut == std::string_view::npos || cut < max / 4) {
      size_t nl = window.rfind('\n');
      cut = (nl != std::string_view::npos && nl >= max / 4) ? nl : std::string_view::npos;
    }
    if (cut == std::string_view::npos) {
      size_t sp = window.rfind(' ');
      cut = (sp != std::string_view::npos && sp >= max / 4) ? sp : std::string_view::npos;
    }
    if (cut == std::string_view::npos || cut == 0) cut = utf8::BoundaryAtOrBefore(text, max);
    if (cut == 0) cut = std::min(text.size(), max);  // not UTF-8 at all: cut anywhere
    out.push_back(text.substr(0, cut));
    text.remove_prefix(cut);
    // Drop the separator we cut at.
    while (!text.empty() && (text.front() == '\n' || text.front() == ' ')) text.remove_prefix(1);
  }
  if (!text.empty()) out.push_back(text);
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; });
}

}  // namespace

std::vector<Chunk> ChunkDocument(std::string_view body, bool markdown, const ChunkerOptions& options,
                                 bool* truncated) {
  std::vector<Chunk> chunks;
  if (truncated) *truncated = false;
  if (options.mode == ChunkerOptions::Mode::kNone) {
    chunks.push_back({std::string(body), ""});
    return chunks;
  }
  const size_t max = std::max<size_t>(options.max_bytes, 16);
  std::vector<Section> sections;
  if (markdown) {
    sections = SplitSections(body);
  } else {
    sections.push_back({body, ""});
  }
  Chunk current;
  bool full = false;  // max_chunks reached: what is left is not chunked
  auto flush = [&] {
    if (!IsBlank(current.text)) {
      if (options.max_chunks > 0 && chunks.size() >= options.max_chunks) {
        full = true;
      } else {
        chunks.push_back(std::move(current));
      }
    }
    current = Chunk{};
  };
  for (const Section& s : sections) {
    if (full) break;
    std::vector<std::string_view> pieces;
    if (s.text.size() <= max) {
      pieces.push_back(s.text);
    } else {
      // Paragraph-wise, so packing below can keep paragraphs whole.
      size_t pos = 0;
      while (pos < s.text.size()) {
        size_t e = s.text.find("\n\n", pos);
        if (e == std::string_view::npos) e = s.text.size(); else e += 2;
        SplitLarge(s.text.substr(pos, e - pos), max, pieces);
        pos = e;
      }
    }
    for (std::string_view p : pieces) {
      if (IsBlank(p)) continue;
      if (!current.text.empty() && current.text.size() + p.size() > max) flush();
      if (full) break;
      if (current.text.empty()) current.heading = s.heading;
      current.text.append(p);
    }
  }
  flush();
  if (truncated) *truncated = full;
  if (chunks.empty()) chunks.push_back({std::string(), ""});
  return chunks;
}

}  // namespace kb
