// Package eval measures recommendations against held-out interactions.
//
// Ranking metrics take lists by string ID, so that lists made by other tools
// can be scored the same way as Marquee's own. For each user, the relevant
// items are the test items rated at or above a threshold, 4.0 by default.
// Users without a relevant item are left out of the ranking metrics. A user
// with relevant items but no list scores 0 on every metric. The candidates a
// list may hold are the items seen in training that the user has not rated
// in training.
//
// With relevant items R of a user and the first k items of the list L_k:
//
//	NDCG@10    = DCG / IDCG, DCG = sum over relevant items at rank r <= 10 of
//	             1/log2(r+1), IDCG = the same sum over ranks 1..min(10, |R|)
//	Recall@20  = |R ∩ L_20| / min(20, |R|)
//	HitRate@10 = 1 if R ∩ L_10 is not empty, else 0
//	MAP@10     = sum over ranks k <= 10 holding a relevant item of
//	             precision@k, divided by min(10, |R|)
//
// each averaged over the evaluated users. Coverage@10 is the number of
// distinct candidate items in the top 10 of the evaluated users' lists,
// divided by the number of candidate items. LongTail@10 is the share of the
// candidate items in those top 10s that lie outside the head: the HeadShare
// of candidate items with the most training users (ties broken by ID in
// string order). An item repeated in a list counts once, at its first rank.
//
// Every function is safe for concurrent use and changes none of its inputs.
package eval

import (
	"math"
	"slices"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models"
)

// Cutoffs of the ranking metrics.
const (
	K       = 10 // NDCG, HitRate, MAP and Coverage
	RecallK = 20 // Recall
)

// HeadShare is the share of candidate items, the most popular in training,
// that LongTail counts as the head.
const HeadShare = 0.2

// DefaultThreshold is the lowest test rating of a relevant item when
// Config.Threshold is zero.
const DefaultThreshold = 4.0

// Config sets how test interactions are judged.
type Config struct {
	// Threshold is the lowest test value that makes an item relevant. Zero
	// means DefaultThreshold.
	Threshold float64
}

func (c Config) threshold() float64 {
	if c.Threshold == 0 {
		return DefaultThreshold
	}
	return c.Threshold
}

// Ranking holds the ranking metrics of one set of lists.
type Ranking struct {
	NDCG, Recall, HitRate, MAP float64 // means over the evaluated users
	Coverage                   float64
	LongTail                   float64 // share of listed candidates outside the popular head

	Users        int // evaluated users: those with at least one relevant item
	MissingLists int // evaluated users without a list, who score 0

	// Unknown counts listed items that do not occur in training, and Seen
	// listed items that the user rated in training. Both are counted in the
	// first RecallK entries of every list given. Either being above zero
	// means the lists were not made from the candidates, which callers should
	// report.
	Unknown, Seen int
}

// NonCandidates returns the number of listed items that were not candidates.
func (r Ranking) NonCandidates() int { return r.Unknown + r.Seen }

type set = map[string]struct{}

// Rank scores lists, which map a user ID to item IDs best first, against the
// relevant items of test. The candidates come from train.
func Rank(lists map[string][]string, train, test []features.Interaction, cfg Config) Ranking {
	candidates, seen := trainingSets(train)
	relevant := relevantItems(test, cfg.threshold())

	var r Ranking
	for user, list := range lists {
		u, k := countNonCandidates(list[:min(len(list), RecallK)], candidates, seen[user])
		r.Unknown += u
		r.Seen += k
	}

	// Users are visited in sorted order so the floating-point sums, and so
	// the means, are the same on every run.
	covered := set{}
	head := popularHead(train, len(candidates))
	var slots, tail int
	for _, user := range sortedKeys(relevant) {
		list, ok := lists[user]
		r.addUser(list, ok, relevant[user])
		for _, item := range distinct(list, K) {
			if _, ok := candidates[item]; !ok {
				continue
			}
			covered[item] = struct{}{}
			slots++
			if _, ok := head[item]; !ok {
				tail++
			}
		}
	}
	if slots > 0 {
		r.LongTail = float64(tail) / float64(slots)
	}

	if r.Users > 0 {
		n := float64(r.Users)
		r.NDCG, r.Recall, r.HitRate, r.MAP = r.NDCG/n, r.Recall/n, r.HitRate/n, r.MAP/n
	}
	if len(candidates) > 0 {
		r.Coverage = float64(len(covered)) / float64(len(candidates))
	}
	return r
}

// addUser adds the metrics of one evaluated user to the sums in r.
func (r *Ranking) addUser(list []string, listed bool, rel set) {
	r.Users++
	if !listed {
		r.MissingLists++
		return
	}
	list = distinct(list, RecallK)
	r.NDCG += ndcg(list, rel)
	r.Recall += recall(list, rel)
	r.HitRate += hitRate(list, rel)
	r.MAP += averagePrecision(list, rel)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// trainingSets returns the items of train and each user's items in it.
func trainingSets(train []features.Interaction) (items set, byUser map[string]set) {
	items, byUser = set{}, map[string]set{}
	for _, x := range train {
		items[x.ItemID] = struct{}{}
		if byUser[x.UserID] == nil {
			byUser[x.UserID] = set{}
		}
		byUser[x.UserID][x.ItemID] = struct{}{}
	}
	return items, byUser
}

// popularHead returns the ceil(HeadShare·n) items of train with the most
// distinct users, ties broken by ID, where n is the number of its items.
func popularHead(train []features.Interaction, n int) set {
	type pair struct{ user, item string }
	users := map[string]int{}
	done := map[pair]bool{}
	for _, x := range train {
		if p := (pair{x.UserID, x.ItemID}); !done[p] {
			done[p] = true
			users[x.ItemID]++
		}
	}
	items := sortedKeys(users)
	slices.SortStableFunc(items, func(a, b string) int { return users[b] - users[a] })
	head := set{}
	for _, item := range items[:int(math.Ceil(HeadShare*float64(n)))] {
		head[item] = struct{}{}
	}
	return head
}

// relevantItems returns each user's test items valued at least threshold.
// Users without such an item are absent.
func relevantItems(test []features.Interaction, threshold float64) map[string]set {
	rel := map[string]set{}
	for _, x := range test {
		if x.Value < threshold {
			continue
		}
		if rel[x.UserID] == nil {
			rel[x.UserID] = set{}
		}
		rel[x.UserID][x.ItemID] = struct{}{}
	}
	return rel
}

func countNonCandidates(list []string, candidates, seen set) (unknown, known int) {
	for _, item := range list {
		if _, ok := candidates[item]; !ok {
			unknown++
		} else if _, ok := seen[item]; ok {
			known++
		}
	}
	return unknown, known
}

// distinct returns the first n items of list with later repeats replaced by
// "", which matches no item, so ranks stay as listed.
func distinct(list []string, n int) []string {
	out := make([]string, 0, min(len(list), n))
	done := set{}
	for _, item := range list[:min(len(list), n)] {
		if _, ok := done[item]; ok {
			item = ""
		}
		done[item] = struct{}{}
		out = append(out, item)
	}
	return out
}

func hits(list []string, rel set, k int) int {
	n := 0
	for _, item := range list[:min(len(list), k)] {
		if _, ok := rel[item]; ok {
			n++
		}
	}
	return n
}

func ndcg(list []string, rel set) float64 {
	var dcg, idcg float64
	for r, item := range list[:min(len(list), K)] {
		if _, ok := rel[item]; ok {
			dcg += 1 / math.Log2(float64(r+2))
		}
	}
	for r := 0; r < min(K, len(rel)); r++ {
		idcg += 1 / math.Log2(float64(r+2))
	}
	return dcg / idcg
}

func recall(list []string, rel set) float64 {
	return float64(hits(list, rel, RecallK)) / float64(min(RecallK, len(rel)))
}

func hitRate(list []string, rel set) float64 {
	if hits(list, rel, K) > 0 {
		return 1
	}
	return 0
}

func averagePrecision(list []string, rel set) float64 {
	var sum float64
	found := 0
	for r, item := range list[:min(len(list), K)] {
		if _, ok := rel[item]; ok {
			found++
			sum += float64(found) / float64(r+1)
		}
	}
	return sum / float64(min(K, len(rel)))
}

// Rating holds the rating error of a Predictor.
type Rating struct {
	RMSE    float64 // NaN when no rating was scored
	Ratings int     // test ratings scored
	Skipped int     // test ratings whose user or item is not in training
}

// RMSE returns the root mean squared error of p on the test ratings whose
// user and item both occur in d, the training data p was trained on.
func RMSE(p models.Predictor, d *features.Dataset, test []features.Interaction) Rating {
	var sum float64
	var r Rating
	for _, x := range test {
		u, okU := d.Users.Index(x.UserID)
		i, okI := d.Items.Index(x.ItemID)
		if !okU || !okI {
			r.Skipped++
			continue
		}
		e := p.Predict(u, i) - x.Value
		sum += e * e
		r.Ratings++
	}
	r.RMSE = math.Sqrt(sum / float64(r.Ratings))
	return r
}
