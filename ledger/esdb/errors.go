package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"partyledger/ledger"
)

// kind is what a client error means to the Store.
type kind int

const (
	kindNone           kind = iota // no error
	kindEnd                        // io.EOF: the read ended normally
	kindStreamNotFound             // the stream holds no events
	kindWrongVersion               // the expected revision did not match
	kindUnavailable                // the server could not be reached, or the connection failed
	kindCanceled                   // the call's context ended
	kindOther                      // anything else: refused, malformed, server failure
)

func (k kind) String() string {
	return [...]string{"none", "end of stream", "stream not found", "wrong expected version",
		"unavailable", "canceled", "other"}[k]
}

// classify tells apart the errors the client returns. The client wraps
// most failures in *esdb.Error with a code, but returns some raw: io.EOF at
// the end of a read, and gRPC status errors when a call cannot start or a
// subscription drops. esdb.FromError cannot be used to test for an error:
// it reports ok only for a nil error.
//
// io.EOF inside an *esdb.Error is not the end of a read but a broken call:
// gRPC's SendMsg returns io.EOF when the stream already ended (typically
// the connection dropped), keeping the real status for RecvMsg, and the
// client wraps that io.EOF as ErrorCodeUnknown without asking for the
// status (an append or a subscription sent on a connection that has just
// failed, which the client does not even reconnect). With the status lost,
// it counts as a failed connection: outcome unknown, worth retrying. The
// end of a read reaches here bare, from ReadStream.Recv.
func classify(err error) kind {
	if err == nil {
		return kindNone
	}
	var ce *client.Error
	if errors.As(err, &ce) && ce.Code() == client.ErrorCodeUnknown && errors.Is(ce, io.EOF) {
		return kindUnavailable
	}
	if errors.Is(err, io.EOF) {
		return kindEnd
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return kindCanceled
	}
	if errors.As(err, &ce) {
		switch ce.Code() {
		case client.ErrorCodeResourceNotFound:
			return kindStreamNotFound
		case client.ErrorCodeWrongExpectedVersion:
			return kindWrongVersion
		case client.ErrorUnavailable, client.ErrorCodeConnectionClosed, client.ErrorCodeNotLeader:
			return kindUnavailable
		case client.ErrorCodeDeadlineExceeded:
			return kindCanceled
		}
	}
	switch status.Code(err) {
	case codes.Unavailable:
		return kindUnavailable
	case codes.Canceled, codes.DeadlineExceeded:
		return kindCanceled
	}
	return kindOther
}

// retryable reports whether a dropped subscription may be restored by
// subscribing again: the connection failed, or the server ended the call
// for a reason that is not about the request.
func retryable(err error) bool {
	switch classify(err) {
	case kindUnavailable:
		return true
	case kindStreamNotFound, kindWrongVersion, kindEnd, kindNone:
		return false
	}
	if errors.Is(err, ledger.ErrCorrupt) || errors.Is(err, ledger.ErrClosed) {
		return false
	}
	switch status.Code(err) {
	case codes.Aborted, codes.Unknown, codes.Internal, codes.ResourceExhausted, codes.Canceled, codes.DeadlineExceeded:
		// Canceled and DeadlineExceeded reach here only when the Store's
		// own context is live: the server or a proxy ended the call.
		return true
	}
	return false
}

// fail translates a client error at the boundary: the Store's closing and
// the caller's context come first (the client reports both as a cancelled
// call), then the kind of the error. what names the failing step.
func (s *Store) fail(ctx context.Context, err error, what string) error {
	switch {
	case s.closed.Load():
		return fmt.Errorf("esdb: %s: %w", what, ledger.ErrClosed)
	case ctx.Err() != nil:
		return fmt.Errorf("esdb: %s: %w", what, ctx.Err())
	}
	switch classify(err) {
	case kindStreamNotFound:
		return fmt.Errorf("esdb: %s: %w", what, ledger.ErrStreamNotFound)
	case kindUnavailable:
		return fmt.Errorf("esdb: %s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("esdb: %s: %w", what, err)
}
