// Note parsing: YAML frontmatter into JSON metadata, and the note's title (frontmatter `title`,
// else the first heading, else the file name).
#pragma once

#include <string>
#include <string_view>

namespace kb {

struct ParsedNote {
  std::string title;
  std::string body;                  // the text after the frontmatter block
  std::string metadata_json = "{}";  // frontmatter as a JSON object
  std::string frontmatter_error;     // non-empty when a frontmatter block did not parse
};

// Parses `text` (valid UTF-8). `file_name` is the base name used as the last-resort title.
// Markdown files get frontmatter and heading handling; plain text only the file-name title.
ParsedNote ParseNote(std::string_view text, std::string_view file_name, bool markdown);

// True for .md, .markdown and .mdx files (any case): they get frontmatter, heading titles and
// heading-aware chunking; anything else is plain text.
bool IsMarkdownPath(std::string_view path);

// "Daily notes" for "daily notes.md": the base name without its extension.
std::string TitleFromFileName(std::string_view file_name);

// The text of the first ATX heading ("# Title") outside fenced code, or "".
std::string FirstHeading(std::string_view markdown);

}  // namespace kb
