// Package visibility evaluates Temporal's list-filter language (the `query`
// of ListWorkflowExecutions and CountWorkflowExecutions) in memory over
// workflow records. The same lexer, parser and evaluator serve other
// records through ParseWith: the caller's Schema names the attributes and
// their rules, a Lookup reads a record (internal/workers filters worker
// heartbeats this way).
//
// Temporal hands the query to a database; Sundial has no visibility
// database, so the query is parsed once into a small tree and evaluated
// against each *workflowpb.WorkflowExecutionInfo. Where Temporal's stores
// disagree, this package follows the SQL store that the Temporal dev server
// runs on (SQLite): comparisons use SQL's three-valued logic, so a missing
// attribute neither equals nor differs from a value, and Text search matches
// any whitespace-separated phrase. ORDER BY, which the SQL store rejects,
// follows Elasticsearch: missing values sort last and RunId breaks ties.
//
// Search attribute values arrive as JSON payloads; DecodeValue and
// ValidateSearchAttributes check them against a registry of attribute types
// the way Temporal's frontend does before it accepts a start or an upsert.
package visibility
