// Database sources without a database: a row becomes a document (id, title, body, metadata,
// hash) or is skipped with a stable reason; the "sources" setting is checked before anything
// connects, and its errors never quote a connection string.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/source_config.h"
#include "sources/row_mapping.h"

namespace kb {
namespace {

using sources::MapRow;
using sources::MappingOptions;
using sources::Row;
using sources::Value;

Value Text(const std::string& s) {
  Value v;
  v.type = Value::Type::kText;
  v.text = s;
  return v;
}
Value Int(int64_t i) {
  Value v;
  v.type = Value::Type::kInt;
  v.i = i;
  v.text = std::to_string(i);
  return v;
}

Row NoteRow(int64_t id, const std::string& body) {
  Row r;
  r.key = Int(id);
  r.title = Text("A title");
  r.body = Text(body);
  r.metadata = {{"author", Text("ann")}, {"stars", Int(3)}};
  return r;
}

MappingOptions Options() {
  MappingOptions o;
  o.source = "app";
  o.max_body_bytes = 100;
  return o;
}

TEST(SourceMappingTest, ARowBecomesADocumentNamedAfterItsSourceAndId) {
  auto m = MapRow(NoteRow(7, "# Heading\ntext"), Options(), 1000);
  ASSERT_TRUE(m.doc.has_value());
  EXPECT_FALSE(m.skipped.has_value());
  EXPECT_EQ(m.row_id, "7");
  EXPECT_EQ(m.doc_id, "app:7");
  EXPECT_EQ(m.doc->id, "app:7");
  EXPECT_EQ(m.doc->source, "app");
  EXPECT_EQ(m.doc->title, "A title");
  EXPECT_EQ(m.doc->body, "# Heading\ntext");
  EXPECT_EQ(nlohmann::json::parse(m.doc->metadata_json), (nlohmann::json{{"author", "ann"}, {"stars", 3}}));

  // The hash follows the content: same row, same hash; any change, another.
  EXPECT_EQ(MapRow(NoteRow(7, "# Heading\ntext"), Options(), 2000).doc->content_hash, m.doc->content_hash);
  EXPECT_NE(MapRow(NoteRow(7, "# Heading\ntext!"), Options(), 1000).doc->content_hash, m.doc->content_hash);
  Row retitled = NoteRow(7, "# Heading\ntext");
  retitled.title = Text("Another");
  EXPECT_NE(MapRow(retitled, Options(), 1000).doc->content_hash, m.doc->content_hash);

  // No title column: the first heading.
  Row untitled = NoteRow(8, "# From the body\ntext");
  untitled.title = Value{};
  EXPECT_EQ(MapRow(untitled, Options(), 1000).doc->title, "From the body");
}

TEST(SourceMappingTest, BadRowsAreSkippedWithAStableReason) {
  auto reason = [](const Row& r) {
    auto m = MapRow(r, Options(), 1000);
    EXPECT_FALSE(m.doc.has_value());
    return m.skipped ? m.skipped->reason : std::string("not skipped");
  };
  Row null_body = NoteRow(1, "");
  null_body.body = Value{};
  EXPECT_EQ(reason(null_body), "null_body");
  EXPECT_EQ(reason(NoteRow(2, "caf\xe9 au lait")), "invalid_utf8");
  EXPECT_EQ(reason(NoteRow(3, std::string("a\0b", 3))), "binary");
  EXPECT_EQ(reason(NoteRow(4, std::string(101, 'x'))), "too_large");
  Row bad_title = NoteRow(5, "fine");
  bad_title.title = Text("bad \xff title");
  EXPECT_EQ(reason(bad_title), "invalid_utf8");
  Row no_id = NoteRow(6, "fine");
  no_id.key.reset();
  EXPECT_EQ(reason(no_id), "bad_id");

  // A skipped row still names its document (its last good version stays).
  auto m = MapRow(NoteRow(2, "caf\xe9"), Options(), 1000);
  EXPECT_EQ(m.doc_id, "app:2");
  EXPECT_EQ(m.skipped->path, "2");
}

TEST(SourceMappingTest, ADeletedRowRemovesItsDocumentWhateverItsBody) {
  Row r = NoteRow(9, "");
  r.body = Value{};
  r.deleted = true;
  auto m = MapRow(r, Options(), 1000);
  EXPECT_TRUE(m.deleted);
  EXPECT_EQ(m.doc_id, "app:9");
  EXPECT_FALSE(m.skipped.has_value());
}

TEST(SourceConfigTest, ErrorsNameTheSourceAndTheSettingButNeverTheConnectionString) {
  const std::string secret = "hunter2-secret";
  std::vector<kbindex::DatabaseSource> parsed;
  Status st = app::ParseDatabaseSources(nlohmann::json::parse(R"([{"name": "pg", "kind": "postgres",
      "conninfo": "host=db password=)" + secret + R"(", "table": "notes", "batch_rows": "many"}])"), &parsed);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("batch_rows"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(secret), std::string::npos) << st.message();

  kbindex::DatabaseSource s;
  s.name = "pg";
  s.kind = "postgres";
  s.conninfo = "host=db password=" + secret;
  s.table = "notes; DROP TABLE notes";
  st = app::ValidateDatabaseSource(s);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message().find(secret), std::string::npos) << st.message();
  s.table = "notes";
  s.conninfo_env = "PG";
  EXPECT_FALSE(app::ValidateDatabaseSource(s).ok()) << "only one of conninfo, conninfo_env, conninfo_file";
  s.conninfo_env.clear();
  EXPECT_TRUE(app::ValidateDatabaseSource(s).ok());
  s.mode = "outbox";
  EXPECT_FALSE(app::ValidateDatabaseSource(s).ok()) << "outbox mode needs an outbox table";
  s.mode.clear();
  s.updated_at_column = "updated_at";
  EXPECT_EQ(app::DefaultMode(s), "incremental");
  EXPECT_EQ(app::PollIntervalSeconds(s), 60);
  s.outbox_table = "outbox";
  EXPECT_EQ(app::DefaultMode(s), "outbox");
  s.outbox_table.clear();
  s.updated_at_column.clear();
  EXPECT_EQ(app::DefaultMode(s), "full");
  EXPECT_EQ(app::PollIntervalSeconds(s), 600);
  std::vector<kbindex::DatabaseSource> twice{s, s};
  EXPECT_FALSE(app::ValidateDatabaseSources(twice).ok()) << "names must be distinct";
}

}  // namespace
}  // namespace kb
