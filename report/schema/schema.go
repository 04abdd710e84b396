// Package schema holds the JSON Schemas of kfp-authcheck's JSON contract: run.schema.json for a run (run --format
// json) and matrix.schema.json for a merged matrix (report merge --format json). Both carry schema_version; the
// reason codes and the retired check IDs are listed in run.schema.json.
package schema

import "embed"

// FS holds run.schema.json and matrix.schema.json.
//
//go:embed run.schema.json matrix.schema.json
var FS embed.FS

// Base is the $id prefix of both schemas.
const Base = "https://github.com/kfp-authcheck/kfp-authcheck/report/schema/"
