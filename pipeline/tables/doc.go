// Package tables defines the Parquet tables the pipeline writes and reads:
// the event log export, the train and test splits, factor matrices, item
// neighbours and the catalog snapshot. Files are zstd-compressed, timestamps
// are UTC milliseconds, and every file is written to a temporary name and
// renamed, so a reader never sees a partial file.
//
// The schemas are a contract with other engines (Spark, DuckDB, pandas,
// pyarrow): columns are only ever added, never renamed.
package tables
