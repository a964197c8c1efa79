package api

import (
	"math"
	"sync"
	"time"
)

// limiter is a set of token buckets, one per key (a client IP, a token
// id): each holds up to burst tokens and refills at rate per second.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the memory of a limiter; past it, full buckets (keys
// idle long enough to have refilled) are dropped.
const maxBuckets = 100_000

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// get returns key's bucket refilled to now. Caller holds l.mu.
func (l *limiter) get(key string) *bucket {
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
		return b
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
		b.at = now
	}
	return b
}

func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// retryAfter is the whole seconds until b holds one token.
func (l *limiter) retryAfter(b *bucket) int {
	if l.rate <= 0 {
		return 60
	}
	return int(math.Ceil((1 - b.tokens) / l.rate))
}

// allow takes one token from key's bucket; when empty it reports how many
// seconds to wait.
func (l *limiter) allow(key string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key)
	if b.tokens < 1 {
		return false, l.retryAfter(b)
	}
	b.tokens--
	return true, 0
}

// blocked reports, without taking a token, whether key's bucket is empty.
func (l *limiter) blocked(key string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key)
	if b.tokens < 1 {
		return true, l.retryAfter(b)
	}
	return false, 0
}
