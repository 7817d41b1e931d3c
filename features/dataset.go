package features

import "fmt"

// Dataset is a user-by-item matrix with the vocabularies that name its rows
// and columns. Models train on R and never see string IDs.
type Dataset struct {
	Users *Vocab
	Items *Vocab
	R     *CSR // Users.Len() x Items.Len(); values are ratings or strengths
}

// NewDataset builds the matrix of xs. A pair that occurs more than once has
// its values summed. The vocabularies hold exactly the users and items of xs.
func NewDataset(xs []Interaction) (*Dataset, error) {
	userIDs := make([]string, len(xs))
	itemIDs := make([]string, len(xs))
	for i, x := range xs {
		userIDs[i], itemIDs[i] = x.UserID, x.ItemID
	}
	d := &Dataset{Users: NewVocab(userIDs), Items: NewVocab(itemIDs)}

	entries := make([]Entry, len(xs))
	for i, x := range xs {
		u, _ := d.Users.Index(x.UserID)
		it, _ := d.Items.Index(x.ItemID)
		entries[i] = Entry{Row: u, Col: it, Value: x.Value}
	}
	r, err := NewCSR(d.Users.Len(), d.Items.Len(), entries)
	if err != nil {
		return nil, fmt.Errorf("build dataset: %w", err)
	}
	d.R = r
	return d, nil
}
