// Package foldin gives users the published run does not know, or whose
// feedback is newer than the run, a factor vector of their own at serving
// time: it solves the user's side of an ALS step against the published item
// factors, with the item side fixed, and ranks the titles for that vector.
//
// A [Model] is the item side of an iALS or explicit ALS model with the
// settings its fold-in needs. The publish stage encodes it with
// MarshalBinary into an artifact of the run, and serving decodes it with
// [Unmarshal] when the run becomes current. The package is plain Go with no
// I/O and no linear algebra library, so that the serving path stays free of
// gonum: the systems are f by f, with f from 16 to 256, and a small Cholesky
// factorisation solves them in well under a millisecond.
package foldin
