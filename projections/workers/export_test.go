package workers

// SetHook installs a function that runs at named points of a worker's
// work on a stream: "folded" (before the snapshot is written) and
// "written" (after, before the acknowledgement).
func SetHook(w *Worker, f func(point, stream string)) { w.hook = f }
