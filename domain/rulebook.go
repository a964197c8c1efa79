package domain

// PLACEHOLDER: replaced by the rulebook work (issue 3).

// Rulebook is a version of the assessment rules, as data.
type Rulebook struct {
	Year    int    `json:"year"`
	Version string `json:"version"`
}

// Validate reports every problem of the rulebook at once.
func (rb *Rulebook) Validate() error { return nil }

// CheckFinding checks a finding against the rulebook: the item exists and
// has the finding code, and points (nil for a fixed finding given without
// points) are allowed. It returns the points the finding deducts.
func (rb *Rulebook) CheckFinding(item, finding string, points *Points) (Points, error) {
	return 0, nil
}
