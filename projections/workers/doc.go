// Package workers is the read side of partyledger at national scale, on
// a KurrentDB cluster (ledger/esdb), where no machine holds every
// organisation's live facts.
//
// Projection workers (Worker) share the organisations through one
// persistent subscription group on $all, filtered on the server to the
// organisation streams, with the Pinned consumer strategy: the server
// gives each stream's events to one worker and, when a worker dies, sends
// what it had not acknowledged to the others. For each organisation it
// receives events of, a worker folds the organisation's stream from its
// last facts snapshot on and writes the new snapshot back to the server
// as an event of the organisation's snapshot stream (SnapshotStream), with
// the stream revision and ledger position it covers, then acknowledges.
// Any node then scores and ranks from the snapshots (Reader), and a
// worker that restarts resumes from the group's place on the server and
// each organisation's snapshot.
//
// Pinning is best effort: buckets of streams move when workers come and
// go, and the server sends again what times out. A worker therefore takes
// a delivery only as "this stream has changed up to at least this
// revision": it never folds the delivered event itself but reads the
// stream from what its snapshot covers, so an event delivered twice, late,
// out of order or to two workers at once changes nothing — a delivery the
// snapshot covers already is acknowledged without work, and two workers
// racing on one organisation write with the snapshot stream's expected
// revision, so one wins and the other finds its work done. It
// acknowledges only after the snapshot is written: a worker killed in
// between leaves the delivery to another, which finds it covered.
//
// Snapshot streams are derived streams (esdb.AppendDerived): not part of
// the ledger, never in its hash chains or its reads, and they can be
// deleted and rebuilt by deleting the group and creating it again from
// the start. The directory stream (DirectoryStream) lists every
// organisation that has a snapshot, so a reader finds them without
// reading $all.
package workers
