package esdb

// Exported for the external tests of this package only.
var (
	ExpectedRevision = expectedRevision
	EventRevision    = eventRevision
	ParseRevision    = parseRevision
	ActualRevision   = actualRevision
	Retryable        = retryable
)

// Kind is the classification of a client error, by name.
func Kind(err error) string { return classify(err).String() }

// SetBeforeAppend installs a hook that runs between the duplicate check of
// an append and its call to the server.
func SetBeforeAppend(s *Store, f func()) { s.beforeAppend = f }
