// Package data defines Marquee's domain records (users, titles, rating and
// watch events) and the storage ports that every store implements.
//
// The ports are small interfaces grouped by concern: [Users], [Catalog] and
// [Events], composed into [Store]. Adapters live in subpackages, one per
// external system (sqlite for the embedded default, cassandra for
// production), and all of them pass the shared conformance suite in
// data/storetest. Only cmd/marquee picks a concrete adapter.
//
// Every method takes a context first and is safe for concurrent use unless its
// documentation says otherwise. A write that returns nil is durable: it is
// readable by every later call, from any process that opens the same store.
package data
