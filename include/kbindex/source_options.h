// DatabaseSource: notes that live in another application's database (a SQLite file, or a
// PostgreSQL database), read into kbindex as a source next to folders. One entry of the
// "sources" list of the config file (snake_case keys as below; unknown keys are an error).
//
//   {"name": "notes", "kind": "postgres", "conninfo_env": "NOTES_PG",
//    "table": "notes", "id_column": "id", "title_column": "title", "body_column": "body",
//    "metadata_columns": ["author", "tags"], "updated_at_column": "updated_at",
//    "deleted_at_column": "deleted_at", "mode": "incremental"}
//
// Document ids are "<name>:<row id>". Credentials (a password in `conninfo`) are never logged,
// printed or shown in stats: prefer `conninfo_env` or `conninfo_file`, or libpq's own ~/.pgpass.
#pragma once

#include <string>
#include <vector>

namespace kbindex {

struct DatabaseSource {
  std::string name;  // source name: letters, digits, '.', '_', '-' (1..64)
  std::string kind;  // "sqlite" | "postgres"

  // Where. sqlite: `path`, the database file, opened read-only (the application keeps writing
  // it). postgres: a libpq connection string or URI, given inline (`conninfo`), by the name of
  // an environment variable holding it (`conninfo_env`), or in a file (`conninfo_file`).
  std::string path;
  std::string conninfo;
  std::string conninfo_env;
  std::string conninfo_file;

  // What. A table (or view), "name" or "schema.name"; or a query (one SELECT, run as a
  // subquery on a read-only connection) whose result columns carry the names mapped below.
  std::string table;
  std::string query;

  // Column mapping. Identifiers only (letters, digits, '_'); they are validated and quoted.
  std::string id_column = "id";
  std::string title_column;  // empty: the body's first heading, else the row id
  std::string body_column = "body";
  std::vector<std::string> metadata_columns;  // become the note's metadata (and Chroma's)
  std::string updated_at_column;  // timestamp, date, or Unix seconds/milliseconds
  std::string updated_at_unit = "auto";  // numbers: "s" | "ms" | "auto" (>= 1e11 means ms)
  std::string deleted_column;     // a flag: true/non-zero means the note is deleted
  std::string deleted_at_column;  // a time: not NULL means the note is deleted

  // How. mode: "full" (read everything, remove what is gone), "incremental" (rows whose
  // updated_at is at or after the watermark minus `overlap_s`), "outbox" (events). Empty: outbox
  // when an outbox table is set, incremental when an updated_at column is, else full.
  std::string mode;
  int interval_s = 0;       // worker poll interval; 0: 60 s (outbox, incremental), 600 s (full)
  int overlap_s = 300;      // how long a late commit is waited for (see the README)
  int full_interval_s = 0;  // the worker also runs a full read this often (0: never)
  int batch_rows = 1000;    // rows per read and per SQLite write transaction

  // Outbox: a table of events (NoteCreated, NoteUpdated, NoteDeleted, NoteRestored) naming the
  // note that changed; the note's current row is what gets applied.
  std::string outbox_table;
  std::string outbox_event_id_column = "event_id";  // integer, increasing
  std::string outbox_note_id_column = "note_id";
  std::string outbox_type_column = "event_type";
  std::string outbox_time_column;  // optional: when the event happened (shown in stats)

  // Limits.
  int connect_timeout_s = 10;
  int statement_timeout_ms = 30'000;  // also bounds a SQLite source's busy wait
};

}  // namespace kbindex
