package registry

/*
#include "registry.h"
*/
import "C"

import "encoding/json"

// WithRateLimit sets how many requests per second the client sends to the
// registry at most, shared by every goroutine using it (default 0: no
// limit). Each request and each retry waits for its turn, one every
// 1/perSecond s; token-server requests and mirrors do not count. Whatever
// the limit, a 429 from the registry pauses the whole client, not only the
// goroutine that got it, for its Retry-After (at most 30 s) or else the
// retry backoff.
func WithRateLimit(perSecond uint32) Option {
	return func(b *C.registry_client_builder) error {
		var e *C.registry_error
		return takeError(C.registry_client_builder_rate_limit(b, C.uint32_t(perSecond), &e), e)
	}
}

// RateLimitStatus is a registry's rate limit as its RateLimit-Limit and
// RateLimit-Remaining headers state it (Docker Hub: "100;w=21600", 100 pulls
// per 21600 s), and the docker-ratelimit-source it is counted for.
// WindowSeconds is 0 and Source "" when the registry did not say.
type RateLimitStatus struct {
	Limit         uint64 `json:"limit"`
	Remaining     uint64 `json:"remaining"`
	WindowSeconds uint64 `json:"window_seconds"`
	Source        string `json:"source"`
}

func rateLimitFrom(raw []byte) (*RateLimitStatus, error) {
	var s *RateLimitStatus
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, &Error{Status: StatusProtocol, Message: "rate limit JSON: " + err.Error()}
	}
	return s, nil
}

// RateLimitCheck asks the registry for its rate limit with a HEAD of the
// manifest repo:ref (a HEAD does not count against Docker Hub's pull limit).
// It returns nil and no error when the registry sends no RateLimit headers;
// ErrNotFound when there is no such manifest.
func (c *Client) RateLimitCheck(repo, ref string) (*RateLimitStatus, error) {
	var raw []byte
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var out *C.registry_buf
		st := C.registry_rate_limit_check(h, s[0], s[1], &out, e)
		if st == C.REGISTRY_STATUS_OK {
			raw = takeBuf(out)
		}
		return st
	}, repo, "repo", ref, "ref")
	if err != nil {
		return nil, err
	}
	return rateLimitFrom(raw)
}

// RateLimitStatus is what the registry's RateLimit headers said on the last
// answer that carried them (nil before any did). It sends nothing.
func (c *Client) RateLimitStatus() (*RateLimitStatus, error) {
	var raw []byte
	err := c.do(func(h *C.registry_client, _ []*C.char, e **C.registry_error) C.registry_status {
		var out *C.registry_buf
		st := C.registry_rate_limit_status(h, &out, e)
		if st == C.REGISTRY_STATUS_OK {
			raw = takeBuf(out)
		}
		return st
	})
	if err != nil {
		return nil, err
	}
	return rateLimitFrom(raw)
}
