package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/gonum/mat"

	"github.com/marquee/marquee/features"
	"github.com/marquee/marquee/models/als"
	"github.com/marquee/marquee/models/ease"
	"github.com/marquee/marquee/models/itemknn"
	"github.com/marquee/marquee/models/popularity"
	"github.com/marquee/marquee/pipeline/tables"
)

// Files of a saved model, relative to its folder.
const (
	modelInfoFile   = "model.json"
	userFactorsFile = "user_factors.parquet"
	itemFactorsFile = "item_factors.parquet"
	neighborsFile   = "neighbors.parquet"
	scoresFile      = "scores.parquet"
	inverseFile     = "inverse.parquet"  // EASE in user space: (X·Xᵀ + λI)⁻¹, one row per user
	diagonalFile    = "diagonal.parquet" // EASE in user space: the diagonal of P per item
)

// modelInfo is model.json: what a model folder holds besides its Parquet.
type modelInfo struct {
	Name    string    `json:"name"`
	Mean    float64   `json:"mean,omitempty"`
	Loss    []float64 `json:"loss,omitempty"`
	Users   int       `json:"users"`
	Items   int       `json:"items"`
	Entries int       `json:"entries"`
}

// save writes a fitted model to dir and returns the written files relative
// to dir.
func (f *fitted) save(dir string) ([]string, error) {
	info := modelInfo{Name: f.name, Loss: f.loss,
		Users: f.data.Users.Len(), Items: f.data.Items.Len(), Entries: f.data.R.NNZ()}
	files := map[string]any{}
	switch {
	case f.implicit != nil:
		files[userFactorsFile] = factorRows(f.data.Users, f.implicit.UserFactors, nil)
		files[itemFactorsFile] = factorRows(f.data.Items, f.implicit.ItemFactors, nil)
	case f.explicit != nil:
		info.Mean = f.explicit.Mean
		files[userFactorsFile] = factorRows(f.data.Users, f.explicit.UserFactors, f.explicit.UserBias)
		files[itemFactorsFile] = factorRows(f.data.Items, f.explicit.ItemFactors, f.explicit.ItemBias)
	case f.baseline != nil:
		info.Mean = f.baseline.Mean
		files[userFactorsFile] = factorRows(f.data.Users, nil, f.baseline.UserBias)
		files[itemFactorsFile] = factorRows(f.data.Items, nil, f.baseline.ItemBias)
	case f.knn != nil:
		files[neighborsFile] = neighborRows(f.data.Items, f.knn.Neighbors())
	case f.ease != nil:
		parts := f.ease.Parts()
		if parts.Weights != nil {
			files[neighborsFile] = neighborRows(f.data.Items, parts.Weights)
			break
		}
		m := f.data.Users.Len()
		files[inverseFile] = factorRows(f.data.Users, mat.NewDense(m, m, parts.Inverse), nil)
		files[diagonalFile] = scoreRows(f.data.Items, parts.Diagonal)
	case f.pop != nil:
		files[scoresFile] = scoreRows(f.data.Items, f.pop.Counts())
	}

	var written []string
	for name, rows := range files {
		var err error
		switch rows := rows.(type) {
		case []tables.FactorRow:
			err = tables.Write(filepath.Join(dir, name), rows)
		case []tables.NeighborRow:
			err = tables.Write(filepath.Join(dir, name), rows)
		case []tables.ScoreRow:
			err = tables.Write(filepath.Join(dir, name), rows)
		}
		if err != nil {
			return nil, fmt.Errorf("save %s: %w", f.name, err)
		}
		written = append(written, name)
	}
	if err := writeJSON(filepath.Join(dir, modelInfoFile), info); err != nil {
		return nil, fmt.Errorf("save %s: %w", f.name, err)
	}
	return append(written, modelInfoFile), nil
}

// load reads a model saved by save. The dataset must be the one the model
// was trained on; rows are matched by ID, so an ID missing on either side
// is an error.
func load(dir, name string, d *features.Dataset, p TrainParams) (*fitted, error) {
	var info modelInfo
	b, err := os.ReadFile(filepath.Join(dir, modelInfoFile))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("load %s: %s: %w", name, modelInfoFile, err)
	}
	f := &fitted{name: name, data: d, loss: info.Loss}
	if err := f.loadParts(dir, info, p); err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	return f, nil
}

func (f *fitted) loadParts(dir string, info modelInfo, p TrainParams) error {
	d := f.data
	switch f.name {
	case ModelIALS, ModelIALSWatch, ModelALS, ModelBaseline:
		users, ub, err := readFactors(filepath.Join(dir, userFactorsFile), d.Users)
		if err != nil {
			return err
		}
		items, ib, err := readFactors(filepath.Join(dir, itemFactorsFile), d.Items)
		if err != nil {
			return err
		}
		switch f.name {
		case ModelALS:
			f.explicit, err = als.NewExplicit(info.Mean, users, items, ub, ib, p.ALS.config(0, 0))
		case ModelBaseline:
			f.baseline, err = als.NewBaseline(info.Mean, ub, ib)
		default:
			f.implicit, err = als.NewImplicit(users, items, p.IALS.config(0, 0))
		}
		return err
	case ModelItemKNN:
		nb, err := readNeighbors(filepath.Join(dir, neighborsFile), d.Items)
		if err != nil {
			return err
		}
		f.knn, err = itemknn.New(d.R, nb, itemknn.Config{Binary: p.KNN.Binary})
		return err
	case ModelEASE:
		parts, err := readEASE(dir, d)
		if err != nil {
			return err
		}
		f.ease, err = ease.New(d.R, parts, p.EASE.config(0))
		return err
	case ModelPopularity:
		counts, err := readScores(filepath.Join(dir, scoresFile), d.Items)
		if err != nil {
			return err
		}
		f.pop = popularity.New(counts)
		return nil
	}
	return fmt.Errorf("unknown model %q", f.name)
}

// readEASE reads the parts of an EASE model in either of its forms.
func readEASE(dir string, d *features.Dataset) (ease.Parts, error) {
	var parts ease.Parts
	if _, err := os.Stat(filepath.Join(dir, neighborsFile)); err == nil {
		parts.Weights, err = readNeighbors(filepath.Join(dir, neighborsFile), d.Items)
		return parts, err
	}
	inv, _, err := readFactors(filepath.Join(dir, inverseFile), d.Users)
	if err != nil {
		return parts, err
	}
	if inv == nil || cols(inv) != d.Users.Len() {
		return parts, fmt.Errorf("%s: want %d values a row", inverseFile, d.Users.Len())
	}
	parts.Inverse = inv.RawMatrix().Data
	parts.Diagonal, err = readScores(filepath.Join(dir, diagonalFile), d.Items)
	return parts, err
}

func cols(m *mat.Dense) int {
	_, c := m.Dims()
	return c
}

func factorRows(v *features.Vocab, factors *mat.Dense, bias []float64) []tables.FactorRow {
	rows := make([]tables.FactorRow, v.Len())
	for i := range rows {
		rows[i].ID = v.ID(i)
		if factors != nil {
			src := factors.RawRowView(i)
			rows[i].Features = make([]float32, len(src))
			for k, x := range src {
				rows[i].Features[k] = float32(x)
			}
		}
		if bias != nil {
			b := bias[i]
			rows[i].Bias = &b
		}
	}
	return rows
}

// readFactors returns the factor matrix and biases of a factor file, rows
// in the order of v. Biases are nil when the file has none; the matrix is
// nil when its rows have no features.
func readFactors(path string, v *features.Vocab) (*mat.Dense, []float64, error) {
	rows, err := tables.Read[tables.FactorRow](path)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) != v.Len() {
		return nil, nil, fmt.Errorf("%s: %d rows, want %d", path, len(rows), v.Len())
	}
	width := len(rows[0].Features)
	var m *mat.Dense
	if width > 0 {
		m = mat.NewDense(v.Len(), width, nil)
	}
	var bias []float64
	if rows[0].Bias != nil {
		bias = make([]float64, v.Len())
	}
	for _, r := range rows {
		i, ok := v.Index(r.ID)
		if !ok {
			return nil, nil, fmt.Errorf("%s: id %q is not in the training data", path, r.ID)
		}
		if len(r.Features) != width || (r.Bias == nil) != (bias == nil) {
			return nil, nil, fmt.Errorf("%s: row %q has another shape than the first row", path, r.ID)
		}
		for k, x := range r.Features {
			m.Set(i, k, float64(x))
		}
		if bias != nil {
			bias[i] = *r.Bias
		}
	}
	return m, bias, nil
}

func neighborRows(v *features.Vocab, nb *features.CSR) []tables.NeighborRow {
	rows := make([]tables.NeighborRow, nb.Rows)
	for i := range rows {
		cols, vals := nb.Row(i)
		rows[i] = tables.NeighborRow{ItemID: v.ID(i), Neighbors: make([]string, len(cols)), Scores: make([]float32, len(cols))}
		for k, c := range cols {
			rows[i].Neighbors[k] = v.ID(int(c))
			rows[i].Scores[k] = float32(vals[k])
		}
	}
	return rows
}

// readNeighbors reads an item-by-item matrix written by neighborRows. Rows
// in increasing index order with increasing neighbours, as neighborRows
// writes them, are assembled directly; any other order goes through a sort.
func readNeighbors(path string, v *features.Vocab) (*features.CSR, error) {
	rows, err := tables.Read[tables.NeighborRow](path)
	if err != nil {
		return nil, err
	}
	var entries []features.Entry
	ordered, last := true, -1
	for _, r := range rows {
		i, ok := v.Index(r.ItemID)
		if !ok || len(r.Neighbors) != len(r.Scores) {
			return nil, fmt.Errorf("%s: bad row for item %q", path, r.ItemID)
		}
		ordered = ordered && i > last
		last = i
		for k, id := range r.Neighbors {
			j, ok := v.Index(id)
			if !ok {
				return nil, fmt.Errorf("%s: neighbour %q is not in the training data", path, id)
			}
			ordered = ordered && (k == 0 || j > entries[len(entries)-1].Col)
			entries = append(entries, features.Entry{Row: i, Col: j, Value: float64(r.Scores[k])})
		}
	}
	if !ordered {
		return features.NewCSR(v.Len(), v.Len(), entries)
	}
	m := &features.CSR{Rows: v.Len(), Cols: v.Len(), Indptr: make([]int, v.Len()+1),
		Indices: make([]int32, len(entries)), Values: make([]float64, len(entries))}
	for k, e := range entries {
		m.Indices[k], m.Values[k] = int32(e.Col), e.Value
		m.Indptr[e.Row+1]++
	}
	for i := 0; i < v.Len(); i++ {
		m.Indptr[i+1] += m.Indptr[i]
	}
	return m, nil
}

func scoreRows(v *features.Vocab, scores []float64) []tables.ScoreRow {
	rows := make([]tables.ScoreRow, len(scores))
	for i, s := range scores {
		rows[i] = tables.ScoreRow{ItemID: v.ID(i), Score: s}
	}
	return rows
}

func readScores(path string, v *features.Vocab) ([]float64, error) {
	rows, err := tables.Read[tables.ScoreRow](path)
	if err != nil {
		return nil, err
	}
	scores := make([]float64, v.Len())
	for _, r := range rows {
		i, ok := v.Index(r.ItemID)
		if !ok {
			return nil, fmt.Errorf("%s: id %q is not in the training data", path, r.ItemID)
		}
		scores[i] = r.Score
	}
	return scores, nil
}
