package ingest

import (
	"errors"
	"net"
	"sync"
	"time"
)

// ConnSet serves the connections of stream listeners (syslog TCP/TLS,
// GELF TCP, Fluent Forward): one goroutine per connection, at most Max at
// once, and an orderly stop. Safe for concurrent use; one ConnSet may serve
// several listeners.
type ConnSet struct {
	// Max bounds concurrent connections; more are refused (closed).
	Max int
	// Stop interrupts a live connection at shutdown: closing it, or a read
	// deadline so that a handler can still write pending acknowledgements.
	// nil means Close.
	Stop func(net.Conn)
	// OnAcceptError and OnRefuse observe accept errors and refused
	// connections (for logs and metrics); both may be nil.
	OnAcceptError func(error)
	OnRefuse      func(net.Conn)

	once    sync.Once
	sem     chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex // guards conns and closing
	conns   map[net.Conn]struct{}
	closing bool
}

func (s *ConnSet) init() {
	s.once.Do(func() {
		n := s.Max
		if n <= 0 {
			n = 1024
		}
		s.sem = make(chan struct{}, n)
		s.conns = map[net.Conn]struct{}{}
	})
}

// Serve accepts connections on ln and runs handle on each in its own
// goroutine until ln is closed. handle owns the connection (it closes it).
func (s *ConnSet) Serve(ln net.Listener, handle func(net.Conn)) {
	s.init()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if s.OnAcceptError != nil {
				s.OnAcceptError(err)
			}
			time.Sleep(50 * time.Millisecond) // EMFILE and friends: do not spin
			continue
		}
		select {
		case s.sem <- struct{}{}:
		default:
			if s.OnRefuse != nil {
				s.OnRefuse(c)
			}
			c.Close() // too many connections
			continue
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			<-s.sem
			c.Close() // shutting down: nothing was read or acknowledged
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			handle(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Shutdown stops every live connection with Stop and waits for the
// handlers to return. Close the listeners first so that Serve returns.
func (s *ConnSet) Shutdown() {
	s.init()
	stop := s.Stop
	if stop == nil {
		stop = func(c net.Conn) { c.Close() }
	}
	s.mu.Lock()
	s.closing = true
	for c := range s.conns {
		stop(c)
	}
	s.mu.Unlock()
	s.wg.Wait()
}
