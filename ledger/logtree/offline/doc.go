// Package offline holds no code. Its test is the recipe an auditor follows
// to check, offline, what a partyledger ledger gives them — its verifier
// key, signed checkpoints, an inclusion proof, a consistency proof — with
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog and the
// standard library alone: the test imports nothing of partyledger. Its
// inputs are ../testdata/offline, which partyledger/ledger/logtree's
// TestOfflineFixture checks are what the package produces.
package offline
