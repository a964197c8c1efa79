// Package domain is the language of party-building work: event types and
// their validation, organisation kinds, members, money in fen, points in
// hundredths, periods in China Standard Time, and the rulebook types with
// the embedded 2016 rulebook and the parser of rulebook files that names
// every problem's line and column (ParseRulebookFile). It is pure: no I/O,
// no clock, standard library only.
package domain

import (
	"errors"
	"strings"
)

// FieldError is a validation failure of one field. Field is a dotted path
// into the journal line ("data.amount_fen", "occurred_on").
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Errorf-free constructor used throughout the package.
func fieldErr(field, reason string) *FieldError { return &FieldError{Field: field, Reason: reason} }

// Problems collects every field error of one input, so a caller sees them
// all at once rather than one per attempt.
type Problems []*FieldError

// Add records a problem.
func (p *Problems) Add(field, reason string) { *p = append(*p, fieldErr(field, reason)) }

// Err returns nil when there are no problems, the single *FieldError when
// there is one, and a *ProblemsError otherwise.
func (p Problems) Err() error {
	switch len(p) {
	case 0:
		return nil
	case 1:
		return p[0]
	}
	return &ProblemsError{List: p}
}

// ProblemsError is several field errors at once.
type ProblemsError struct{ List Problems }

func (e *ProblemsError) Error() string {
	parts := make([]string, len(e.List))
	for i, p := range e.List {
		parts[i] = p.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes each field error to errors.As.
func (e *ProblemsError) Unwrap() []error {
	out := make([]error, len(e.List))
	for i, p := range e.List {
		out[i] = p
	}
	return out
}

// FieldErrors flattens err into its field errors; an error that carries
// none becomes one FieldError with an empty field. A refusal for who
// records (*RightsError, *YearClosedError) keeps its field, so that it
// reads "occurred_on: …" like any other problem of the entry.
func FieldErrors(err error) []*FieldError {
	if err == nil {
		return nil
	}
	var pe *ProblemsError
	if errors.As(err, &pe) {
		return pe.List
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	var re *RightsError
	if errors.As(err, &re) {
		return []*FieldError{{Field: re.Field, Reason: re.Reason}}
	}
	var ye *YearClosedError
	if errors.As(err, &ye) {
		return []*FieldError{{Field: ye.Field, Reason: ye.reason()}}
	}
	return []*FieldError{{Reason: err.Error()}}
}

// Prefix returns err with every field path prefixed by prefix + ".".
func Prefix(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var out Problems
	for _, fe := range FieldErrors(err) {
		f := prefix
		if fe.Field != "" {
			f = prefix + "." + fe.Field
		}
		out = append(out, fieldErr(f, fe.Reason))
	}
	return out.Err()
}
