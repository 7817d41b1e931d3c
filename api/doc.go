// Package api is Marquee's HTTP layer: Gin routes, handlers and middleware.
// Handlers validate input and call serving and the store; every error leaves
// through one place, writeError, which maps it to a status and an RFC 9457
// problem body and logs internal errors once.
package api
