// Package features turns events into training input: id vocabularies,
// sparse user-by-item matrices, confidence weights for implicit feedback,
// and the train/test split of the evaluation protocol.
//
// It imports no storage and no network; its inputs are plain slices of
// events read from Parquet by the pipeline.
package features
