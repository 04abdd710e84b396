package embedded

import (
	"sync"
	"time"
)

// Clock is the stack's shared clock: real time plus an offset that checks move forward to expire tokens and
// sessions at once instead of waiting for them.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the stack's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the stack's time forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
