package registry

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestRateLimitSettingBuildsWorkingClients(t *testing.T) {
	for _, limit := range []uint32{0, 50} {
		c := clientFor(t, "anon", WithRateLimit(limit))
		for i := 0; i < 3; i++ {
			if _, err := c.Tags("fixtures/app"); err != nil {
				t.Fatalf("rate limit %d: %v", limit, err)
			}
		}
		c.Close()
	}
}

// The pace is shared by every goroutine: 8 requests at 10 per second take at
// least 700 ms, however many goroutines send them (a lower bound on a
// deliberate wait, not a speed test).
func TestRateLimitIsSharedByGoroutines(t *testing.T) {
	c := clientFor(t, "anon", WithRateLimit(10))
	defer c.Close()
	started := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2; i++ {
				if _, err := c.Tags("fixtures/app"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if took := time.Since(started); took < 650*time.Millisecond {
		t.Fatalf("8 requests at 10/s took %v", took)
	}
}

func TestRateLimitCheckWithoutHeaders(t *testing.T) {
	c := clientFor(t, "anon")
	defer c.Close()
	if s, err := c.RateLimitStatus(); err != nil || s != nil {
		t.Fatalf("status before any answer: %+v, %v", s, err)
	}
	s, err := c.RateLimitCheck("fixtures/app", "v1")
	if err != nil || s != nil {
		t.Fatalf("distribution sends no headers: %+v, %v", s, err)
	}
	if _, err := c.RateLimitCheck("fixtures/app", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing manifest: %v", err)
	}
	if _, err := c.RateLimitCheck("Bad Repo", "v1"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad repo: %v", err)
	}
}

func TestRateLimitCheckReadsHubHeaders(t *testing.T) {
	c, err := NewClient("http://" + env(t, "HUB_ADDR"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.RateLimitCheck("library/alpine", "latest")
	if err != nil {
		t.Fatal(err)
	}
	want := RateLimitStatus{Limit: 100, Remaining: 76, WindowSeconds: 21600, Source: "127.0.0.1"}
	if s == nil || *s != want {
		t.Fatalf("got %+v, want %+v", s, want)
	}
	last, err := c.RateLimitStatus()
	if err != nil || last == nil || *last != want {
		t.Fatalf("last status: %+v, %v", last, err)
	}
}
