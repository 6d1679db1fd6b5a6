// The OpenAPI 3 description of the /v1 API (kept beside the routes in routes_*.cpp; the API
// test checks that every route is described).
#include "api/routes.h"

namespace kb::api {

const char* OpenApiJson() {
  return R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "kbindex local API",
    "version": "1",
    "description": "Local HTTP/JSON API of kbindex for a desktop knowledge-base app. Listens on loopback only. Every endpoint but /v1/health needs 'Authorization: Bearer <token>' (the token is in the file printed by `kbindex serve`, mode 0600). Requests whose Host is not localhost/127.0.0.1/[::1] get 403. Errors are {\"code\", \"message\"}."
  },
  "servers": [{"url": "http://127.0.0.1:7420"}],
  "security": [{"bearer": []}],
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
      "Error": {"type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "example": "unauthorized"}, "message": {"type": "string"}}},
      "SyncRun": {"type": "object", "nullable": true, "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string"}, "started": {"type": "string", "format": "date-time"},
        "finished": {"type": "string", "format": "date-time", "nullable": true}, "attempted": {"type": "integer"},
        "synced": {"type": "integer"}, "failed": {"type": "integer"}, "deleted": {"type": "integer"},
        "batches": {"type": "integer"}, "error": {"type": "string", "nullable": true}}},
      "Stats": {"type": "object", "required": ["documents", "sync", "skipped", "lastSyncRun"], "properties": {
        "documents": {"type": "integer", "description": "live documents"},
        "tombstoned": {"type": "integer"},
        "sync": {"type": "object", "properties": {"synced": {"type": "integer"}, "pending": {"type": "integer"},
          "failed": {"type": "integer"}, "exhausted": {"type": "integer"}, "maxAttempts": {"type": "integer"},
          "lastSyncRun": {"$ref": "#/components/schemas/SyncRun"}}},
        "skipped": {"type": "integer"},
        "lastSyncRun": {"$ref": "#/components/schemas/SyncRun"},
        "oldestPendingAgeSeconds": {"type": "integer", "nullable": true},
        "embedder": {"type": "string"}, "collection": {"type": "string"},
        "chroma": {"type": "object", "properties": {"reachable": {"type": "boolean"},
          "count": {"type": "integer", "nullable": true}, "url": {"type": "string"}, "error": {"type": "string"}}}}},
      "SearchHit": {"type": "object", "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "path": {"type": "string", "nullable": true},
        "source": {"type": "string"}, "snippet": {"type": "string", "description": "matches wrapped in ** **"},
        "score": {"type": "number"}, "foundBy": {"type": "array", "items": {"type": "string", "enum": ["keyword", "semantic"]}},
        "syncStatus": {"type": "string", "enum": ["pending", "synced", "failed"]}, "heading": {"type": "string"}}},
      "SearchResponse": {"type": "object", "properties": {
        "query": {"type": "string"}, "mode": {"type": "string"}, "degraded": {"type": "boolean",
          "description": "true when the semantic side was unavailable and only keyword results are shown"},
        "degradedReason": {"type": "string"},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/SearchHit"}}}},
      "DocumentIn": {"type": "object", "required": ["body"], "additionalProperties": false, "properties": {
        "title": {"type": "string", "description": "default: the first Markdown heading, else the id"},
        "body": {"type": "string", "description": "Markdown or plain text"},
        "metadata": {"type": "object", "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "number"},
          {"type": "boolean"}, {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}}]}}}},
      "PutResult": {"type": "object", "properties": {"id": {"type": "string"},
        "result": {"type": "string", "enum": ["created", "updated", "unchanged"]},
        "sync_status": {"type": "string", "enum": ["pending", "synced", "failed"]}, "contentHash": {"type": "string"}}},
      "Document": {"type": "object", "properties": {
        "id": {"type": "string"}, "source": {"type": "string"}, "path": {"type": "string", "nullable": true},
        "title": {"type": "string"}, "metadata": {"type": "object"}, "contentHash": {"type": "string"},
        "created": {"type": "string"}, "updated": {"type": "string"}, "deleted": {"type": "string", "nullable": true},
        "body": {"type": "string", "description": "only with ?body=true"},
        "sync": {"type": "object", "properties": {"status": {"type": "string"}, "attempts": {"type": "integer"},
          "lastAttempt": {"type": "string", "nullable": true}, "error": {"type": "string", "nullable": true},
          "syncedHash": {"type": "string", "nullable": true}, "chunks": {"type": "integer"}}}}},
      "Job": {"type": "object", "properties": {"id": {"type": "string"}, "kind": {"type": "string"},
        "state": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
        "created": {"type": "string"}, "started": {"type": "string", "nullable": true},
        "finished": {"type": "string", "nullable": true}, "progress": {"type": "object"},
        "result": {"type": "object", "nullable": true}, "error": {"type": "string", "nullable": true}}},
      "Accepted": {"type": "object", "properties": {"job": {"type": "string"}, "status": {"type": "string"}}}
    },
    "parameters": {
      "DocId": {"name": "id", "in": "path", "required": true, "description": "1-512 chars of letters, digits and . _ - ~ : / @ +",
        "schema": {"type": "string"}}
    },
    "responses": {
      "Error": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  },
  "paths": {
    "/v1/health": {"get": {"summary": "Process, SQLite and Chroma status", "security": [],
      "responses": {"200": {"description": "status ok or degraded, with reasons", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"status": {"type": "string", "enum": ["ok", "degraded"]},
        "reasons": {"type": "array", "items": {"type": "string"}}, "sqlite": {"type": "object"},
        "chroma": {"type": "object"}, "worker": {"type": "object"}, "version": {"type": "string"}}}}}}}}},
    "/v1/stats": {"get": {"summary": "The same object as `kbindex stats --json`",
      "responses": {"200": {"description": "stats", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Stats"}}}},
        "401": {"$ref": "#/components/responses/Error"}}}},
    "/v1/search": {"get": {"summary": "Keyword (FTS5 bm25), semantic (Chroma) or hybrid (reciprocal-rank fusion) search",
      "parameters": [
        {"name": "q", "in": "query", "required": true, "schema": {"type": "string", "maxLength": 1000}},
        {"name": "mode", "in": "query", "schema": {"type": "string", "enum": ["keyword", "semantic", "hybrid"], "default": "hybrid"}},
        {"name": "k", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}},
        {"name": "source", "in": "query", "schema": {"type": "string"}},
        {"name": "raw", "in": "query", "description": "true: q is FTS5 query syntax", "schema": {"type": "boolean"}}],
      "responses": {"200": {"description": "results", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchResponse"}}}},
        "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}}},
    "/v1/documents/{id}": {
      "parameters": [{"$ref": "#/components/parameters/DocId"}],
      "get": {"summary": "One document and its sync state",
        "parameters": [{"name": "body", "in": "query", "schema": {"type": "boolean"}}],
        "responses": {"200": {"description": "document", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Document"}}}},
          "404": {"$ref": "#/components/responses/Error"}}},
      "put": {"summary": "Create or replace a note; answers at once with sync_status pending",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DocumentIn"}}}},
        "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PutResult"}}}},
          "200": {"description": "updated or unchanged", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PutResult"}}}},
          "400": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "Delete a note (gone from search at once; removed from Chroma by the next sync)",
        "responses": {"200": {"description": "deleted"}, "404": {"$ref": "#/components/responses/Error"},
          "409": {"$ref": "#/components/responses/Error"}}}},
    "/v1/failures": {"get": {"summary": "Failed documents with attempts, last attempt and error",
      "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100}}],
      "responses": {"200": {"description": "failures"}}}},
    "/v1/sync": {"post": {"summary": "Run a sync pass now (a job)",
      "responses": {"202": {"description": "accepted", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
        "503": {"$ref": "#/components/responses/Error"}}}},
    "/v1/reindex": {"post": {"summary": "Re-index in place without downtime (a job)",
      "responses": {"202": {"description": "accepted", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
        "503": {"$ref": "#/components/responses/Error"}}}},
    "/v1/index": {"post": {"summary": "Scan the configured folders, or read one database source, then sync (a job)",
      "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {
        "source": {"type": "string", "description": "a configured database source; without it the folders are scanned"},
        "mode": {"type": "string", "enum": ["full", "incremental", "outbox"], "description": "default: the source's mode"},
        "item": {"type": "string", "description": "read this one row (by id) and apply it"},
        "allowMassDelete": {"type": "boolean"}}}}}},
      "responses": {"202": {"description": "accepted", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
        "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/v1/jobs/{id}": {"get": {"summary": "Progress and result of a job",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
        "404": {"$ref": "#/components/responses/Error"}}}},
    "/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3"}}}}
  }
})json";
}

}  // namespace kb::api
