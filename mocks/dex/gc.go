package dex

import "time"

// gcFrequency is Dex's default gcFrequency. Dex deletes expired auth requests and codes on that tick; the mock
// does the same lazily on the first request after each period, so that clock jumps in tests see what a
// long-running Dex shows (an expired code is simply gone).
const gcFrequency = 5 * time.Minute

func (s *Server) collectGarbage() {
	now := s.now()
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	if now.Sub(st.lastGC) < gcFrequency {
		return
	}
	st.lastGC = now
	for id, a := range st.authRequests {
		if now.After(a.Expiry) {
			delete(st.authRequests, id)
		}
	}
	for id, c := range st.authCodes {
		if now.After(c.Expiry) {
			delete(st.authCodes, id)
		}
	}
}
