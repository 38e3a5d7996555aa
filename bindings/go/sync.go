package registry

// Many tags at once: Sync (registry_sync) and its transfer options.

/*
#include <stdlib.h>
#include "registry.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"unsafe"
)

// SyncedTag is a tag Sync copied or skipped, with the digest its tag names
// at the destination.
type SyncedTag struct {
	Tag    string `json:"tag"`
	Digest string `json:"digest"`
}

// SyncFailure is a tag Sync could not copy: Status is the status's name
// ("NOT_FOUND", as StatusName gives it), Message the error's message.
type SyncFailure struct {
	Tag     string `json:"tag"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// SyncReport is what Sync did, tag by tag.
type SyncReport struct {
	Copied  []SyncedTag   `json:"copied"`
	Skipped []SyncedTag   `json:"skipped"`
	Failed  []SyncFailure `json:"failed"`
}

// Sync syncs tags of srcRepo on src to dstRepo on dst (which may be src):
// tags (nil: every tag of srcRepo), each under the same name. A tag whose
// digest is already the same at dst is skipped after a HEAD at each end (no
// GET); the others' blobs move as one transfer (one parallel budget, a blob
// several tags share moved once), then each tag's manifests. A tag that
// fails does not stop the others: it is in Failed. The error is non-nil only
// when the tags cannot be listed, an argument is wrong, or ctx is done.
// Options: WithPlatform, WithPlatforms, WithReferrers, WithProgress.
func Sync(ctx context.Context, src *Client, srcRepo string, dst *Client, dstRepo string, tags []string, opts ...ImageOption) (*SyncReport, error) {
	o, err := options("Sync", opts, true, false)
	if err != nil {
		return nil, err
	}
	topts, err := transferOptions(o)
	if err != nil {
		return nil, err
	}
	defer C.registry_transfer_options_free(topts)
	pairs := []string{srcRepo, "srcRepo", dstRepo, "dstRepo"}
	for _, t := range tags {
		pairs = append(pairs, t, "tag")
	}
	var buf *C.registry_buf
	_, err = imageCall(ctx, o, []*Client{src, dst}, func(h []*C.registry_client, s []*C.char, cb C.registry_progress_fn, ud unsafe.Pointer, _ **C.char, e **C.registry_error) C.registry_status {
		var list **C.char
		if tags != nil && len(s) > 2 {
			list = &s[2] // C pointers in Go memory: cgo allows it
		}
		if tags != nil && len(s) == 2 {
			// No tag at all: an empty list, not "every tag".
			var none *C.char
			list = &none
		}
		return C.registry_sync(h[0], s[0], h[1], s[1], list, C.size_t(len(s)-2), topts, cb, ud, &buf, e)
	}, pairs...)
	if buf == nil {
		return nil, err
	}
	body := takeBuf(buf)
	if err != nil {
		return nil, err
	}
	report := &SyncReport{}
	if err := json.Unmarshal(body, report); err != nil {
		return nil, &Error{Status: StatusProtocol, Message: "the sync report is no JSON: " + err.Error()}
	}
	return report, nil
}
