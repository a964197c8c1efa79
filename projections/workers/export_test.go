package workers

import "context"

// SetHook installs a function that runs at named points of a worker's
// work on a stream: "folded" (before the snapshot is written) and
// "written" (after, before the acknowledgement).
func SetHook(w *Worker, f func(point, stream string)) { w.hook = f }

// Refresh brings a stream's snapshot up to revision upTo, as a worker
// does for its deliveries.
func Refresh(ctx context.Context, w *Worker, stream string, upTo uint64) error {
	return w.refresh(ctx, stream, upTo)
}

// Transient reports whether a worker sends a failed delivery back for
// another try (rather than parking it).
var Transient = transient
