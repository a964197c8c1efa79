// Package books is the domain-aware append path: the one place where
// party work meets storage.
//
// Books turns journal entries (domain.Entry) into ledger events, checks
// each against the current state of the stream it goes to — the
// organisation's roster, cases and rulebook, the work committee's
// schedule — and appends with the exact revision the check saw, while
// holding that stream's lock, so no concurrent writer can slip a
// conflicting event in between. Every entry route (API, web forms, CLI
// record, import) records through it.
//
// It also reads what the domain keeps in the ledger: grades, rulebook
// versions, and journal lines in export form, and hands the read side
// (projections/scoreboard, projections/report) events in the form the
// folds take (domain.Recorded) through the interfaces those packages
// define. It imports domain and ledger; ledger imports neither.
package books
