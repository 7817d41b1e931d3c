// Package movielens imports a MovieLens dataset directory, in the CSV layout
// of GroupLens' ml-latest-small release, into a Marquee store.
//
// The directory must contain movies.csv (movieId,title,genres) and
// ratings.csv (userId,movieId,rating,timestamp). tags.csv
// (userId,movieId,tag,timestamp) is optional, and links.csv is ignored. Files
// may start with a UTF-8 byte order mark and use CRLF or LF line ends.
//
// [Import] maps the files onto the domain records:
//
//   - each movie becomes a [data.Title] of type "movie" whose ID is the
//     movieId as written, whose Year comes from a trailing "(1995)" (0 when
//     missing), and whose Name is the title without that year. MovieLens
//     writes leading articles after the name ("American President, The");
//     Name keeps that form, because moving the article would need a
//     per-language list and lose the original text. CreatedAt and
//     UpdatedAt stay zero, because movies.csv has no times and a clock
//     reading would make two imports differ.
//   - each distinct userId with at least one valid rating becomes a
//     [data.User] with role user, no e-mail, and CreatedAt at that user's
//     first rating.
//   - each rating becomes a [data.Rating] at the Unix time of its timestamp.
//   - tags are checked and counted in the report but not stored, because the
//     domain records have no place for free-text user tags.
//
// IDs are the MovieLens numbers as written, so an import replaces any
// title or user already stored under the same ID.
//
// An import reads each file as a stream and writes records in batches, so its
// memory grows with the number of movies and users, not of ratings. It
// writes nothing until every required file is present with the expected
// header. A malformed row is counted as bad, reported with its file and line,
// and skipped, and the import goes on. Every line is one row. A quoted field
// may contain commas but not a line end, so a line with an unclosed quote is
// one bad row, and the rows after it are read as usual. The import sends the
// same records every time it reads the same files, and the store's bulk writes are
// idempotent. So importing a directory twice leaves the same data as
// importing it once, and rerunning an import that failed part-way completes
// it.
package movielens
